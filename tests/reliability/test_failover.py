"""A bank under a failover nemesis: what an acknowledged commit is worth.

A primary, a replica and a sentinel (``appendfsync always`` on the data
nodes); worker threads run transfer units through the sentinel URL while
the nemesis in ``failover`` kills the primary, the sentinel promotes the
replica, and the killed node comes back as a replica of the new one. The
same on a cluster with one replica per primary, the replica taking over the
slots. Each runs twice (the cluster without replica acknowledgement only in
``make reliability``):

- without replica acknowledgement, a commit is acknowledged by the primary
  alone: those the replica lacked at the kill are lost (the figure is
  reported, it depends on timing);
- with ``replicas=1``, a commit is acknowledged once the replica has it:
  none may be lost. Commits the replica did not confirm raise
  ``CommitNotReplicatedError`` and count as in doubt.

Either way money is conserved, no balance is negative, no commit is
half-applied, and nothing is stored that the client did not mean.

One sentinel with quorum 1 decides the failovers: the nemesis never kills
it, and a single voter is all one sentinel needs (three would be the
production set-up, so that a sentinel's own failure does not block a
failover; it changes nothing that is tested here).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from infrastructure.bank import BankUnitOfWork, bank_registry
from infrastructure.persistence import ensure_key_constraints
from infrastructure.server import Database
from infrastructure.server.local_cluster import LocalCluster
from infrastructure.server.local_sentinel import LocalSentinel

from .bank_workload import audit, open_accounts
from .failover import ClusterShard, Nemesis, Replicated, SentinelPair, Workers
from .profile import Figures, Profile, current_profile

# Errors a unit may see while the primary dies and is replaced (the rest are bugs).
CLEAR_ERRORS = {
    "CommitOutcomeUnknownError",
    "CommitNotReplicatedError",
    "DatabaseUnavailableError",
    "ConcurrencyError",
    "DuplicateKeyError",  # an in-doubt attempt's own write, seen by its rerun
}
REPLICA_TIMEOUT_MS = 500
# Short enough for quick failovers, long enough that a loaded 2-core machine
# rarely stalls a primary past it (each such stall is a failover of its own).
DOWN_AFTER_MS = 500
THREADS = 4
ACCOUNTS = 20
GRAPH = "bank"


# The short profile (make test) runs the cluster with replica acknowledgement only.
CLUSTER_MODES = [False, True] if current_profile().name == "long" else [True]


def mode(wait: bool) -> str:
    return "wait" if wait else "no_wait"


@pytest.fixture
def sentinel_pair() -> Iterator[LocalSentinel]:
    with LocalSentinel(
        "bank", appendfsync="always", down_after_ms=DOWN_AFTER_MS, failover_timeout_ms=1000
    ) as setup:
        yield setup


def run_bank(
    db: Database, target: Replicated, profile: Profile, figures: Figures, suite: str, seed: int
) -> None:
    registry = bank_registry()
    graph = db.graph(GRAPH)
    with Database(db_url_without_ack(db)) as plain:  # schema writes need no replica answer
        ensure_key_constraints(plain.graph(GRAPH), registry)

    def new_unit() -> BankUnitOfWork:
        return BankUnitOfWork(graph, registry)

    target.wait_healthy()
    accounts = open_accounts(new_unit, ACCOUNTS)
    workers = Workers(new_unit, list(accounts), THREADS)
    nemesis = Nemesis(target, profile.failovers, profile.failover_pause_s, seed)
    started = time.monotonic()
    workers.start(seed)
    nemesis.start()
    try:
        nemesis.done.wait(60 + 30 * profile.failovers)
    finally:
        workers.join()
    elapsed = time.monotonic() - started
    assert nemesis.error is None, nemesis.error
    assert workers.failures == []
    result = audit(new_unit, accounts)
    ledger = workers.ledger
    lost = len(ledger.acknowledged) - result.found(ledger.acknowledged)
    in_doubt_found = result.found(ledger.in_doubt)
    figures.add(
        suite,
        failovers=nemesis.failovers,
        lagged_replica=nemesis.lagged,
        commits_acknowledged=len(ledger.acknowledged),
        acknowledged_lost=lost,
        in_doubt=len(ledger.in_doubt),
        in_doubt_found=in_doubt_found,
        in_doubt_absent=len(ledger.in_doubt) - in_doubt_found,
        not_replicated=ledger.errors["CommitNotReplicatedError"],
        half_applied=len(result.wrong_version),
        lost_updates=len(result.wrong_balance),
        seconds=round(elapsed, 1),
    )
    assert nemesis.failovers == profile.failovers
    assert set(ledger.errors) <= CLEAR_ERRORS, ledger.errors
    assert len(ledger.acknowledged) > 0
    assert result.found(ledger.not_written) == 0
    assert result.mismatched(ledger.intents()) == []
    assert result.wrong_version == []
    assert result.wrong_balance == []
    assert result.total == result.expected_total
    assert result.lowest >= 0
    assert result.accounts == len(accounts)
    if db.ack is not None:
        assert lost == 0, f"{lost} acknowledged commits lost despite replica acknowledgement"


def db_url_without_ack(db: Database) -> str:
    url = db.url
    return url.split("?", 1)[0]


@pytest.mark.parametrize("wait", [False, True], ids=mode)
def test_bank_through_sentinel_failovers(
    sentinel_pair: LocalSentinel, profile: Profile, figures: Figures, wait: bool
) -> None:
    options: dict[str, Any] = (
        {"replicas": 1, "replica_timeout_ms": REPLICA_TIMEOUT_MS} if wait else {}
    )
    with Database(sentinel_pair.url, **options) as db:
        run_bank(db, SentinelPair(sentinel_pair), profile, figures, f"failover_{mode(wait)}", 21)


@pytest.mark.parametrize("wait", CLUSTER_MODES, ids=mode)
def test_bank_through_cluster_failovers(profile: Profile, figures: Figures, wait: bool) -> None:
    options: dict[str, Any] = (
        {"replicas": 1, "replica_timeout_ms": REPLICA_TIMEOUT_MS} if wait else {}
    )
    with LocalCluster(3, replicas=1, appendfsync="always", node_timeout_ms=500) as cluster:
        url = f"falkor+cluster://127.0.0.1:{cluster.ports[0]},127.0.0.1:{cluster.ports[1]}"
        with Database(url, **options) as db:
            run_bank(
                db, ClusterShard(cluster, GRAPH), profile, figures, f"cluster_{mode(wait)}", 31
            )
