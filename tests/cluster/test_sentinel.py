"""Units of work behind a sentinel: same code, a sentinel URL, and a failover survived.

The clients ask the sentinel for the primary on every new connection, so
after the primary dies and a replica is promoted, units rerun from fresh
reads reach the new primary. During the failover they fail with
``DatabaseUnavailableError`` (nothing written) or, for a commit whose
connection broke, ``CommitOutcomeUnknownError``; each unit here creates an
entity with a fixed key, so a rerun of an applied commit is refused as a
duplicate instead of applied twice.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any, TypeVar

import pytest
import redis

from domain.model import Account, Money, Person
from infrastructure.bank import AsyncBankUnitOfWork, BankUnitOfWork
from infrastructure.persistence import (
    CommitOutcomeUnknownError,
    ConcurrencyError,
    DatabaseUnavailableError,
    DuplicateKeyError,
    Registry,
    ensure_key_constraints,
)
from infrastructure.server import Database, DatabaseURLError
from infrastructure.server.local_sentinel import LocalSentinel

R = TypeVar("R")
# How long a unit keeps being rerun while the sentinel replaces the primary
# (a bound against hanging, not a speed requirement).
FAILOVER_PATIENCE_S = 60.0
TRANSIENT = (DatabaseUnavailableError, CommitOutcomeUnknownError)


@pytest.fixture
def sentinel_db(sentinel_setup: LocalSentinel) -> Iterator[Database]:
    db = Database(sentinel_setup.url)
    yield db
    db.close()


def register(graph: Any, registry: Registry, person: Person) -> None:
    """One unit creating ``person``; a duplicate means an earlier attempt was applied."""
    try:
        with BankUnitOfWork(graph, registry) as uow:
            uow.people.add(person)
    except DuplicateKeyError:
        with BankUnitOfWork(graph, registry) as uow:
            assert uow.people.get(person.id).name == person.name


def until_available(work: Callable[[], R]) -> R:
    deadline = time.monotonic() + FAILOVER_PATIENCE_S
    while True:
        try:
            return work()
        except TRANSIENT:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


async def until_available_async(work: Callable[[], Awaitable[R]]) -> R:
    deadline = time.monotonic() + FAILOVER_PATIENCE_S
    while True:
        try:
            return await work()
        except TRANSIENT:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_sentinel_urls_find_the_primary(sentinel_setup: LocalSentinel, registry: Registry) -> None:
    port = sentinel_setup.sentinel_port
    for url in (
        sentinel_setup.url,
        f"redis+sentinel://127.0.0.1:{port}",  # the only service watched
        f"falkor://127.0.0.1:{port}",  # a sentinel, detected
    ):
        db = Database(url)
        try:
            assert db.topology == "sentinel"
            graph = db.graph("found")
            ensure_key_constraints(graph, registry)
            register(graph, registry, Person.register("Found", "found@example.com"))
            assert "found" in db.list_graphs()
        finally:
            db.close()


def test_a_service_the_sentinel_does_not_watch_is_refused_by_name(
    sentinel_setup: LocalSentinel,
) -> None:
    db = Database(f"falkor+sentinel://127.0.0.1:{sentinel_setup.sentinel_port}/payroll")
    with pytest.raises(DatabaseURLError, match=r"no primary named 'payroll' \(they watch: bank\)"):
        db.graph("x")


def test_units_through_the_sentinel_commit_and_refuse_stale_versions(
    sentinel_db: Database, registry: Registry
) -> None:
    graph = sentinel_db.graph("units")
    ensure_key_constraints(graph, registry)
    owner = Person.register("Owner", "owner@example.com")
    account = Account.open(owner.id)
    with BankUnitOfWork(graph, registry) as uow:
        uow.people.add(owner)
        uow.accounts.add(account)

    slow = BankUnitOfWork(graph, registry)
    stale = slow.accounts.get(account.id)
    with BankUnitOfWork(graph, registry) as fast:
        fast.accounts.get(account.id).deposit(Money(Decimal("5")))
    stale.deposit(Money(Decimal("7")))
    with pytest.raises(ConcurrencyError):
        slow.commit()
    slow.close()
    with BankUnitOfWork(graph, registry) as uow:
        assert uow.accounts.get(account.id).balance == Money(Decimal("5"))


async def test_async_units_through_the_sentinel(sentinel_db: Database, registry: Registry) -> None:
    graph = sentinel_db.async_client().select_graph("async_units")
    people = [Person.register(f"A{i}", f"a{i}@example.com") for i in range(5)]
    try:
        for person in people:
            async with AsyncBankUnitOfWork(graph, registry) as uow:
                uow.people.add(person)
        async with AsyncBankUnitOfWork(graph, registry) as uow:
            stored = await uow.people.get_many([p.id for p in people])
            assert [p.name for p in stored] == [p.name for p in people]
    finally:
        await sentinel_db.aclose()


async def test_units_reach_the_promoted_replica_after_the_primary_is_killed(
    registry: Registry,
) -> None:
    with LocalSentinel("bank") as setup:
        db = Database(setup.url)
        try:
            await check_failover(setup, db, registry)
        finally:
            await db.aclose()
            db.close()


async def check_failover(setup: LocalSentinel, db: Database, registry: Registry) -> None:
    graph = db.graph("bank")
    async_graph = db.async_client().select_graph("bank")
    ensure_key_constraints(graph, registry)
    before = [Person.register(f"B{i}", f"b{i}@example.com") for i in range(10)]
    for person in before:
        register(graph, registry, person)
    async with AsyncBankUnitOfWork(async_graph, registry) as uow:  # a pooled async connection
        assert await uow.people.count() == len(before)

    old_host, old_port = setup.primary_address()
    with redis.Redis(host=old_host, port=old_port) as primary:
        assert primary.execute_command("WAIT", 1, 10_000) == 1  # the replica has it all
    setup.kill_primary()

    after = Person.register("After", "after@example.com")
    until_available(lambda: register(graph, registry, after))
    assert setup.primary_address()[1] != old_port

    with BankUnitOfWork(graph, registry) as uow:
        stored = uow.people.get_many([p.id for p in [*before, after]])
        assert [p.name for p in stored] == [p.name for p in [*before, after]]
        assert uow.people.count() == len(before) + 1

    late = Person.register("Async", "async@example.com")

    async def async_unit() -> None:
        try:
            async with AsyncBankUnitOfWork(async_graph, registry) as uow:
                uow.people.add(late)
        except DuplicateKeyError:  # an earlier attempt was applied
            pass

    await until_available_async(async_unit)
    async with AsyncBankUnitOfWork(async_graph, registry) as uow:
        assert (await uow.people.get(late.id)).name == "Async"
        assert await uow.people.count() == len(before) + 2
