"""``python -m bench.scaleout``: many tenants' units on one server versus a cluster.

Every tenant has its own graph (``GraphNames("{tenant}:bank", tag="tenant")``)
holding a few accounts. A unit is a transfer: read two accounts, move money,
record a ``Transfer``, commit (one atomic query on the tenant's graph).
The same units run, sync (a thread pool) and async (concurrent tasks), on:

- ``standalone``: one FalkorDB server;
- ``cluster-1``: a one-node cluster (the cluster client's own cost);
- ``cluster-N``: an N-node cluster on this machine (tenants spread over nodes).

All servers run on this machine, so the figures show what the cluster path
costs and that the tenants spread; a speed-up needs the nodes on separate
cores or hosts. Afterwards each tenant's money is counted: nothing may be
lost or doubled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.model import Account, Money, Person, Transfer
from infrastructure.bank import AsyncBankUnitOfWork, BankUnitOfWork, bank_registry
from infrastructure.persistence import (
    ConcurrencyError,
    Registry,
    ensure_key_constraints,
    retry_on_conflict,
    retry_on_conflict_async,
)
from infrastructure.server import Database, EmbeddedFalkorDB, GraphNames
from infrastructure.server.local_cluster import LocalCluster

NAMES = GraphNames("{tenant}:bank", tag="tenant")
OPENING = Decimal("1000")


@dataclass
class Row:
    deployment: str
    mode: str
    units: int
    seconds: float
    units_per_s: float
    p50_ms: float
    p99_ms: float
    conflicts_retried: int


@dataclass
class Tenant:
    name: str
    accounts: list[UUID]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.scaleout", description=__doc__)
    parser.add_argument("--tenants", type=int, default=50, help="tenants, one graph each (50)")
    parser.add_argument("--units", type=int, default=20, help="units per tenant (20)")
    parser.add_argument("--accounts", type=int, default=4, help="accounts per tenant (4)")
    parser.add_argument("--workers", type=int, default=8, help="threads / async tasks (8)")
    parser.add_argument("--nodes", type=int, default=3, help="nodes of the big cluster (3)")
    parser.add_argument("--json", help="also write the rows to this file")
    return parser.parse_args(argv)


@contextmanager
def deployments(nodes: int) -> Iterator[list[tuple[str, str]]]:
    """(label, url) of a standalone server, a one-node cluster and an N-node cluster."""
    server = EmbeddedFalkorDB(appendfsync=None)
    small, big = LocalCluster(1), LocalCluster(nodes)
    try:
        server.start()
        small.start()
        big.start()
        yield [
            ("standalone", server.url),
            ("cluster-1", small.url),
            (f"cluster-{nodes}", big.url),
        ]
    finally:
        big.stop()
        small.stop()
        server.stop()


def seed(db: Database, registry: Registry, args: argparse.Namespace, run: str) -> list[Tenant]:
    tenants = []
    for i in range(args.tenants):
        name = f"{run}{i:03d}"
        graph = db.graph_for(name)
        ensure_key_constraints(graph, registry)
        owner = Person.register(f"Owner {name}", f"owner{i}@example.com")
        accounts = [Account.open(owner.id) for _ in range(args.accounts)]
        for account in accounts:
            account.deposit(Money(OPENING))
        with BankUnitOfWork(graph, registry) as uow:
            uow.people.add(owner)
            for account in accounts:
                uow.accounts.add(account)
        tenants.append(Tenant(name, [a.id for a in accounts]))
    return tenants


def schedule(tenants: list[Tenant], units: int) -> list[tuple[Tenant, UUID, UUID]]:
    rng = random.Random(7)
    work = [(t, *rng.sample(t.accounts, 2)) for t in tenants for _ in range(units)]
    rng.shuffle(work)
    return work


def summarize(label: str, mode: str, latencies: list[float], seconds: float, retried: int) -> Row:
    ordered = sorted(latencies)
    return Row(
        deployment=label,
        mode=mode,
        units=len(ordered),
        seconds=round(seconds, 3),
        units_per_s=round(len(ordered) / seconds, 1),
        p50_ms=round(statistics.median(ordered) * 1000, 2),
        p99_ms=round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        conflicts_retried=retried,
    )


class Counter:
    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self.value += 1


def run_sync(db: Database, registry: Registry, args: argparse.Namespace, label: str) -> Row:
    tenants = seed(db, registry, args, "s")
    retried = Counter()

    def transfer(tenant: Tenant, source: UUID, target: UUID) -> float:
        graph = db.graph_for(tenant.name)

        def unit() -> None:
            try:
                with BankUnitOfWork(graph, registry) as uow:
                    a, b = uow.accounts.get_many([source, target])
                    uow.transfers.add(Transfer.between(a, b, Money(Decimal("1"))))
            except ConcurrencyError:
                retried.add()
                raise

        started = time.perf_counter()
        retry_on_conflict(unit, attempts=50)
        return time.perf_counter() - started

    work = schedule(tenants, args.units)
    started = time.perf_counter()
    with ThreadPoolExecutor(args.workers) as pool:
        latencies = list(pool.map(lambda item: transfer(*item), work))
    seconds = time.perf_counter() - started
    check(db, registry, tenants, args)
    return summarize(label, "sync", latencies, seconds, retried.value)


async def run_async(db: Database, registry: Registry, args: argparse.Namespace, label: str) -> Row:
    tenants = seed(db, registry, args, "a")
    client = db.async_client()
    retried = 0
    latencies: list[float] = []
    queue = schedule(tenants, args.units)

    async def transfer(tenant: Tenant, source: UUID, target: UUID) -> None:
        nonlocal retried
        graph = client.select_graph(NAMES(tenant.name))

        async def unit() -> None:
            nonlocal retried
            try:
                async with AsyncBankUnitOfWork(graph, registry) as uow:
                    a, b = await uow.accounts.get_many([source, target])
                    uow.transfers.add(Transfer.between(a, b, Money(Decimal("1"))))
            except ConcurrencyError:
                retried += 1
                raise

        started = time.perf_counter()
        await retry_on_conflict_async(unit, attempts=50)
        latencies.append(time.perf_counter() - started)

    async def worker() -> None:
        while queue:
            await transfer(*queue.pop())

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(args.workers)))
    finally:
        await db.aclose()
    seconds = time.perf_counter() - started
    check(db, registry, tenants, args)
    return summarize(label, "async", latencies, seconds, retried)


def check(
    db: Database, registry: Registry, tenants: list[Tenant], args: argparse.Namespace
) -> None:
    """Every tenant still holds all its money and recorded exactly its units."""
    for tenant in tenants:
        with BankUnitOfWork(db.graph_for(tenant.name), registry) as uow:
            total = sum(a.balance.amount for a in uow.accounts.get_many(tenant.accounts))
            transfers = uow.transfers.count()
        if total != OPENING * args.accounts or transfers != args.units:
            raise SystemExit(f"{tenant.name}: balance {total}, {transfers} transfers: data lost")


def render(rows: list[Row]) -> str:
    head = f"{'deployment':<12} {'mode':<6} {'units':>6} {'s':>7} {'units/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'retried':>7}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r.deployment:<12} {r.mode:<6} {r.units:>6} {r.seconds:>7.2f} {r.units_per_s:>8.1f} "
            f"{r.p50_ms:>7.2f} {r.p99_ms:>7.2f} {r.conflicts_retried:>7}"
        )
    return "\n".join(lines)


def spread(url: str, nodes: int) -> str:
    """How many of the tenants' graphs each node holds (from each node's GRAPH.LIST)."""
    db = Database(url)
    try:
        names = db.list_graphs()
        cluster: Any = db.client.connection
        counts = [
            len(cluster.get_redis_connection(node).execute_command("GRAPH.LIST"))
            for node in cluster.get_primaries()
        ]
        return f"{len(names)} graphs over {nodes} nodes: {sorted(counts)}"
    finally:
        db.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    registry = bank_registry()
    rows: list[Row] = []
    placement = ""
    print(
        f"{args.tenants} tenants x {args.units} units, {args.workers} workers, "
        f"{os.cpu_count()} CPUs",
        flush=True,
    )
    with deployments(args.nodes) as targets:
        for label, url in targets:
            runs: list[Callable[[Database], Row]] = [
                lambda db, label=label: run_sync(db, registry, args, label),
                lambda db, label=label: asyncio.run(run_async(db, registry, args, label)),
            ]
            for run in runs:
                db = Database(url, graph_names=NAMES, max_connections=args.workers)
                try:
                    rows.append(run(db))
                finally:
                    db.close()
                print(render(rows[-1:]).splitlines()[-1], flush=True)
        placement = spread(targets[-1][1], args.nodes)
    print()
    print(render(rows))
    print(placement)
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"args": vars(args), "rows": [asdict(r) for r in rows]}, out, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
