"""``python -m bench``: run every workload on an embedded server, print the table, save JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

from infrastructure.bank import bank_registry
from infrastructure.server import Database

from . import data, graph_cases, profiling
from .async_cases import run_async
from .graph_cases import GRAPH_CASES, run_graph
from .harness import Bench, Result, render
from .replication import run_replication
from .scaling import SIZES, Point, render_scaling, run_scaling
from .search_cases import run_search
from .sync_cases import PEOPLE_CASES, insert_case, run_sync
from .unit_costs import run_unit_costs

RESULTS = Path(__file__).with_name("results.json")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--n", type=int, default=10_000, help="entities per workload (10000)")
    parser.add_argument("--quick", action="store_true", help="a small smoke run (n=300, 2 reps)")
    parser.add_argument("--reps", type=int, help="repetitions per side, best kept (default 5)")
    parser.add_argument("--transfers", type=int, help="money transfers (default 500)")
    parser.add_argument("--accounts", type=int, help="accounts transfers move between (200)")
    parser.add_argument("--workers", type=int, help="concurrent async workers (default 50)")
    parser.add_argument("--people", type=int, help="people in the graph workloads (default 1000)")
    parser.add_argument("--friends", type=int, default=10, help="friends per person (10)")
    parser.add_argument("--no-graph", action="store_true", help="skip the graph workloads")
    parser.add_argument(
        "--no-edge-props", action="store_true", help="graph workloads without the `since` edges"
    )
    parser.add_argument(
        "--profile",
        nargs="?",
        const="missed",
        help="cProfile our side of the workloads that missed their target "
        f"(or a comma-separated list of: {', '.join([*PEOPLE_CASES, *GRAPH_CASES])}, transfers)".replace(
            "%", "%%"
        ),  # argparse formats help text with %
    )
    parser.add_argument("--top", type=int, default=12, help="functions shown per profile")
    parser.add_argument("--no-async", action="store_true", help="skip the async workloads")
    parser.add_argument(
        "--no-replication",
        action="store_true",
        help="skip the commit latency with and without WAIT (primary + replica)",
    )
    parser.add_argument(
        "--scaling",
        default=",".join(str(n) for n in SIZES),
        help="sizes of the per-entity scaling table, comma-separated ('' skips it)",
    )
    parser.add_argument("--no-search", action="store_true", help="skip the vector workloads")
    parser.add_argument(
        "--search-corpus",
        type=int,
        default=20_000,
        help="documents nearest() searches (20000; 100000 takes minutes to index)",
    )
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"output ({RESULTS})")
    args = parser.parse_args(argv)
    if args.quick:
        args.n = min(args.n, 300)
        args.scaling = "300,1000"
    try:
        args.sizes = tuple(int(v) for v in args.scaling.split(",") if v.strip())
    except ValueError:
        parser.error(f"--scaling takes comma-separated entity counts, not {args.scaling!r}")
    if any(n < 10 for n in args.sizes):
        parser.error("--scaling sizes must be >= 10")
    defaults = (2, 50, 20, 10, 300) if args.quick else (5, 500, 200, 50, 1000)
    names = ("reps", "transfers", "accounts", "workers", "people")
    for attr, value in zip(names, defaults, strict=True):
        if getattr(args, attr) is None:
            setattr(args, attr, value)
    if (
        min(args.n, args.reps, args.transfers, args.workers, args.friends) < 1
        or min(args.accounts, args.people) < 2
    ):
        parser.error(
            "--n, --reps, --transfers, --workers, --friends must be >= 1 "
            "and --accounts, --people >= 2"
        )
    return args


def warm_up(bench: Bench) -> None:
    """Open connections and load code paths once, untimed."""
    setup, ours, raw = insert_case(50, bench.registry)
    for run in (ours, raw):
        _, graph = bench.fresh_graph("warmup")
        try:
            run(graph, setup(graph))
        finally:
            graph.delete()


def to_profile(args: argparse.Namespace, results: list[Result]) -> list[str]:
    if args.profile == "missed":
        return [
            r.name
            for r in results
            if r.met is False
            and (r.name in PEOPLE_CASES or r.name in GRAPH_CASES or r.name.startswith("transfers"))
        ]
    return [name.strip() for name in args.profile.split(",") if name.strip()]


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    identity_loops = 20_000 if args.quick else 200_000
    bank = data.make_bank(args.accounts, args.transfers)
    started = time.perf_counter()
    print(
        f"bench: n={args.n}, best of {args.reps} per side (interleaved, fresh graph each), "
        f"{args.transfers} transfers over {args.accounts} accounts, {args.workers} async workers",
        flush=True,
    )
    with Database(appendfsync=None) as db:
        bench = Bench(db, bank_registry(), args.reps)
        warm_up(bench)
        results = run_sync(bench, args.n, bank, identity_loops)
        results += run_unit_costs(bench, bank, identity_loops // 20, args.n)
        if not args.no_graph:
            dated = not args.no_edge_props
            results += run_graph(db, args.people, args.friends, args.reps, dated)
        if not args.no_async:
            sequential_ms = next(r.ms for r in results if r.name.startswith("transfers"))
            results += asyncio.run(run_async(bench, args.n, bank, args.workers, sequential_ms))
        if not args.no_search:
            corpus = min(args.search_corpus, 2_000) if args.quick else args.search_corpus
            results += run_search(db, args.n, corpus, min(args.reps, 3))
        points: list[Point] = run_scaling(bench, args.sizes) if args.sizes else []
        profiles: dict[str, list[dict[str, Any]]] = {}
        for name in to_profile(args, results) if args.profile else []:
            if name in GRAPH_CASES:
                people, friends = args.people, args.friends
                profiles[name] = graph_cases.hotspots(db, name, people, friends, args.top)
            else:
                profiles[name] = profiling.hotspots(bench, name, args.n, bank, args.top)
    if not args.no_replication:
        results += run_replication(args.transfers, args.reps)
    elapsed = time.perf_counter() - started

    print()
    print(render(results))
    print()
    for r in results:
        print(f"  {r.name}: raw side = {r.raw_side}")
    if args.n != 10_000:
        print(f"\nnote: targets are set for n=10000; this run used n={args.n}")
    if not args.no_graph and args.people != 1000:
        print(f"note: graph targets are set for 1000 people; this run used {args.people}")
    if points:
        print()
        print(render_scaling(points))
    for name, spots in profiles.items():
        print()
        print(profiling.render(name, spots))
    rows = [r.as_json() for r in results]
    for row in rows:
        if row["name"] in profiles:
            row["hotspots"] = profiles[row["name"]]
    if points:
        rows.append({"name": "scaling", "points": [p.as_json() for p in points]})
    args.json.write_text(json.dumps(rows, indent=2, default=str) + "\n")
    print(
        f"\n{len(rows)} results written to {args.json} in {elapsed:.0f} s "
        f"(Python {platform.python_version()}; domain: domain.model Person/Account, "
        "graph: bench.graph_cases Member/DatedMember)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
