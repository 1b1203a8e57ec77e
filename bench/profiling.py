"""cProfile of the layer's side of a workload: where its time goes."""

from __future__ import annotations

import cProfile
import gc
import os
import pstats
from typing import Any

from . import data
from .harness import Bench
from .sync_cases import PEOPLE_CASES, transfers_case

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _where(file: str) -> str:
    if "site-packages/" in file:
        return file.split("site-packages/", 1)[1]
    if file.startswith(_ROOT):
        return os.path.relpath(file, _ROOT)
    return file


def hotspots(bench: Bench, name: str, n: int, bank: data.Bank, top: int) -> list[dict[str, Any]]:
    """The ``top`` functions by cumulative time in one profiled run of our side of ``name``."""
    if name in PEOPLE_CASES:
        setup, ours, _ = PEOPLE_CASES[name][0](n, bench.registry)
    elif name.startswith("transfers"):
        setup, ours, _ = transfers_case(bank, bench.registry)
    else:
        raise ValueError(f"no profile for {name!r}")
    return profiled(bench, "profile", setup, ours, top)


def profiled(bench: Bench, topic: str, setup: Any, ours: Any, top: int) -> list[dict[str, Any]]:
    """The ``top`` functions by cumulative and by own time of ``ours`` run once under cProfile.

    ``setup(graph)`` prepares a fresh graph and returns what ``ours(graph, context)`` gets.
    """
    _, graph = bench.fresh_graph(topic)
    profile = cProfile.Profile()
    try:
        context = setup(graph)
        gc.collect()
        profile.runcall(ours, graph, context)
    finally:
        graph.delete()
    stats = pstats.Stats(profile)
    entries = stats.stats.items()  # type: ignore[attr-defined]
    total = max(cumtime for _, (_, _, _, cumtime, _) in entries)  # the profiled call itself
    rows = []
    for (file, line, func), (_, calls, tottime, cumtime, _) in entries:
        rows.append(
            {
                "function": f"{_where(file)}:{line}({func})" if line else func,
                "calls": calls,
                "cum_share": round(cumtime / total, 3),
                "own_share": round(tottime / total, 3),
            }
        )
    by_cum = sorted(rows, key=lambda r: r["cum_share"], reverse=True)[:top]
    by_own = sorted(rows, key=lambda r: r["own_share"], reverse=True)[:top]
    return [{"total_ms": round(total * 1000, 1)}, *by_cum, {"by_own_time": by_own}]


def render(name: str, spots: list[dict[str, Any]]) -> str:
    total = spots[0]["total_ms"]
    lines = [f"profile of ours: {name} ({total} ms under cProfile)", "  by cumulative time:"]
    for s in spots[1:-1]:
        lines.append(
            f"    {s['cum_share']:6.1%} cum {s['own_share']:6.1%} own {s['calls']:>8}  {s['function']}"
        )
    lines.append("  by own time:")
    for s in spots[-1]["by_own_time"]:
        lines.append(
            f"    {s['own_share']:6.1%} own {s['cum_share']:6.1%} cum {s['calls']:>8}  {s['function']}"
        )
    return "\n".join(lines)
