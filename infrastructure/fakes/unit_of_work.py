"""Fake units of work: the real units, reading from and committing to a ``FakeStore``.

They inherit ``UnitOfWork`` / ``AsyncUnitOfWork``: the lifecycle (commit on a
clean exit, rollback on error, ``FlushedWorkError``, ``UnitClosedError``),
the repositories, identity map, change tracking, relationship loading (lazy
in the sync unit), query overlays and error explanations are the real code.
Only the two places that talk to the server are replaced: ``read`` answers
each read from the store by its intent, and ``flush`` applies the change set
to the store instead of sending the commit query.

Mix a fake unit into your own unit class to get its repositories::

    class FakeAppUnitOfWork(FakeUnitOfWork, AppUnitOfWork):
        queries = {FRIENDS_OF_FRIENDS: friends_of_friends_in_memory}

    store = FakeStore()
    with FakeAppUnitOfWork(store, registry) as uow:
        uow.people.add(alice)
    assert uow.committed

``queries`` maps the text of each custom Cypher query the unit's
repositories send to its in-memory twin (see ``store.MemoryQuery``); any
other custom Cypher raises ``FakeQueryError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, NoReturn

from infrastructure.persistence.aio import AsyncUnitOfWork
from infrastructure.persistence.conversation import Conversation, drive, drive_async
from infrastructure.persistence.diagnosis import explain
from infrastructure.persistence.errors import CommitFailure
from infrastructure.persistence.mapping import Registry
from infrastructure.persistence.reads import Read
from infrastructure.persistence.state import FlushHook, UnitState
from infrastructure.persistence.unit_of_work import UnitOfWork

from .store import FakeQueryError, FakeStore, MemoryQuery


class _NoGraph:
    """Stands where the real unit holds its graph handle; nothing may reach it."""

    def _refuse(self, q: str) -> NoReturn:
        raise FakeQueryError(f"the in-memory fake sends no query to a server ({q[:60]!r})")

    def query(
        self, q: str, params: dict[str, Any] | None = None, timeout: int | None = None
    ) -> Any:
        self._refuse(q)

    def ro_query(
        self, q: str, params: dict[str, Any] | None = None, timeout: int | None = None
    ) -> Any:
        self._refuse(q)


class _NoAsyncGraph(_NoGraph):
    async def query(
        self, q: str, params: dict[str, Any] | None = None, timeout: int | None = None
    ) -> Any:
        self._refuse(q)

    async def ro_query(
        self, q: str, params: dict[str, Any] | None = None, timeout: int | None = None
    ) -> Any:
        self._refuse(q)


def _flushing(unit: UnitState, store: FakeStore) -> Conversation[None]:
    """The real flush, with the store in the server's place (failures explained alike)."""
    pending = yield from unit.prepare_flush()
    if pending is None:
        return
    try:
        outcomes = store.apply(pending.changes, pending.bulk)
    except CommitFailure as refused:
        raise (yield from explain(pending.plan, refused)) from None
    returned = [outcomes[name] for name in pending.plan.returns]
    unit.flushed(pending, [[1, *returned]])


class _OnTheStore:
    """What both fake units share: the store in the graph's place, and the reads it answers.

    ``committed`` turns True once a commit succeeded (a clean ``with`` exit
    included), for tests that check a service committed its work.
    """

    queries: ClassVar[Mapping[str, MemoryQuery]] = {}
    unit: UnitState
    _no_graph: ClassVar[type[_NoGraph]] = _NoGraph

    def __init__(
        self, store: FakeStore, registry: Registry, *, hooks: Sequence[FlushHook] = ()
    ) -> None:
        self.store = store
        self.committed = False
        super().__init__(self._no_graph(), registry, hooks=hooks)  # type: ignore[call-arg]

    def _answer(self, read: Read) -> list[list[Any]]:
        self.unit.check_open()
        previous = self.unit.enter()  # one thread or task at a time, as the real unit
        try:
            return self.store.answer(read, self.unit.registry, self.queries)
        finally:
            self.unit.leave(previous)


class FakeUnitOfWork(_OnTheStore, UnitOfWork):
    """A ``UnitOfWork`` whose graph is a ``FakeStore``; see ``_OnTheStore``."""

    def flush(self) -> None:
        previous = self.unit.enter()
        try:
            drive(_flushing(self.unit, self.store), self.read)
        finally:
            self.unit.leave(previous)

    def commit(self) -> None:
        super().commit()
        self.committed = True

    def read(self, read: Read) -> list[list[Any]]:
        return self._answer(read)


class FakeAsyncUnitOfWork(_OnTheStore, AsyncUnitOfWork):
    """An ``AsyncUnitOfWork`` whose graph is a ``FakeStore``; see ``_OnTheStore``."""

    _no_graph = _NoAsyncGraph

    async def flush(self) -> None:
        previous = self.unit.enter()
        try:
            await drive_async(_flushing(self.unit, self.store), self.read)
        finally:
            self.unit.leave(previous)

    async def commit(self) -> None:
        await super().commit()
        self.committed = True

    async def read(self, read: Read) -> list[list[Any]]:
        return self._answer(read)
