"""Connection loss: the server dies and comes back between units and under one.

The application's ``Database`` is never reopened: its pool reconnects. A unit
whose connection failed reports it as one of three things: the read could not
run (``DatabaseUnavailableError``), the commit was never run
(``DatabaseUnavailableError``: refused, or the server answered ``LOADING``),
or the commit was in flight (``CommitOutcomeUnknownError``).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter

import pytest

from domain.model import Person
from infrastructure.bank import AsyncBankUnitOfWork, BankUnitOfWork, bank_registry
from infrastructure.persistence import (
    CommitOutcomeUnknownError,
    DatabaseUnavailableError,
    ensure_key_constraints,
)
from infrastructure.persistence.reads import Read
from infrastructure.server import Database, EmbeddedFalkorDB

from .faults import kill_while_running, slow_aof
from .profile import Figures


def person(i: int) -> Person:
    return Person(uuid.uuid4(), f"person {i}", f"p{i}@example.com", 30)


@pytest.fixture
def db(crashable_server: EmbeddedFalkorDB):  # type: ignore[no-untyped-def]
    with Database(crashable_server.url) as database:
        yield database


def test_next_unit_works_after_a_restart_between_units(
    crashable_server: EmbeddedFalkorDB, db: Database, figures: Figures
) -> None:
    registry = bank_registry()
    graph = db.graph("between")
    ensure_key_constraints(graph, registry)
    first = person(1)
    with BankUnitOfWork(graph, registry) as uow:
        uow.people.add(first)

    crashable_server.kill()
    with (
        pytest.raises(DatabaseUnavailableError, match="unreachable"),
        BankUnitOfWork(graph, registry) as uow,
    ):
        uow.people.get(first.id)
    down = person(2)
    with (
        pytest.raises(DatabaseUnavailableError, match="nothing was written"),
        BankUnitOfWork(graph, registry) as uow,
    ):
        uow.people.add(down)

    crashable_server.restart()
    with BankUnitOfWork(graph, registry) as uow:
        assert uow.people.get(first.id).name == "person 1"
        assert not uow.people.exists(down.id)
        uow.people.get(first.id).age = 31
    with BankUnitOfWork(graph, registry) as uow:
        assert uow.people.get(first.id).age == 31
    figures.add("connection", faults_injected=1, clear_errors=2)


async def test_async_unit_works_after_a_restart_between_units(
    crashable_server: EmbeddedFalkorDB, db: Database, figures: Figures
) -> None:
    registry = bank_registry()
    ensure_key_constraints(db.graph("async_between"), registry)
    graph = db.async_client().select_graph("async_between")
    first = person(1)
    async with AsyncBankUnitOfWork(graph, registry) as uow:
        uow.people.add(first)

    crashable_server.kill()
    crashable_server.restart()
    # The pooled connection died with the server: the first read on it fails clearly...
    seen: Counter[str] = Counter()
    for _ in range(3):
        try:
            async with AsyncBankUnitOfWork(graph, registry) as uow:
                loaded = await uow.people.get(first.id)
                loaded.age = 40
            break
        except DatabaseUnavailableError:
            seen["DatabaseUnavailableError"] += 1
    # ...and the unit after it works on a fresh connection.
    async with AsyncBankUnitOfWork(graph, registry) as uow:
        assert (await uow.people.get(first.id)).age == 40
    await db.aclose()
    assert seen["DatabaseUnavailableError"] <= 1
    figures.add("connection", faults_injected=1, clear_errors=seen.total())


def test_commit_in_flight_when_the_server_dies_is_reported_in_doubt_and_is_all_or_nothing(
    crashable_server: EmbeddedFalkorDB, db: Database, figures: Figures
) -> None:
    registry = bank_registry()
    graph = db.graph("in_flight")
    ensure_key_constraints(graph, registry)
    people = [person(i) for i in range(100_000)]
    watcher = kill_while_running(crashable_server, "graph.query")
    uow = BankUnitOfWork(graph, registry)
    for p in people:
        uow.people.add(p)
    with pytest.raises(CommitOutcomeUnknownError, match="may or may not have been applied"):
        uow.commit()
    watcher.join()
    crashable_server.restart()
    with BankUnitOfWork(graph, registry) as uow:
        stored = uow.people.count()
    assert stored in (0, len(people))
    figures.add("connection", faults_injected=1, clear_errors=1, in_doubt_all_or_nothing=1)


def test_read_in_flight_when_the_server_dies_reports_unavailable(
    crashable_server: EmbeddedFalkorDB, db: Database, figures: Figures
) -> None:
    registry = bank_registry()
    graph = db.graph("read_in_flight")
    ensure_key_constraints(graph, registry)
    watcher = kill_while_running(crashable_server, "graph.ro_query")
    slow = Read("UNWIND range(1, 100000000) AS x RETURN count(x)", {})
    with pytest.raises(DatabaseUnavailableError, match="read failed"):
        BankUnitOfWork(graph, registry).read(slow)
    watcher.join()
    crashable_server.restart()
    with BankUnitOfWork(graph, registry) as uow:
        assert uow.people.count() == 0
    figures.add("connection", faults_injected=1, clear_errors=1)


def test_loading_answers_mean_nothing_was_written(
    crashable_server: EmbeddedFalkorDB, db: Database, figures: Figures
) -> None:
    registry = bank_registry()
    graph = db.graph("loading")
    ensure_key_constraints(graph, registry)
    slow_aof(crashable_server, "loading")
    crashable_server.kill()
    restarting = threading.Thread(target=crashable_server.restart)
    restarting.start()

    seen: Counter[str] = Counter()
    refused_commits: list[Person] = []
    acknowledged: list[Person] = []
    i = 0
    while restarting.is_alive() or not acknowledged:
        i += 1
        new = person(i)
        try:
            with BankUnitOfWork(graph, registry) as uow:
                if i % 2:
                    uow.people.count()
                else:
                    uow.people.add(new)
            if not i % 2:
                acknowledged.append(new)
        except DatabaseUnavailableError as exc:
            kind = "loading" if "LOADING" in str(exc) else "unreachable"
            seen[f"{'read' if i % 2 else 'commit'} {kind}"] += 1
            if not i % 2:
                refused_commits.append(new)
        time.sleep(0.002)
    restarting.join()

    with BankUnitOfWork(graph, registry) as uow:
        assert not any(uow.people.exists(p.id) for p in refused_commits)
        assert all(uow.people.exists(p.id) for p in acknowledged)
    assert seen["read loading"] > 0
    assert seen["commit loading"] > 0
    figures.add(
        "connection",
        faults_injected=1,
        clear_errors=seen.total(),
        loading_answers=seen["read loading"] + seen["commit loading"],
    )
