"""One contract, four implementations: every test here runs against the in-memory
fakes and against FalkorDB, each through the sync and the async unit of work.

``be`` opens units of the example domain (``infrastructure.bank``); ``gbe``
opens plain units of the graph domain of ``tests.integration.graph_support``
(every relationship shape and delete rule) and counts the reads they send.

Tests are written once, as async functions: ``await be.io(x)`` awaits ``x``
when the async unit returned an awaitable and passes a sync result through,
and ``async with be.unit() as uow`` enters either kind of unit.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from infrastructure.bank.fakes import FakeAsyncBankUnitOfWork, FakeBankUnitOfWork
from infrastructure.fakes import FakeAsyncUnitOfWork, FakeStore, FakeUnitOfWork
from infrastructure.persistence import AsyncUnitOfWork, Registry, UnitOfWork, ensure_schema
from tests.integration.graph_support import graph_registry
from tests.units import OpensUnits


@dataclass
class Backend(OpensUnits):
    """A way to open units of the example domain on one fresh, shared graph."""

    name: str
    is_async: bool
    new_unit: Callable[[], Any]

    def __repr__(self) -> str:
        return self.name


@pytest.fixture(params=["fake-sync", "fake-async", "falkordb-sync", "falkordb-async"])
def be(request: pytest.FixtureRequest, registry: Registry) -> Backend:
    kind, flavour = request.param.split("-")
    is_async = flavour == "async"
    if kind == "fake":
        store = FakeStore()
        fake = FakeAsyncBankUnitOfWork if is_async else FakeBankUnitOfWork
        return Backend(request.param, is_async, lambda: fake(store, registry))
    # The whole schema, as the app ensures it (see ``bank_registry`` on why it matters).
    ensure_schema(request.getfixturevalue("bank_graph"), registry)
    factory = request.getfixturevalue("async_uow_factory" if is_async else "uow_factory")
    return Backend(request.param, is_async, factory)


# -- the graph domain of the relationship tests -----------------------------------------


class Counted:
    """A graph handle (sync or async) that counts the reads sent through it."""

    def __init__(self, graph: Any, reads: list[str]) -> None:
        self._graph, self._reads = graph, reads

    def ro_query(self, q: str, *args: Any, **kwargs: Any) -> Any:
        self._reads.append(q)
        return self._graph.ro_query(q, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._graph, name)


def counted_fake(base: type, reads: list[str]) -> type:
    """A fake unit class whose reads are counted like ``Counted`` counts them."""

    def read(self: Any, read: Any) -> Any:
        reads.append(read.query)
        return base.read(self, read)

    async def read_async(self: Any, read: Any) -> Any:
        reads.append(read.query)
        return await base.read(self, read)

    is_async = inspect.iscoroutinefunction(base.read)
    return type(f"Counted{base.__name__}", (base,), {"read": read_async if is_async else read})


@dataclass
class GraphBackend(Backend):
    """A ``Backend`` of the graph domain, counting the reads its units send."""

    reads: list[str] = field(default_factory=list)
    # Writes an edge (type, (label, key) start, (label, key) end) as another client would.
    link_raw: Callable[[str, tuple[str, Any], tuple[str, Any]], None] | None = None


@pytest.fixture(params=["fake-sync", "fake-async", "falkordb-sync", "falkordb-async"])
def gbe(request: pytest.FixtureRequest) -> GraphBackend:
    registry = graph_registry()
    kind, flavour = request.param.split("-")
    is_async = flavour == "async"
    reads: list[str] = []
    if kind == "fake":
        store = FakeStore()
        unit = counted_fake(FakeAsyncUnitOfWork if is_async else FakeUnitOfWork, reads)
        return GraphBackend(
            request.param, is_async, lambda: unit(store, registry), reads, store.put_edge
        )
    graph = request.getfixturevalue("graph")
    ensure_schema(graph, registry)

    def link_raw(edge_type: str, start: tuple[str, Any], end: tuple[str, Any]) -> None:
        graph.query(
            f"MATCH (a:{start[0]} {{id: $a}}), (b:{end[0]} {{id: $b}}) CREATE (a)-[:{edge_type}]->(b)",
            {"a": start[1], "b": end[1]},
        )

    if is_async:
        handle = request.getfixturevalue("async_client").select_graph(
            request.getfixturevalue("graph_name")
        )
        return GraphBackend(
            request.param,
            True,
            lambda: AsyncUnitOfWork(Counted(handle, reads), registry),
            reads,
            link_raw,
        )
    return GraphBackend(
        request.param, False, lambda: UnitOfWork(Counted(graph, reads), registry), reads, link_raw
    )
