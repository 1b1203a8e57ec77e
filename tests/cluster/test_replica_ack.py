"""Replica-acknowledged commits on real primaries and replicas (``Database(replicas=N)``).

A commit is acknowledged once the replica holds it: read straight from the
replica process right after, it is there. With the replica frozen
(``SIGSTOP`` on the process started here) the commit raises
``CommitNotReplicatedError`` and is on the primary; the replica gets it once
it runs again. Standalone URL, sentinel URL and cluster; sync and async.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
import redis

from domain.model import Account, Money, Person, Transfer
from infrastructure.bank import AsyncBankUnitOfWork, BankUnitOfWork
from infrastructure.persistence import (
    CommitNotReplicatedError,
    CommitOutcomeUnknownError,
    Registry,
    ensure_key_constraints,
    run_idempotent,
    run_idempotent_async,
)
from infrastructure.server import Database, EmbeddedFalkorDB
from infrastructure.server.local_cluster import LocalCluster
from infrastructure.server.local_sentinel import LocalSentinel

# A frozen replica makes every acknowledged commit wait this long: keep it short.
TIMEOUT_MS = 150


@pytest.fixture(scope="module")
def pair() -> Iterator[LocalSentinel]:
    """A primary, one replica and a sentinel, for this module only (its replica gets frozen).

    The sentinel is slow to judge (5 s): no test here wants a failover, and a
    loaded machine can stall a primary past a short ``down-after``.
    """
    with LocalSentinel("acked", down_after_ms=5000) as setup:
        yield setup


@contextmanager
def frozen(server: EmbeddedFalkorDB) -> Iterator[None]:
    """The server's process stopped (SIGSTOP) for the block: connected, silent."""
    assert server.pid is not None
    os.kill(server.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.pid, signal.SIGCONT)


def names_on(port: int, graph: str, *, cluster: bool = False) -> list[str]:
    """The people's names stored on one node, read from that node alone."""
    with redis.Redis(port=port, decode_responses=True, socket_timeout=5) as node:
        if cluster:
            node.execute_command("READONLY")  # a cluster replica answers reads itself
        reply = node.execute_command(
            "GRAPH.RO_QUERY", graph, "MATCH (p:Person) RETURN p.name ORDER BY p.name"
        )
    return [row[0] for row in reply[1]]


def caught_up(primary_port: int) -> None:
    with redis.Redis(port=primary_port, socket_timeout=15) as primary:
        assert primary.execute_command("WAIT", 1, 10_000) == 1


def primary_and_replica(setup: LocalSentinel) -> tuple[EmbeddedFalkorDB, EmbeddedFalkorDB]:
    primary = setup.server_at(setup.primary_address()[1])
    replica = next(s for s in setup.servers if s is not primary)
    return primary, replica


def add_person(graph: Any, registry: Registry, name: str) -> None:
    with BankUnitOfWork(graph, registry) as uow:
        uow.people.add(Person.register(name, f"{name.lower()}@example.com"))


@pytest.mark.parametrize("via", ["primary", "sentinel"])
def test_an_acknowledged_commit_is_on_the_replica(
    pair: LocalSentinel, registry: Registry, via: str
) -> None:
    primary, replica = primary_and_replica(pair)
    url = f"redis://127.0.0.1:{primary.port}" if via == "primary" else pair.url
    name = f"ack_{via}"
    with Database(f"{url}?replicas=1&replica_timeout_ms=5000") as db:
        graph = db.graph(name)
        ensure_key_constraints(graph, registry)
        for person in ("Ann", "Bob", "Cid"):
            add_person(graph, registry, person)
            assert person in names_on(replica.port or 0, name)  # no wait: it is there
    assert names_on(replica.port or 0, name) == ["Ann", "Bob", "Cid"]


def test_a_commit_the_replica_does_not_confirm_raises_and_is_on_the_primary(
    pair: LocalSentinel, registry: Registry
) -> None:
    primary, replica = primary_and_replica(pair)
    with Database(pair.url, replicas=1, replica_timeout_ms=TIMEOUT_MS) as db:
        graph = db.graph("unconfirmed")
        ensure_key_constraints(graph, registry)
        add_person(graph, registry, "Before")
        with frozen(replica):
            with pytest.raises(CommitNotReplicatedError) as caught:
                add_person(graph, registry, "During")
            assert names_on(primary.port or 0, "unconfirmed") == ["Before", "During"]
            assert names_on_after_thaw_is_unknown(caught.value)
        caught_up(primary.port or 0)
        assert names_on(replica.port or 0, "unconfirmed") == ["Before", "During"]


def names_on_after_thaw_is_unknown(error: CommitNotReplicatedError) -> bool:
    """What the error tells: required, confirmed, and that the outcome counts as in doubt."""
    assert isinstance(error, CommitOutcomeUnknownError)
    assert (error.required, error.confirmed, error.timeout_ms) == (1, 0, TIMEOUT_MS)
    assert "applied on the primary" in str(error)
    assert "not known to be replicated" in str(error)
    return True


def test_asking_for_more_replicas_than_exist_names_both_counts(
    pair: LocalSentinel, registry: Registry
) -> None:
    with Database(pair.url, replicas=2, replica_timeout_ms=TIMEOUT_MS) as db:
        graph = db.graph("two_wanted")
        with pytest.raises(CommitNotReplicatedError) as caught:
            add_person(graph, registry, "One")
    assert (caught.value.required, caught.value.confirmed) == (2, 1)
    assert "only 1 of the 2 required" in str(caught.value)


def test_a_flush_not_replicated_leaves_the_unit_holding_what_it_wrote(
    pair: LocalSentinel, registry: Registry
) -> None:
    _, replica = primary_and_replica(pair)
    with Database(pair.url, replicas=1, replica_timeout_ms=TIMEOUT_MS) as db:
        graph = db.graph("flushed")
        ensure_key_constraints(graph, registry)
        account = Account.open(Person.register("Owner", "owner@example.com").id)
        with BankUnitOfWork(graph, registry) as uow:
            uow.accounts.add(account)
        with BankUnitOfWork(graph, registry) as uow:
            held = uow.accounts.get(account.id)
            held.deposit(Money(Decimal("5")))
            with frozen(replica), pytest.raises(CommitNotReplicatedError):
                uow.flush()
            # The unit knows the primary has version 2: a further edit commits on top of it.
            held.deposit(Money(Decimal("3")))
        with BankUnitOfWork(graph, registry) as uow:
            stored = uow.accounts.get(account.id)
            assert (stored.balance, stored.version) == (Money(Decimal("8")), 3)


def test_run_idempotent_finds_an_unreplicated_transfer_and_does_not_apply_it_twice(
    pair: LocalSentinel, registry: Registry
) -> None:
    _, replica = primary_and_replica(pair)
    with Database(pair.url, replicas=1, replica_timeout_ms=TIMEOUT_MS) as db:
        graph = db.graph("idempotent")
        ensure_key_constraints(graph, registry)
        owner = Person.register("Owner", "owner@example.com")
        source, target = Account.open(owner.id), Account.open(owner.id)
        source.deposit(Money(Decimal("100")))
        with BankUnitOfWork(graph, registry) as uow:
            uow.accounts.add(source)
            uow.accounts.add(target)
        transfer_id = uuid4()  # chosen once: the idempotency key

        def work() -> None:
            with BankUnitOfWork(graph, registry) as uow:
                a, b = uow.accounts.get_many([source.id, target.id])
                moved = Transfer.between(a, b, Money(Decimal("30")))
                uow.transfers.add(replace(moved, id=transfer_id))

        def stored() -> bool:
            with BankUnitOfWork(graph, registry) as uow:
                return uow.transfers.exists(transfer_id)

        with frozen(replica):
            run = run_idempotent(work, stored, attempts=3)
        assert (run.applied_earlier, run.in_doubt, run.unreplicated, run.attempts) == (
            True,
            1,
            1,
            2,
        )
        with BankUnitOfWork(graph, registry) as uow:
            a, b = uow.accounts.get_many([source.id, target.id])
            assert (a.balance, b.balance) == (Money(Decimal("70")), Money(Decimal("30")))
            assert uow.transfers.count() == 1


async def test_async_commits_wait_for_the_replica_too(
    pair: LocalSentinel, registry: Registry
) -> None:
    primary, replica = primary_and_replica(pair)
    db = Database(pair.url, replicas=1, replica_timeout_ms=TIMEOUT_MS)
    try:
        ensure_key_constraints(db.graph("async_ack"), registry)
        graph = db.async_client().select_graph("async_ack")
        async with AsyncBankUnitOfWork(graph, registry) as uow:
            uow.people.add(Person.register("Ann", "ann@example.com"))
        assert names_on(replica.port or 0, "async_ack") == ["Ann"]
        with frozen(replica):
            with pytest.raises(CommitNotReplicatedError):
                async with AsyncBankUnitOfWork(graph, registry) as uow:
                    uow.people.add(Person.register("Bob", "bob@example.com"))
            assert names_on(primary.port or 0, "async_ack") == ["Ann", "Bob"]

            async def work() -> None:
                async with AsyncBankUnitOfWork(graph, registry) as uow:
                    uow.people.add(Person.register("Cid", "cid@example.com"))

            async def landed() -> bool:
                async with AsyncBankUnitOfWork(graph, registry) as uow:
                    return await uow.people.count() == 3

            run = await run_idempotent_async(work, landed, attempts=3)
            assert (run.applied_earlier, run.unreplicated) == (True, 1)
        caught_up(primary.port or 0)
        assert names_on(replica.port or 0, "async_ack") == ["Ann", "Bob", "Cid"]
    finally:
        await db.aclose()
        db.close()


def test_without_replicas_every_commit_says_it_is_not_replicated(
    database: Database, registry: Registry
) -> None:
    ensure_key_constraints(database.graph("alone"), registry)
    with Database(database.url, replicas=1, replica_timeout_ms=20) as db:
        graph = db.graph("alone")
        with pytest.raises(CommitNotReplicatedError, match="only 0 of the 1"):
            add_person(graph, registry, "Solo")
        assert names_on(int(database.url.rsplit(":", 1)[1]), "alone") == ["Solo"]
        graph.delete()


# -- cluster -------------------------------------------------------------------


@pytest.fixture(scope="module")
def replicated_cluster() -> Iterator[LocalCluster]:
    """Two primaries with one replica each."""
    with LocalCluster(2, replicas=1) as cluster:
        yield cluster


def test_on_a_cluster_the_wait_goes_to_the_node_holding_the_graph(
    replicated_cluster: LocalCluster, registry: Registry
) -> None:
    cluster = replicated_cluster
    url = (
        f"falkor+cluster://127.0.0.1:{cluster.ports[0]}?replicas=1&replica_timeout_ms={TIMEOUT_MS}"
    )
    names: dict[int, str] = {}
    n = 0
    while len(names) < 2:
        names.setdefault(cluster.primary_for(f"tenant{n}"), f"tenant{n}")
        n += 1
    with Database(url) as db:
        for primary, name in names.items():
            graph = db.graph(name)
            ensure_key_constraints(graph, registry)
            add_person(graph, registry, "Ann")
            (replica,) = cluster.replicas_of(primary)
            assert names_on(cluster.ports[replica], name, cluster=True) == ["Ann"]
            # Freezing the OTHER primary's replica changes nothing for this graph.
            (other,) = (i for i in names if i != primary)
            (others_replica,) = cluster.replicas_of(other)
            with frozen(cluster.nodes[others_replica]):
                add_person(graph, registry, "Bob")
            with frozen(cluster.nodes[replica]), pytest.raises(CommitNotReplicatedError):
                add_person(graph, registry, "Cid")
            assert names_on(cluster.ports[primary], name, cluster=True) == ["Ann", "Bob", "Cid"]


async def test_on_a_cluster_async_commits_wait_for_the_graphs_replica(
    replicated_cluster: LocalCluster, registry: Registry
) -> None:
    cluster = replicated_cluster
    db = Database(
        f"falkor+cluster://127.0.0.1:{cluster.ports[0]}",
        replicas=1,
        replica_timeout_ms=TIMEOUT_MS,
    )
    try:
        ensure_key_constraints(db.graph("async_tenant"), registry)
        graph = db.async_client().select_graph("async_tenant")
        primary = cluster.primary_for("async_tenant")
        (replica,) = cluster.replicas_of(primary)
        async with AsyncBankUnitOfWork(graph, registry) as uow:
            uow.people.add(Person.register("Ann", "ann@example.com"))
        assert names_on(cluster.ports[replica], "async_tenant", cluster=True) == ["Ann"]
        with frozen(cluster.nodes[replica]), pytest.raises(CommitNotReplicatedError):
            async with AsyncBankUnitOfWork(graph, registry) as uow:
                uow.people.add(Person.register("Bob", "bob@example.com"))
        assert names_on(cluster.ports[primary], "async_tenant", cluster=True) == ["Ann", "Bob"]
    finally:
        await db.aclose()
        db.close()
