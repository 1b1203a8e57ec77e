"""Shared fixtures: one embedded FalkorDB per test run, one graph per test.

Tests that need the server ask for ``database`` (or anything built on it);
unit tests that ask for none of these never start it. ``FALKORDB_URL``
points the suite at another server instead.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from infrastructure.bank import AsyncBankUnitOfWork, BankUnitOfWork, bank_registry
from infrastructure.persistence import Registry, ensure_key_constraints
from infrastructure.server import Database


@pytest.fixture(scope="session")
def database() -> Iterator[Database]:
    db = Database(os.environ.get("FALKORDB_URL"), appendfsync=None)
    with db:
        yield db


@pytest.fixture
def graph_name(request: pytest.FixtureRequest) -> str:
    """A graph of this test's own, so tests never see each other's data."""
    return (
        f"test_{request.node.name[:40]}_{uuid.uuid4().hex[:8]}".replace("[", "_")
        .replace("]", "_")
        .replace("-", "_")
    )


@pytest.fixture
def graph(database: Database, graph_name: str) -> Iterator[object]:
    handle = database.graph(graph_name)
    yield handle
    with contextlib.suppress(Exception):  # the test may never have created it
        handle.delete()


@pytest.fixture
def registry() -> Registry:
    return bank_registry()


@pytest.fixture
def bank_graph(graph: object, registry: Registry) -> object:
    """The test graph with the bank's key constraints in place."""
    ensure_key_constraints(graph, registry)
    return graph


@pytest.fixture
def uow_factory(bank_graph: object, registry: Registry) -> Callable[[], BankUnitOfWork]:
    return lambda: BankUnitOfWork(bank_graph, registry)  # type: ignore[arg-type]


# -- async: one client for the run, on the session's event loop ---------------


@pytest.fixture(scope="session")
async def async_client(database: Database) -> AsyncIterator[object]:
    """An async FalkorDB client with its own bounded pool (``Database.max_connections``)."""
    client = database.async_client()
    yield client
    await client.connection.aclose()


@pytest.fixture
def async_bank_graph(bank_graph: object, async_client: object, graph_name: str) -> object:
    """An async handle on this test's graph (key constraints in place, deleted after)."""
    return async_client.select_graph(graph_name)  # type: ignore[attr-defined]


@pytest.fixture
def async_uow_factory(
    async_bank_graph: object, registry: Registry
) -> Callable[[], AsyncBankUnitOfWork]:
    return lambda: AsyncBankUnitOfWork(async_bank_graph, registry)  # type: ignore[arg-type]
