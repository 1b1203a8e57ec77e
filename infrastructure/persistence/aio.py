"""The async unit of work and repository: the sync ones with awaited I/O.

Every decision lives in ``UnitState`` and ``RepositoryBase``; these classes
differ from ``UnitOfWork`` and ``Repository`` only where they await a query.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

from redis import exceptions as redis_errors

from . import reads
from .declared import declared_repositories
from .errors import EntityNotFoundError, FlushedWorkError, PersistenceError
from .mapping import EntityMapping, Registry
from .reads import Read
from .repository import RepositoryBase
from .state import Exchange, FlushHook, UnitState
from .unit_of_work import FLUSHED_NOTE, ROLLBACK_AFTER_FLUSH
from .wire import CONNECTION_ERRORS, commit_in_doubt, is_timeout, read_failure

T = TypeVar("T")


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

    def __init__(self, unit: AsyncUnitOfWork, mapping: EntityMapping[T]) -> None:
        super().__init__(unit.state, mapping)
        self._unit = unit

    async def get(self, key: Any) -> T:
        """The entity with ``key`` (raises ``EntityNotFoundError``)."""
        found = await self.get_or_none(key)
        if found is None:
            raise EntityNotFoundError(self.mapping.name, [key])
        return found

    async def get_or_none(self, key: Any) -> T | None:
        """The entity with ``key``, or None."""
        decided, entity = self._cached(key)
        if decided:
            return entity
        loaded = self._load(await self._unit.read(reads.by_key(self.mapping, key)))
        return loaded[0] if loaded else None

    async def get_many(self, keys: Sequence[Any]) -> list[T]:
        """Entities for ``keys``, in that order, in at most one round trip."""
        known, to_read, deleted = self._split_known(keys)
        loaded: list[T] = []
        if to_read:
            loaded = self._load(await self._unit.read(reads.by_keys(self.mapping, to_read)))
        if deleted:
            raise EntityNotFoundError(self.mapping.name, deleted)
        return self._ordered(keys, loaded, known)

    async def exists(self, key: Any) -> bool:
        """Whether an entity with ``key`` exists (pending adds and deletes count)."""
        decided, entity = self._cached(key)
        if decided:
            return entity is not None
        return bool((await self._unit.read(reads.key_exists(self.mapping, key)))[0][0])

    async def list(
        self,
        *,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[T]:
        """All stored entities of this type, optionally ordered and paged."""
        return await self.find_by(order_by=order_by, limit=limit, offset=offset)

    async def find_by(
        self,
        *,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        **equals: Any,
    ) -> builtins.list[T]:
        """Stored entities whose fields equal the given values."""
        read = self._find_read(equals, {"order_by": order_by, "limit": limit, "offset": offset})
        return self._load(await self._unit.read(read))

    async def find_one_by(self, **equals: Any) -> T | None:
        """The first stored entity matching ``equals``, or None."""
        found = await self.find_by(limit=1, **equals)
        return found[0] if found else None

    async def count(self, **equals: Any) -> int:
        """How many stored entities match ``equals``."""
        self._state.check_open()
        return int((await self._unit.read(reads.count(self.mapping, equals)))[0][0])


class AsyncUnitOfWork:
    """The async unit of work: ``async with uow:`` commits on clean exit.

    Same semantics as ``UnitOfWork``; ``add`` and ``delete`` are plain calls,
    everything that talks to the server is awaited.
    """

    def __init__(
        self,
        graph: AsyncGraph,
        registry: Registry,
        *,
        hooks: Sequence[FlushHook] = (),
        read_timeout_ms: int | None = None,
        write_timeout_ms: int | None = None,
    ) -> None:
        self.graph = graph
        self.state = UnitState(registry, hooks)
        self._read_timeout = read_timeout_ms
        self._write_timeout = write_timeout_ms
        self._repositories: dict[type, AsyncRepository[Any]] = {}
        for name, (repo_class, entity_type) in declared_repositories(
            type(self), AsyncRepository
        ).items():
            repository = repo_class(self, registry.mapping_for(entity_type))
            self._repositories[entity_type] = repository
            setattr(self, name, repository)

    async def __aenter__(self) -> Self:
        self.state.check_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.state.closed:
            return
        try:
            if exc is None:
                await self.commit()
            elif self.state.rollback():
                exc.add_note(FLUSHED_NOTE)
        finally:
            self.state.close()

    @property
    def is_active(self) -> bool:
        """True until ``close()`` (or the end of the ``async with`` block)."""
        return not self.state.closed

    @property
    def has_pending_changes(self) -> bool:
        """Whether a commit would write anything."""
        self.state.check_open()
        return self.state.has_pending_changes()

    def repository(self, entity_type: type[T]) -> AsyncRepository[T]:
        """The repository of ``entity_type`` in this unit (created on first use)."""
        self.state.check_open()
        repository = self._repositories.get(entity_type)
        if repository is None:
            repository = AsyncRepository(self, self.state.registry.mapping_for(entity_type))
            self._repositories[entity_type] = repository
        return repository

    def add(self, entity: object) -> None:
        """Track a new entity of any mapped type; it is written at commit."""
        self.state.add(entity)

    def delete(self, entity: object) -> None:
        """Mark a tracked entity for deletion at commit."""
        self.state.delete(entity)

    async def get(self, entity_type: type[T], key: Any) -> T:
        """The entity of ``entity_type`` with ``key`` (raises ``EntityNotFoundError``)."""
        return await self.repository(entity_type).get(key)

    async def flush(self) -> None:
        """Write all pending changes in one atomic query and keep the unit open."""
        pending = self.state.plan_flush()
        if pending is None:
            return
        try:
            await self.graph.query(
                pending.plan.query, pending.plan.params, timeout=self._write_timeout
            )
        except redis_errors.ResponseError as exc:
            raise await self._drive(self.state.explain_failure(pending, str(exc))) from exc
        except CONNECTION_ERRORS as exc:
            raise commit_in_doubt(exc) from exc
        self.state.flushed(pending)

    async def commit(self) -> None:
        """Flush, and end the transaction scope."""
        await self.flush()
        self.state.commit_done()

    async def rollback(self) -> None:
        """Discard pending work (raises ``FlushedWorkError`` if flushed work remains stored)."""
        self.state.check_open()
        if self.state.rollback():
            raise FlushedWorkError(ROLLBACK_AFTER_FLUSH)

    async def close(self) -> None:
        """Discard pending work and end the unit."""
        self.state.close()

    async def read(self, read: Read) -> list[list[Any]]:
        """Run a read-only query and return its rows."""
        self.state.check_open()
        try:
            result = await self.graph.ro_query(read.query, read.params, timeout=self._read_timeout)
        except redis_errors.ResponseError as exc:
            if is_timeout(exc):
                raise read_failure(exc) from exc
            raise
        except CONNECTION_ERRORS as exc:
            raise read_failure(exc) from exc
        rows: list[list[Any]] = result.result_set
        return rows

    async def _drive(self, exchange: Exchange) -> PersistenceError:
        try:
            read = next(exchange)
            while True:
                read = exchange.send(await self.read(read))
        except StopIteration as done:
            error: PersistenceError = done.value
            return error


AsyncSession = AsyncUnitOfWork
"""The seed's name for the async unit of work."""

AsyncUnitOfWorkFactory = Callable[[], AsyncUnitOfWork]
