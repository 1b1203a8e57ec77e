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
from dataclasses import dataclass, field
from typing import Any

import pytest

from infrastructure.bank.fakes import FakeAsyncBankUnitOfWork, FakeBankUnitOfWork
from infrastructure.fakes import FakeAsyncUnitOfWork, FakeUnitOfWork
from infrastructure.persistence import Registry, ensure_schema
from tests.integration.graph_support import graph_registry
from tests.units import FOUR_WAYS, Units, units_of

Backend = Units
"""A way to open units of the example domain (or another) on one fresh, shared graph."""


@pytest.fixture(params=FOUR_WAYS)
def be(request: pytest.FixtureRequest, registry: Registry) -> Units:
    if request.param.startswith("fake"):
        return units_of(request, registry, fakes=(FakeBankUnitOfWork, FakeAsyncBankUnitOfWork))
    # The whole schema, as the app ensures it (see ``bank_registry`` on why it matters).
    ensure_schema(request.getfixturevalue("bank_graph"), registry)
    is_async = request.param.endswith("async")
    factory = request.getfixturevalue("async_uow_factory" if is_async else "uow_factory")
    return Units(request.param, is_async, factory)


# -- the graph domain of the relationship tests -----------------------------------------


class Counted:
    """A graph handle (sync or async) that counts the reads and the writes sent through it."""

    def __init__(self, graph: Any, reads: list[str], writes: list[str]) -> None:
        self._graph, self._reads, self._writes = graph, reads, writes

    def ro_query(self, q: str, *args: Any, **kwargs: Any) -> Any:
        self._reads.append(q)
        return self._graph.ro_query(q, *args, **kwargs)

    def query(self, q: str, *args: Any, **kwargs: Any) -> Any:
        self._writes.append(q)
        return self._graph.query(q, *args, **kwargs)

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
class GraphBackend(Units):
    """``Units`` of the graph domain, counting the reads its units send.

    On FalkorDB, ``writes`` are the write queries the units sent (the fakes
    send none).
    """

    reads: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)

    def link_raw(self, edge_type: str, start: tuple[str, Any], end: tuple[str, Any]) -> None:
        """Store an edge between two stored nodes (label, key) as another client would."""
        if self.store is not None:
            self.store.put_edge(edge_type, start, end)
            return
        self.graph.query(
            f"MATCH (a:{start[0]} {{id: $a}}), (b:{end[0]} {{id: $b}}) "
            f"CREATE (a)-[:{edge_type}]->(b)",
            {"a": start[1], "b": end[1]},
        )


@pytest.fixture(params=FOUR_WAYS)
def gbe(request: pytest.FixtureRequest) -> GraphBackend:
    reads: list[str] = []
    writes: list[str] = []
    fakes = (counted_fake(FakeUnitOfWork, reads), counted_fake(FakeAsyncUnitOfWork, reads))
    units = units_of(
        request,
        graph_registry(),
        fakes=fakes,
        handle=lambda graph, is_async: Counted(graph, reads, writes),
    )
    return GraphBackend(
        units.name, units.is_async, units.new_unit, units.store, units.graph, reads, writes
    )
