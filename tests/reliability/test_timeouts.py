"""Timeouts: a read or a commit that runs too long fails with ``QueryTimeoutError``.

FalkorDB stops a write at its timeout only when ``TIMEOUT_MAX`` is set; the
embedded server sets it (24 hours) at start-up, so ``write_timeout_ms``
works there. A write stopped at its timeout leaves nothing behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from domain.model import Person
from infrastructure.bank import AsyncBankUnitOfWork, BankUnitOfWork, bank_registry
from infrastructure.persistence import QueryTimeoutError, ensure_key_constraints
from infrastructure.persistence.reads import Read
from infrastructure.server import Database, EmbeddedFalkorDB

from .profile import Figures

SLOW_READ = Read("UNWIND range(1, 1000) AS x UNWIND range(1, 1000000) AS y RETURN count(y)", {})


def people(count: int) -> list[Person]:
    return [Person(uuid.uuid4(), f"p{i}", f"p{i}@example.com", 30) for i in range(count)]


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedFalkorDB]:
    with EmbeddedFalkorDB(appendfsync=None) as running:
        yield running


@pytest.fixture
def graph(server: EmbeddedFalkorDB, graph_name: str) -> Iterator[Any]:
    with Database(server.url) as db:
        handle = db.graph(graph_name)
        ensure_key_constraints(handle, bank_registry())
        with BankUnitOfWork(handle, bank_registry()) as uow:
            uow.people.add(Person(uuid.uuid4(), "bystander", "b@example.com", 40))
        yield handle
        handle.delete()


def test_the_embedded_server_enforces_write_timeouts(server: EmbeddedFalkorDB) -> None:
    with Database(server.url) as db:
        setting = db.client.connection.execute_command("GRAPH.CONFIG", "GET", "TIMEOUT_MAX")
    assert setting == ["TIMEOUT_MAX", 86_400_000]


def test_a_slow_read_fails_with_query_timeout(graph: Any, figures: Figures) -> None:
    uow = BankUnitOfWork(graph, bank_registry(), read_timeout_ms=20)
    with pytest.raises(QueryTimeoutError, match="read timed out"):
        uow.read(SLOW_READ)
    assert uow.people.count() == 1  # the unit stays usable
    figures.add("timeouts", read_timeouts=1)


def test_a_slow_commit_fails_with_query_timeout_and_leaves_nothing(
    graph: Any, figures: Figures
) -> None:
    registry = bank_registry()
    uow = BankUnitOfWork(graph, registry, write_timeout_ms=5)
    for p in people(50_000):
        uow.people.add(p)
    with pytest.raises(QueryTimeoutError, match="nothing was written"):
        uow.commit()
    with BankUnitOfWork(graph, registry) as check:
        left = check.people.count()
    figures.add("timeouts", write_timeouts=1, timed_out_writes_left_behind=left - 1)
    assert left == 1


async def test_an_async_slow_commit_fails_with_query_timeout_and_leaves_nothing(
    server: EmbeddedFalkorDB, graph: Any, figures: Figures
) -> None:
    registry = bank_registry()
    db = Database(server.url)
    async_graph = db.async_client().select_graph(graph.name)
    try:
        uow = AsyncBankUnitOfWork(async_graph, registry, write_timeout_ms=5)
        for p in people(50_000):
            uow.people.add(p)
        with pytest.raises(QueryTimeoutError, match="commit timed out after 5 ms"):
            await uow.commit()
        async with AsyncBankUnitOfWork(async_graph, registry) as check:
            left = await check.people.count()
    finally:
        await db.aclose()
    figures.add("timeouts", write_timeouts=1, timed_out_writes_left_behind=left - 1)
    assert left == 1


def test_a_commit_within_its_timeout_is_written(graph: Any) -> None:
    registry = bank_registry()
    with BankUnitOfWork(graph, registry, write_timeout_ms=60_000) as uow:
        for p in people(1_000):
            uow.people.add(p)
    with BankUnitOfWork(graph, registry) as check:
        assert check.people.count() == 1_001


def test_without_timeout_max_falkordb_ignores_write_timeouts() -> None:
    """Why the embedded server sets ``TIMEOUT_MAX``: without it the write runs to the end."""
    registry = bank_registry()
    with (
        EmbeddedFalkorDB(appendfsync=None, timeout_max_ms=None) as plain,
        Database(plain.url) as db,
    ):
        graph = db.graph("no_timeout_max")
        ensure_key_constraints(graph, registry)
        with BankUnitOfWork(graph, registry, write_timeout_ms=1) as uow:
            for p in people(20_000):
                uow.people.add(p)
        with BankUnitOfWork(graph, registry) as check:
            assert check.people.count() == 20_000
