"""The async unit of work and repository: the sync ones with awaited I/O.

Every decision lives in ``UnitState``, ``RepositoryBase`` and
``UnitOfWorkBase``; these classes differ from ``UnitOfWork`` and
``Repository`` only where they await a query (a unit test compares their
code with the sync code, ``await`` removed, and fails on any other
difference).
"""

from __future__ import annotations

import asyncio
import builtins
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

from . import detached
from .conversation import Conversation, drive_async
from .criteria import Criterion, combine, from_equals
from .errors import CommitNotReplicatedError, StoredValueError
from .finders import Page, Slice
from .mapping import EntityMapping
from .observe import observed
from .preview import CommitPreview, preview
from .reads import Read
from .repository import DELETED, Loads, RepositoryBase
from .search import search_errors
from .unit_of_work import WRITE_ERRORS, UnitOfWorkBase, read_errors_translated

T = TypeVar("T")
R = TypeVar("R")


class AsyncGraph(Protocol):
    """What the async unit needs of a graph handle (``falkordb.asyncio`` graphs fit)."""

    async def query(
        self, q: str, params: dict[str, Any] | None = ..., timeout: int | None = ...
    ) -> Any: ...

    async def ro_query(
        self, q: str, params: dict[str, Any] | None = ..., timeout: int | None = ...
    ) -> Any: ...


class AsyncRepository(RepositoryBase[T]):
    """A typed repository of one async unit of work."""

    def __init__(self, uow: AsyncUnitOfWork, mapping: EntityMapping[T]) -> None:
        super().__init__(uow.unit, mapping)
        self._read = uow.read

    async def run(self, conversation: Conversation[R]) -> R:
        """Answer each read of ``conversation`` in this unit, and return its answer.

        For a custom query written once as a conversation (on ``rows``,
        ``raw_rows``, ``lookup``) and offered by a sync and an async repository.
        """
        self._unit.check_open()  # a closed unit says so before the conversation's own checks
        return await drive_async(conversation, self._read)

    async def get(self, key: Any, *, load: Loads = ()) -> T:
        """The entity with ``key``; from the identity map when the unit has it.

        ``load`` names relationships to fetch in the same round trip.

        Raises:
            EntityNotFoundError: no such entity (or it was deleted in this unit).
        """
        if not load:  # the identity-map hit, inlined: the hottest call of a unit
            # A closed unit's tables are empty: its get() takes the checked path below
            # (as does a miss, which then reads: the KeyError costs nothing beside that).
            try:
                state = self._by_key[key]
            except KeyError:
                pass
            else:
                # A tracked key of another class of the hierarchy: "not found", below.
                if state.status is not DELETED and (
                    state.mapping is self.mapping or self.mapping.covers(state.mapping)
                ):
                    entity: T = state.entity
                    return entity
        return await drive_async(self._get(key, load), self._read)

    async def get_or_none(self, key: Any, *, load: Loads = ()) -> T | None:
        """The entity with ``key``, or None."""
        return await drive_async(self._get_or_none(key, load), self._read)

    async def get_many(self, keys: Sequence[Any], *, load: Loads = ()) -> list[T]:
        """Entities for ``keys``, in that order, in at most one round trip.

        Raises:
            EntityNotFoundError: naming every key that does not exist.
        """
        return await drive_async(self._get_many(keys, load), self._read)

    async def exists(self, key: Any) -> bool:
        """Whether an entity with ``key`` exists (pending adds and deletes count)."""
        return await drive_async(self._exists(key), self._read)

    async def find(
        self,
        where: Criterion | None = None,
        *,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        load: Loads = (),
    ) -> list[T]:
        """Entities matching ``where`` (built with ``F``), as this unit sees them.

        Pending changes count: entities added, edited or deleted in the unit
        are matched on what the unit holds. ``order_by``: ``"age"``, ``"-age"``
        or a list of them.

        Raises:
            MappingError: a name is not a stored field, or cannot be ordered.
            ValueEncodingError: a value cannot be compared with its field.
        """
        return await drive_async(self._find(where, order_by, limit, offset, load), self._read)

    async def list(
        self,
        *,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        load: Loads = (),
    ) -> builtins.list[T]:
        """All entities of this type, optionally ordered (``"-age"``: descending) and paged."""
        return await drive_async(self._find(None, order_by, limit, offset, load), self._read)

    async def find_by(
        self,
        *,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        load: Loads = (),
        **equals: Any,
    ) -> builtins.list[T]:
        """Entities whose fields equal the given values (``None`` matches unset)."""
        where = from_equals(equals)
        return await drive_async(self._find(where, order_by, limit, offset, load), self._read)

    async def find_one_by(self, **equals: Any) -> T | None:
        """The first entity matching ``equals``, or None."""
        return await drive_async(self._find_one(from_equals(equals)), self._read)

    async def count(self, where: Criterion | None = None, **equals: Any) -> int:
        """How many entities match ``where`` and ``equals`` (all of them when neither)."""
        return await drive_async(self._count(combine(where, equals)), self._read)

    async def page(
        self,
        where: Criterion | None = None,
        *,
        order_by: str | Sequence[str] | None = None,
        number: int = 1,
        size: int = 20,
        load: Loads = (),
    ) -> Page[T]:
        """Page ``number`` (from 1) of ``size`` matches, with the total count."""
        return await drive_async(self._page(where, order_by, number, size, load), self._read)

    async def keyset(
        self,
        where: Criterion | None = None,
        *,
        order_by: str | Sequence[str] | None = None,
        after: str | None = None,
        limit: int = 20,
        load: Loads = (),
    ) -> Slice[T]:
        """Up to ``limit`` matches after the cursor ``after`` (keyset pagination).

        The order is made total with the key; pass ``Slice.cursor`` back as
        ``after`` for the next slice (None when there is no more).
        """
        return await drive_async(self._keyset(where, order_by, after, limit, load), self._read)

    async def query(self, cypher: str, **params: Any) -> builtins.list[builtins.list[Any]]:
        """Rows of a read-only custom Cypher query.

        Parameters are encoded like stored values (UUID, Decimal, dates...).
        Nodes of mapped labels come back as tracked entities (also inside
        lists and paths); other values come back as the client returns them.
        """
        return await drive_async(self._query(cypher, params), self._read)

    async def query_entities(self, cypher: str, **params: Any) -> builtins.list[T]:
        """Entities of this type returned in the first column of a custom query."""
        return await drive_async(self._query_entities(cypher, params), self._read)

    async def nearest(
        self,
        field: str,
        vector: Sequence[float],
        *,
        k: int = 10,
        where: Criterion | None = None,
    ) -> builtins.list[tuple[T, float]]:
        """The ``k`` entities whose vector ``field`` is nearest ``vector``: (entity, distance).

        Nearest first; the distance is the index's (cosine: ``1 - cos``,
        euclidean: L2). ``where`` filters the candidates (more are asked for
        until ``k`` match or none is left). Pending changes of the unit count,
        as for ``find``.

        Raises:
            MappingError: ``field`` is not a vector field, or ``where`` names an unknown one.
            ValueEncodingError: ``vector`` has another dimension or a non-finite value.
            SearchQueryError: the server refused the query (no vector index: run
                ``ensure_schema``).
        """
        with search_errors():
            return await drive_async(self._nearest(field, vector, k, where), self._read)

    async def search(
        self,
        text: str,
        *,
        fields: Sequence[str] | None = None,
        k: int = 20,
        prefix: bool = False,
    ) -> builtins.list[tuple[T, float]]:
        """Up to ``k`` entities whose full-text fields hold every word of ``text``: (entity, score).

        Best first. Any text is safe: it is split into words, and punctuation
        never reaches the query parser. ``fields`` narrows the match to some
        of the full-text fields; ``prefix`` matches words starting with each
        term (of two characters or more). Entities the unit added or edited
        to match come last, with score 0.0.

        Raises:
            MappingError: the type has no full-text fields, or ``fields`` names another.
            SearchQueryError: the server refused the query.
        """
        with search_errors():
            return await drive_async(self._search(text, fields, k, prefix), self._read)

    async def hybrid(
        self,
        text: str,
        field: str,
        vector: Sequence[float],
        *,
        k: int = 10,
        fields: Sequence[str] | None = None,
        where: Criterion | None = None,
    ) -> builtins.list[tuple[T, float]]:
        """``nearest`` and ``search`` fused by reciprocal rank: (entity, fused score), best first.

        Each entity scores ``1 / (60 + rank)`` in each ranking it appears in
        (ranks from 1, each ranking asked for ``2 * k``); ``where`` applies to both.

        Raises:
            MappingError, ValueEncodingError, SearchQueryError: as ``nearest`` and ``search``.
        """
        with search_errors():
            return await drive_async(
                self._hybrid(text, field, vector, k, fields, where), self._read
            )

    async def load_related(self, entities: Sequence[T], *names: str) -> None:
        """Fetch relationships ``names`` for all ``entities`` at once (one read each)."""
        await drive_async(self._load_related(entities, names), self._read)

    async def undecodable(self) -> builtins.list[StoredValueError]:
        """What stored nodes of this type cannot load, one ``StoredValueError`` per value.

        Reads every node of the label once and tracks none of them; an empty
        list means every node loads.
        """
        return await drive_async(self._undecodable(), self._read)


class AsyncUnitOfWork(UnitOfWorkBase[AsyncGraph, AsyncRepository[Any]]):
    """The async unit of work: ``async with uow:`` commits on clean exit.

    Same semantics as ``UnitOfWork``; ``add`` and ``delete`` are plain calls,
    everything that talks to the server is awaited, and so are ``rollback``
    and ``close``, which end the unit whether or not they send anything.
    """

    _repository_base = AsyncRepository

    @staticmethod
    def _caller() -> object:
        """The calling task: two tasks sharing one async unit are refused."""
        try:
            return asyncio.current_task() or threading.get_ident()
        except RuntimeError:  # no running event loop
            return threading.get_ident()

    async def __aenter__(self) -> Self:
        self.unit.check_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.unit.closed:
            return
        try:
            if exc is None:
                await self.commit()
            else:
                self._abandon(exc)
        finally:
            self.unit.close()

    def repository(self, entity_type: type[T]) -> AsyncRepository[T]:
        """The repository of ``entity_type`` in this unit (created on first use)."""
        return self._repository_of(entity_type)

    async def get(self, entity_type: type[T], key: Any) -> T:
        """The entity of ``entity_type`` with ``key`` (raises ``EntityNotFoundError``)."""
        return await self.repository(entity_type).get(key)

    async def merge(self, entity: T) -> T:
        """The tracked entity with ``entity``'s key, given ``entity``'s stored fields.

        For objects from a closed unit, a cache or a request body: the unit loads
        the stored entity (or uses the one it tracks), copies the fields of
        ``entity`` onto it and returns it; ``entity`` stays untracked. A key
        stored nowhere is added as a new entity (a copy). A versioned
        ``entity`` that went stale fails the commit with ``ConcurrencyError``.
        Relationships are not copied.
        """
        return await drive_async(detached.merge(self.unit, entity), self.read)

    async def refresh(self, entity: object) -> None:
        """Reload a tracked entity from the server, discarding its pending edits.

        Raises:
            NotTrackedError: this unit does not track it.
            EntityNotFoundError: it is no longer stored.
        """
        await drive_async(detached.refresh(self.unit, entity), self.read)

    async def flush(self) -> None:
        """Write all pending changes in one atomic query and keep the unit open.

        Raises:
            ConcurrencyError: a versioned entity changed since it was loaded.
            DuplicateKeyError: a new entity's key exists already.
            CommitOutcomeUnknownError: the connection dropped mid-commit.
            CommitNotReplicatedError: applied on the primary, but fewer replicas than
                ``Database(replicas=N)`` asks for confirmed it in time.
            DatabaseUnavailableError: the query was never run (server unreachable or
                loading its data, no free connection); nothing was written.
            QueryTimeoutError: the commit ran past ``write_timeout_ms``; nothing was written.
            ValueEncodingError: a value cannot be stored (nothing was sent).
        """
        previous = self.unit.enter()
        try:
            pending = await drive_async(self.unit.prepare_flush(), self.read)
            if pending is None:
                return
            plan = pending.plan
            try:
                with observed(
                    "commit", plan.query, plan.params, self.graph, len(pending.changes)
                ) as seen:
                    reply = seen.result(
                        await self.graph.query(plan.query, plan.params, timeout=self._write_timeout)
                    )
            except CommitNotReplicatedError:
                self.unit.flushed(pending)  # applied on the primary: the unit holds what it wrote
                raise
            except WRITE_ERRORS as exc:
                raise await drive_async(self._write_failure(pending, exc), self.read) from exc
            self.unit.flushed(pending, getattr(reply, "result_set", None))
        finally:
            self.unit.leave(previous)

    async def commit(self) -> None:
        """Flush, and end the transaction scope: a later rollback has nothing to undo."""
        await self.flush()
        self.unit.commit_done()

    async def plan(self) -> CommitPreview | None:
        """What a commit would send now (text, parameters, counts, guards), sent nowhere.

        Runs what a flush runs before sending (``before_flush`` and the
        per-entity handlers, cascade reads), so the preview is the query the
        next commit sends unless the unit changes in between. None when a
        commit would write nothing.
        """
        pending = await drive_async(self.unit.prepare_flush(), self.read)
        return None if pending is None else preview(pending.plan, pending.changes)

    async def rollback(self) -> None:
        """Discard pending work and restore loaded entities to their stored state.

        Raises:
            FlushedWorkError: work flushed since the last commit is already
                stored and was not undone (everything else was discarded).
        """
        self._rollback()

    async def close(self) -> None:
        """Discard pending work and end the unit; any later use raises ``UnitClosedError``."""
        self.unit.close()

    async def read(self, read: Read) -> list[list[Any]]:
        """Run a read-only query and return its rows.

        Raises:
            QueryTimeoutError: the read ran past ``read_timeout_ms``.
            DatabaseUnavailableError: the server could not be reached.
        """
        self.unit.check_open()
        previous = self.unit.enter()
        try:
            with (
                observed("read", read.query, read.params, self.graph) as seen,
                read_errors_translated(),
            ):
                result = seen.result(
                    await self.graph.ro_query(read.query, read.params, timeout=self._read_timeout)
                )
        finally:
            self.unit.leave(previous)
        rows: list[list[Any]] = result.result_set
        return rows


AsyncSession = AsyncUnitOfWork
"""The async unit of work under its other name (``AsyncSession``): the same class."""
