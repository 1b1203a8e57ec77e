"""Async units on a bounded pool: past the limit they wait for a connection.

``Database.async_client()`` builds a blocking pool of ``max_connections``.
More concurrent units than connections must all complete, never opening
more connections than the limit; when no connection frees up within the
pool timeout, the unit fails with ``DatabaseUnavailableError`` and writes
nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from domain.model import Person
from infrastructure.bank import AsyncBankUnitOfWork
from infrastructure.persistence import (
    CommitOutcomeUnknownError,
    DatabaseUnavailableError,
    Registry,
)
from infrastructure.server import Database

POOL = 3
UNITS = 40


def pool_of(database: Database, graph_name: str, timeout_s: float) -> Database:
    """A second ``Database`` on the session's server whose pools hold ``POOL`` connections.

    Its connections carry a client name of their own, so the server can count them.
    """
    separator = "&" if "?" in database.url else "?"
    url = f"{database.url}{separator}client_name=pool_{graph_name}"
    return Database(url, max_connections=POOL, pool_timeout_s=timeout_s)


@pytest.fixture
async def small_pool(database: Database, graph_name: str) -> AsyncIterator[Database]:
    """A small pool whose callers give up quickly (0.2 s)."""
    small = pool_of(database, graph_name, 0.2)
    yield small
    await small.aclose()


@pytest.fixture
async def patient_pool(database: Database, graph_name: str) -> AsyncIterator[Database]:
    """A small pool whose callers wait long enough for any turn, even on a loaded machine."""
    small = pool_of(database, graph_name, 60.0)
    yield small
    await small.aclose()


def connections_named(database: Database, name: str) -> int:
    clients = database.client.connection.client_list()
    return sum(1 for client in clients if client.get("name") == name)


async def test_more_units_than_connections_all_complete_within_the_pool(
    patient_pool: Database,
    database: Database,
    bank_graph: Any,
    graph_name: str,
    registry: Registry,
) -> None:
    graph = patient_pool.async_client().select_graph(graph_name)
    in_flight = peak = 0

    async def register(n: int) -> Person:
        nonlocal in_flight, peak
        async with AsyncBankUnitOfWork(graph, registry) as uow:
            in_flight += 1
            peak = max(peak, in_flight)
            person = Person.register(f"P{n}", f"p{n}@example.com", n)
            assert await uow.people.count(name=person.name) == 0
            uow.people.add(person)
            in_flight -= 1
        return person

    people = await asyncio.gather(*(register(n) for n in range(UNITS)))

    # More units were open at once than the pool has connections ...
    assert peak > POOL
    # ... yet all of them committed, over exactly the pool's connections.
    async with AsyncBankUnitOfWork(graph, registry) as uow:
        stored = await uow.people.get_many([p.id for p in people])
        assert [p.name for p in stored] == [f"P{n}" for n in range(UNITS)]
        assert await uow.people.count() == UNITS
    assert connections_named(database, f"pool_{graph_name}") == POOL


async def test_unit_that_gets_no_connection_in_time_fails_and_writes_nothing(
    small_pool: Database, bank_graph: Any, graph_name: str, registry: Registry
) -> None:
    client = small_pool.async_client()
    graph = client.select_graph(graph_name)
    pool = client.connection.connection_pool
    held = [await pool.get_connection() for _ in range(POOL)]
    person = Person.register("Late", "late@example.com", 1)
    try:
        reader = AsyncBankUnitOfWork(graph, registry)
        with pytest.raises(DatabaseUnavailableError, match="no connection of the pool"):
            await reader.people.get(person.id)
        await reader.close()

        # A commit that never got a connection was never sent: not "outcome unknown".
        with pytest.raises(
            DatabaseUnavailableError, match="commit failed: no connection of the pool"
        ) as failed:
            async with AsyncBankUnitOfWork(graph, registry) as writer:
                writer.people.add(person)
        assert not isinstance(failed.value, CommitOutcomeUnknownError)
    finally:
        for connection in held:
            await pool.release(connection)

    async with AsyncBankUnitOfWork(graph, registry) as uow:
        assert not await uow.people.exists(person.id)
        # The pool serves again once connections are back.
        uow.people.add(person)
    async with AsyncBankUnitOfWork(graph, registry) as uow:
        assert (await uow.people.get(person.id)).name == "Late"
