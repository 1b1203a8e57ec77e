"""One contract, four implementations: every test here runs against the in-memory
fakes and against FalkorDB, each through the sync and the async unit of work.

Tests are written once, as async functions: ``await be.io(x)`` awaits ``x``
when the async unit returned an awaitable and passes a sync result through,
and ``async with be.unit() as uow`` enters either kind of unit.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from infrastructure.fakes import FakeAsyncBankUnitOfWork, FakeBankUnitOfWork, FakeStore
from infrastructure.persistence import Registry


@dataclass
class Backend:
    """A way to open units of the example domain on one fresh, shared graph."""

    name: str
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
        return await value if inspect.isawaitable(value) else value

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
    factory = request.getfixturevalue("async_uow_factory" if is_async else "uow_factory")
    return Backend(request.param, is_async, factory)
