"""The unit of work: ``with uow:`` commits on clean exit, rolls back on error.

``UnitOfWorkBase`` holds everything that sends nothing: repositories,
tracking, what a failed query means. ``UnitOfWork`` (here) and
``AsyncUnitOfWork`` (in ``aio``) add only the I/O, line for line the same
apart from ``await``; every other decision lives in ``UnitState``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, Self, TypeVar

from redis import exceptions as redis_errors

from . import detached
from .conversation import Conversation, Reader, drive
from .declared import declared_attribute, declared_repositories, declared_shadowed
from .diagnosis import explain
from .errors import (
    CommitNotReplicatedError,
    FlushedWorkError,
    PersistenceError,
    ReadOnlyQueryError,
)
from .failures import classify
from .mapping import EntityMapping, Registry
from .observe import observed
from .preview import CommitPreview, preview
from .reads import Read
from .repository import Repository, RepositoryBase
from .state import FlushHook, PendingFlush, UnitState
from .wire import CONNECTION_ERRORS, commit_failure, is_timeout, never_sent, read_failure

T = TypeVar("T")
GraphT = TypeVar("GraphT")
RepositoryT = TypeVar("RepositoryT", bound=RepositoryBase[Any])

FLUSHED_NOTE = (
    "work flushed in this unit before the error is already stored: each flush is its own "
    "atomic write (FalkorDB has no transaction spanning queries)"
)


ROLLBACK_AFTER_FLUSH = (
    "rollback discarded the pending changes, but work flushed earlier in this unit is already "
    "stored: flush writes for good. Commit instead of flushing when the work may still be "
    "abandoned."
)

#: What a failed commit query can raise; ``UnitOfWorkBase._write_failure`` explains each.
WRITE_ERRORS: tuple[type[BaseException], ...] = (redis_errors.ResponseError, *CONNECTION_ERRORS)


@contextmanager
def read_errors_translated() -> Iterator[None]:
    """Turn a failed read into ``QueryTimeoutError`` or ``DatabaseUnavailableError``.

    Other server errors (a query the server rejects) pass through unchanged.
    """
    try:
        yield
    except redis_errors.ResponseError as exc:
        if is_timeout(exc) or never_sent(exc):  # never_sent: CLUSTERDOWN
            raise read_failure(exc) from exc
        if "only on read-only queries" in str(exc):
            raise ReadOnlyQueryError(
                "this Cypher writes, and repository.query() runs reads only (nothing ran): "
                "change entities through the unit (add, remove, edit fields) so the commit "
                "writes them, or send writing Cypher on a graph handle outside the unit"
            ) from exc
        raise
    except CONNECTION_ERRORS as exc:
        raise read_failure(exc) from exc


class SyncGraph(Protocol):
    """What the unit needs of a graph handle (``falkordb.Graph`` fits)."""

    def query(
        self, q: str, params: dict[str, Any] | None = ..., timeout: int | None = ...
    ) -> Any: ...

    def ro_query(
        self, q: str, params: dict[str, Any] | None = ..., timeout: int | None = ...
    ) -> Any: ...


class UnitOfWorkBase(Generic[GraphT, RepositoryT]):
    """The I/O-free part of a unit of work, shared by ``UnitOfWork`` and ``AsyncUnitOfWork``."""

    #: The repository class this kind of unit serves (annotations must name a subclass).
    _repository_base: ClassVar[type[Any]]

    def __init__(
        self,
        graph: GraphT,
        registry: Registry,
        *,
        hooks: Sequence[FlushHook] = (),
        read_timeout_ms: int | None = None,
        write_timeout_ms: int | None = None,
    ) -> None:
        if not (
            callable(getattr(graph, "query", None)) and callable(getattr(graph, "ro_query", None))
        ):
            raise TypeError(
                "a unit of work works on ONE graph handle (with query and ro_query), "
                f"such as Database.graph(name); got {type(graph).__name__}"
            )
        self._graph = graph
        self.unit = UnitState(registry, hooks)
        self._read_timeout = read_timeout_ms
        self._write_timeout = write_timeout_ms
        self.unit.lazy_reader = self._lazy_reader()
        self.unit.who = self._caller
        # Declared repositories are made on first access (``__getattr__``): a unit
        # that uses one of them pays for one. An unmapped entity type is refused now.
        self._repositories: dict[type, RepositoryT] = {}
        for _, entity_type in declared_repositories(type(self), self._repository_base).values():
            registry.mapping_for(entity_type)
        # A class attribute of the same name (a default) would hide ``__getattr__``.
        for name in declared_shadowed(type(self), self._repository_base):
            self._declared_repository(name)

    if not TYPE_CHECKING:  # type checkers read the declared annotations themselves

        def __getattr__(self, name: str) -> Any:
            """A declared repository, made on first access and then kept as an attribute."""
            if name not in declared_repositories(type(self), self._repository_base):
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            return self._declared_repository(name)

    def _declared_repository(self, name: str) -> RepositoryT:
        repo_class, entity_type = declared_repositories(type(self), self._repository_base)[name]
        repository: RepositoryT = repo_class(self, self.unit.registry.mapping_for(entity_type))
        setattr(self, name, repository)
        if declared_attribute(type(self), self._repository_base, entity_type) == name:
            self._repositories[entity_type] = repository
        return repository

    def _lazy_reader(self) -> Reader | None:
        """How relationships load on attribute access: only a sync unit can."""
        return None

    @staticmethod
    def _caller() -> object:
        """Who is calling, to refuse a second thread (or task) inside the unit."""
        return threading.get_ident()

    @property
    def graph(self) -> GraphT:
        """The one graph this unit works on (atomicity ends at one graph)."""
        return self._graph

    @property
    def is_active(self) -> bool:
        """True until ``close()`` (or the end of the ``with`` block)."""
        return not self.unit.closed

    @property
    def has_pending_changes(self) -> bool:
        """Whether a commit would write anything (edits to loaded entities included)."""
        self.unit.check_open()
        return self.unit.has_pending_changes()

    def listen(
        self, event: str, handler: Callable[..., Any], *, entity: type | None = None
    ) -> None:
        """Run ``handler`` on this unit's ``event`` (see ``events``), after the hooks' handlers.

        ``entity`` limits ``before_insert``/``before_update``/``before_delete`` to one class.

        Raises:
            ValueError: an unknown event, or ``entity`` for an event not per entity.
            TypeError: ``handler`` is not callable.
        """
        self.unit.events.listen(event, handler, entity=entity)

    def add(self, entity: object) -> None:
        """Track a new entity of any mapped type; it is written at commit."""
        self.unit.add(entity)

    def delete(self, entity: object) -> None:
        """Mark a tracked entity for deletion at commit."""
        self.unit.delete(entity)

    def expunge(self, entity: object) -> None:
        """Stop tracking ``entity``: its pending edits are dropped, it becomes a plain object.

        Raises:
            NotTrackedError: this unit does not track it.
        """
        detached.expunge(self.unit, entity)

    def _repository_of(self, entity_type: type) -> RepositoryT:
        self.unit.check_open()
        repository = self._repositories.get(entity_type)
        if repository is None:
            name = declared_attribute(type(self), self._repository_base, entity_type)
            if name is not None:
                found: RepositoryT = getattr(self, name)
                return found
            mapping: EntityMapping[Any] = self.unit.registry.mapping_for(entity_type)
            repository = self._repository_base(self, mapping)
            self._repositories[entity_type] = repository
        return repository

    def _abandon(self, exc: BaseException) -> None:
        """Leaving the block on ``exc``: discard pending work, say if flushed work stays."""
        if self.unit.rollback():
            exc.add_note(FLUSHED_NOTE)

    def _rollback(self) -> None:
        self.unit.check_open()
        if self.unit.rollback():
            raise FlushedWorkError(ROLLBACK_AFTER_FLUSH)

    def _write_failure(
        self, pending: PendingFlush, exc: BaseException
    ) -> Conversation[PersistenceError]:
        """The error a failed commit query stands for (reading what explains it)."""
        if isinstance(exc, redis_errors.ResponseError) and not never_sent(exc):
            return (yield from explain(pending.plan, classify(exc), self._write_timeout))
        return commit_failure(exc)


class UnitOfWork(UnitOfWorkBase[SyncGraph, Repository[Any]]):
    """One unit of work on one graph: identity map, change tracking, atomic commit.

    Declare typed repositories as annotations on a subclass; each becomes an
    attribute sharing this unit's identity map::

        class BankUnitOfWork(UnitOfWork):
            people: Repository[Person]

    ``commit`` (and a clean exit from ``with``) writes every tracked change in
    ONE atomic query; a failure writes nothing. ``flush`` does the same and
    keeps the unit open: the flushed work is stored for good, so a later
    ``rollback`` cannot undo it and says so by raising ``FlushedWorkError``.
    """

    _repository_base = Repository

    def _lazy_reader(self) -> Reader | None:
        return self.read

    def __enter__(self) -> Self:
        self.unit.check_open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.unit.closed:
            return
        try:
            if exc is None:
                self.commit()
            else:
                self._abandon(exc)
        finally:
            self.unit.close()

    def repository(self, entity_type: type[T]) -> Repository[T]:
        """The repository of ``entity_type`` in this unit (created on first use)."""
        return self._repository_of(entity_type)

    def get(self, entity_type: type[T], key: Any) -> T:
        """The entity of ``entity_type`` with ``key`` (raises ``EntityNotFoundError``)."""
        return self.repository(entity_type).get(key)

    def merge(self, entity: T) -> T:
        """The tracked entity with ``entity``'s key, given ``entity``'s stored fields.

        For objects from a closed unit, a cache or a request body: the unit loads
        the stored entity (or uses the one it tracks), copies the fields of
        ``entity`` onto it and returns it; ``entity`` stays untracked. A key
        stored nowhere is added as a new entity (a copy). A versioned
        ``entity`` that went stale fails the commit with ``ConcurrencyError``.
        Relationships are not copied.
        """
        return drive(detached.merge(self.unit, entity), self.read)

    def refresh(self, entity: object) -> None:
        """Reload a tracked entity from the server, discarding its pending edits.

        Raises:
            NotTrackedError: this unit does not track it.
            EntityNotFoundError: it is no longer stored.
        """
        drive(detached.refresh(self.unit, entity), self.read)

    def flush(self) -> None:
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
            pending = drive(self.unit.prepare_flush(), self.read)
            if pending is None:
                return
            plan = pending.plan
            try:
                with observed(
                    "commit", plan.query, plan.params, self.graph, len(pending.changes)
                ) as seen:
                    reply = seen.result(
                        self.graph.query(plan.query, plan.params, timeout=self._write_timeout)
                    )
            except CommitNotReplicatedError:
                self.unit.flushed(pending)  # applied on the primary: the unit holds what it wrote
                raise
            except WRITE_ERRORS as exc:
                raise drive(self._write_failure(pending, exc), self.read) from exc
            self.unit.flushed(pending, getattr(reply, "result_set", None))
        finally:
            self.unit.leave(previous)

    def commit(self) -> None:
        """Flush, and end the transaction scope: a later rollback has nothing to undo."""
        self.flush()
        self.unit.commit_done()

    def plan(self) -> CommitPreview | None:
        """What a commit would send now (text, parameters, counts, guards), sent nowhere.

        Runs what a flush runs before sending (``before_flush`` and the
        per-entity handlers, cascade reads), so the preview is the query the
        next commit sends unless the unit changes in between. None when a
        commit would write nothing.
        """
        pending = drive(self.unit.prepare_flush(), self.read)
        return None if pending is None else preview(pending.plan, pending.changes)

    def rollback(self) -> None:
        """Discard pending work and restore loaded entities to their stored state.

        Raises:
            FlushedWorkError: work flushed since the last commit is already
                stored and was not undone (everything else was discarded).
        """
        self._rollback()

    def close(self) -> None:
        """Discard pending work and end the unit; any later use raises ``UnitClosedError``."""
        self.unit.close()

    def read(self, read: Read) -> list[list[Any]]:
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
                    self.graph.ro_query(read.query, read.params, timeout=self._read_timeout)
                )
        finally:
            self.unit.leave(previous)
        rows: list[list[Any]] = result.result_set
        return rows


Session = UnitOfWork
"""The unit of work under its other name (``Session``): the same class."""

UnitOfWorkFactory = Callable[[], UnitOfWork]

__all__ = ["Session", "SyncGraph", "UnitOfWork", "UnitOfWorkBase", "UnitOfWorkFactory"]
