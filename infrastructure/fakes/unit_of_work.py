"""Fake units of work: the real units, committing to a ``FakeStore`` instead of FalkorDB.

They inherit ``UnitOfWork`` / ``AsyncUnitOfWork``, so the lifecycle (commit
on a clean exit, rollback on error, ``FlushedWorkError``, ``UnitClosedError``),
the identity map and change tracking are the real code; only ``flush``
writes to memory. Declare repositories as on the real units, with the fake
repository classes::

    class FakeBankUnitOfWork(FakeUnitOfWork):
        people: FakeRepository[Person]

    store = FakeStore()
    with FakeBankUnitOfWork(store, registry) as uow:
        uow.people.add(alice)
    assert uow.committed
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, NoReturn

from infrastructure.persistence.aio import AsyncUnitOfWork
from infrastructure.persistence.errors import MappingError
from infrastructure.persistence.mapping import Registry
from infrastructure.persistence.reads import Read
from infrastructure.persistence.repository import drive
from infrastructure.persistence.state import FlushHook, UnitState
from infrastructure.persistence.unit_of_work import UnitOfWork

from .repository import FakeAsyncRepository, FakeRepository
from .store import FakeStore


class FakeQueryError(NotImplementedError):
    """Cypher was sent to an in-memory fake, which cannot run it."""


def _no_cypher(query: str) -> NoReturn:
    raise FakeQueryError(
        f"the in-memory fake cannot run Cypher ({query[:60]!r}...); give the custom "
        "repository that sent it a fake twin answering from the FakeStore"
    )


class _NoGraph:
    """Stands where the real unit holds its graph handle."""

    def query(
        self, q: str, params: dict[str, Any] | None = None, timeout: int | None = None
    ) -> Any:
        _no_cypher(q)

    def ro_query(
        self, q: str, params: dict[str, Any] | None = None, timeout: int | None = None
    ) -> Any:
        _no_cypher(q)


class _NoAsyncGraph:
    async def query(
        self, q: str, params: dict[str, Any] | None = None, timeout: int | None = None
    ) -> Any:
        _no_cypher(q)

    async def ro_query(
        self, q: str, params: dict[str, Any] | None = None, timeout: int | None = None
    ) -> Any:
        _no_cypher(q)


def _refuse_read(read: Read) -> list[list[Any]]:
    _no_cypher(read.query)


def _flush_into(store: FakeStore, state: UnitState) -> None:
    """Write what ``state`` has pending to ``store``: all of it, or nothing and raise."""
    pending = drive(state.prepare_flush(), _refuse_read)
    if pending is None:
        return
    store.apply(pending.changes)
    state.flushed(pending)


def _check_supported(registry: Registry) -> None:
    for mapping in registry:
        if getattr(mapping, "relationships", None):
            raise MappingError(
                f"{mapping.name} maps relationships, which the in-memory fakes do not model; "
                "test it against FalkorDB (the `database` fixture)"
            )


class FakeUnitOfWork(UnitOfWork):
    """A ``UnitOfWork`` whose graph is a ``FakeStore``.

    ``committed`` turns True once a commit succeeded (a clean ``with`` exit
    included), for tests that check a service committed its work.
    """

    _repository_base: ClassVar[type[Any]] = FakeRepository

    def __init__(
        self, store: FakeStore, registry: Registry, *, hooks: Sequence[FlushHook] = ()
    ) -> None:
        _check_supported(registry)
        self.store = store
        self.committed = False
        super().__init__(_NoGraph(), registry, hooks=hooks)

    def flush(self) -> None:
        _flush_into(self.store, self.state)

    def commit(self) -> None:
        super().commit()
        self.committed = True

    def read(self, read: Read) -> list[list[Any]]:
        self.state.check_open()
        _no_cypher(read.query)


class FakeAsyncUnitOfWork(AsyncUnitOfWork):
    """An ``AsyncUnitOfWork`` whose graph is a ``FakeStore``."""

    _repository_base: ClassVar[type[Any]] = FakeAsyncRepository

    def __init__(
        self, store: FakeStore, registry: Registry, *, hooks: Sequence[FlushHook] = ()
    ) -> None:
        _check_supported(registry)
        self.store = store
        self.committed = False
        super().__init__(_NoAsyncGraph(), registry, hooks=hooks)

    async def flush(self) -> None:
        _flush_into(self.store, self.state)

    async def commit(self) -> None:
        await super().commit()
        self.committed = True

    async def read(self, read: Read) -> list[list[Any]]:
        self.state.check_open()
        _no_cypher(read.query)
