"""One test body for sync and async units: ``async with x.unit()`` and ``await x.io(...)``.

``Units`` opens units of one registry in one of four ways (``FOUR_WAYS``:
the in-memory fakes or FalkorDB, each sync or async); ``units_of`` builds it
for a fixture parametrized with ``FOUR_WAYS``. ``settled`` is the same
adapter for a single call: a sync result passes, an async one is awaited.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from infrastructure.fakes import FakeAsyncUnitOfWork, FakeStore, FakeUnitOfWork
from infrastructure.persistence import AsyncUnitOfWork, Registry, UnitOfWork, ensure_schema

FOUR_WAYS = ["fake-sync", "fake-async", "falkordb-sync", "falkordb-async"]


async def settled(value: Any) -> Any:
    """``value`` awaited when an async unit (or service) returned an awaitable, else as it is."""
    return await value if inspect.isawaitable(value) else value


async def stored(units: OpensUnits, *entities: Any) -> tuple[Any, ...]:
    """Add ``entities`` in one new unit of ``units`` and commit it; returns them."""
    async with units.unit() as uow:
        for entity in entities:
            uow.add(entity)
    return entities


class OpensUnits:
    """For a dataclass with ``is_async`` and ``new_unit`` fields: enter and await either kind."""

    is_async: bool
    new_unit: Callable[[], Any]

    @asynccontextmanager
    async def unit(self, uow: Any = None) -> AsyncIterator[Any]:
        """``with`` / ``async with`` a unit (a new one by default): commit on a clean exit."""
        uow = self.new_unit() if uow is None else uow
        if self.is_async:
            async with uow:
                yield uow
        else:
            with uow:
                yield uow

    async def io(self, value: Any) -> Any:
        """``value`` awaited when the async unit returned an awaitable, else as it is."""
        return await settled(value)


@dataclass
class Units(OpensUnits):
    """A way to open units on one fresh store or graph.

    ``store`` is the fakes' store (None on FalkorDB); ``graph`` the raw sync
    graph handle on FalkorDB (None on the fakes).
    """

    name: str
    is_async: bool
    new_unit: Callable[[], Any]
    store: FakeStore | None = None
    graph: Any = None

    def __repr__(self) -> str:
        return self.name


def units_of(
    request: pytest.FixtureRequest,
    registry: Registry,
    *,
    prepare: Callable[[Any, Registry], Any] = ensure_schema,
    fakes: tuple[type, type] = (FakeUnitOfWork, FakeAsyncUnitOfWork),
    handle: Callable[[Any, bool], Any] = lambda graph, is_async: graph,
) -> Units:
    """``Units`` of ``registry`` the way ``request.param`` (one of ``FOUR_WAYS``) names.

    Args:
        prepare: run on FalkorDB's fresh graph first (the schema, by default).
        fakes: the sync and the async fake unit classes.
        handle: the graph handle the units get, from the plain one and
            whether it is async (a wrapper that counts or speeds up queries).
    """
    kind, flavour = request.param.split("-")
    is_async = flavour == "async"
    if kind == "fake":
        store = FakeStore()
        fake = fakes[is_async]
        return Units(request.param, is_async, lambda: fake(store, registry), store=store)
    graph = request.getfixturevalue("graph")
    prepare(graph, registry)
    plain = graph
    if is_async:
        plain = request.getfixturevalue("async_client").select_graph(
            request.getfixturevalue("graph_name")
        )
    given = handle(plain, is_async)
    unit = AsyncUnitOfWork if is_async else UnitOfWork
    return Units(request.param, is_async, lambda: unit(given, registry), graph=graph)
