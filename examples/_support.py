"""What every example needs before it starts: a database and a fresh graph.

``FALKORDB_URL`` points the examples at a running FalkorDB; without it each
example starts an embedded server of its own (data in a throwaway
directory). Every example works on a graph of its own, deleted at the end,
so examples can share a server and run in any order.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from infrastructure.bank import BankUnitOfWork, bank_registry
from infrastructure.persistence import Registry, ensure_key_constraints
from infrastructure.server import Database


@contextmanager
def example_database() -> Iterator[Database]:
    """The FalkorDB at ``FALKORDB_URL``, or an embedded one stopped on exit."""
    with Database(os.environ.get("FALKORDB_URL") or None, appendfsync=None) as db:
        yield db


def fresh_graph_name(topic: str) -> str:
    """A graph name no other run uses, e.g. ``example_identity_3f2a9c1e``."""
    return f"example_{topic}_{uuid.uuid4().hex[:8]}"


@contextmanager
def example_graph(db: Database, topic: str) -> Iterator[Any]:
    """A fresh, empty graph on ``db``; deleted when the block ends."""
    graph = db.graph(fresh_graph_name(topic))
    try:
        yield graph
    finally:
        with contextlib.suppress(Exception):  # a graph never written to does not exist
            graph.delete()


def bank_units(graph: Any) -> Callable[[], BankUnitOfWork]:
    """A factory of bank units of work on ``graph``, its key constraints in place.

    Call it once per unit: ``with new_unit() as uow: ...``.
    """
    registry = bank_registry()
    ensure_key_constraints(graph, registry)
    return lambda: BankUnitOfWork(graph, registry)


@contextmanager
def bank_example(topic: str) -> Iterator[Callable[[], BankUnitOfWork]]:
    """Database, fresh graph and unit factory in one: what most examples start with."""
    with example_database() as db, example_graph(db, topic) as graph:
        yield bank_units(graph)


def run_async_example(topic: str, run: Callable[[Any, str, Registry], Awaitable[None]]) -> None:
    """Run ``run(client, graph_name, registry)`` in an event loop, on a fresh bank graph.

    ``client`` is the database's async client, created inside the event loop
    that uses it (``db.async_client()``); its connections are closed when
    ``run`` ends.
    """

    async def in_the_loop(db: Database, graph_name: str, registry: Registry) -> None:
        try:
            await run(db.async_client(), graph_name, registry)
        finally:
            await db.aclose()

    with example_database() as db, example_graph(db, topic) as graph:
        registry = bank_registry()
        ensure_key_constraints(graph, registry)
        asyncio.run(in_the_loop(db, graph.name, registry))
