"""The sync unit of work: ``with uow:`` commits on clean exit, rolls back on error.

All decisions live in ``UnitState``; this class only performs the I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

from redis import exceptions as redis_errors

from .declared import declared_repositories
from .errors import FlushedWorkError, PersistenceError
from .mapping import Registry
from .reads import Read
from .repository import Repository
from .state import Exchange, FlushHook, UnitState
from .wire import CONNECTION_ERRORS, commit_in_doubt, is_timeout, read_failure

T = TypeVar("T")

FLUSHED_NOTE = (
    "work flushed in this unit before the error is already stored: each flush is its own "
    "atomic write (FalkorDB has no transaction spanning queries)"
)


ROLLBACK_AFTER_FLUSH = (
    "rollback discarded the pending changes, but work flushed earlier in this unit is already "
    "stored: flush writes for good. Commit instead of flushing when the work may still be "
    "abandoned."
)


class SyncGraph(Protocol):
    """What the unit needs of a graph handle (``falkordb.Graph`` fits)."""

    def query(
        self, q: str, params: dict[str, Any] | None = ..., timeout: int | None = ...
    ) -> Any: ...

    def ro_query(
        self, q: str, params: dict[str, Any] | None = ..., timeout: int | None = ...
    ) -> Any: ...


class UnitOfWork:
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

    def __init__(
        self,
        graph: SyncGraph,
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
        self._repositories: dict[type, Repository[Any]] = {}
        for name, (repo_class, entity_type) in declared_repositories(
            type(self), Repository
        ).items():
            repository = repo_class(self, registry.mapping_for(entity_type))
            self._repositories[entity_type] = repository
            setattr(self, name, repository)

    # -- context ------------------------------------------------------------

    def __enter__(self) -> Self:
        self.state.check_open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.state.closed:
            return
        try:
            if exc is None:
                self.commit()
            elif self.state.rollback():
                exc.add_note(FLUSHED_NOTE)
        finally:
            self.state.close()

    # -- the seed's session API ----------------------------------------------

    @property
    def is_active(self) -> bool:
        """True until ``close()`` (or the end of the ``with`` block)."""
        return not self.state.closed

    @property
    def has_pending_changes(self) -> bool:
        """Whether a commit would write anything (edits to loaded entities included)."""
        self.state.check_open()
        return self.state.has_pending_changes()

    def repository(self, entity_type: type[T]) -> Repository[T]:
        """The repository of ``entity_type`` in this unit (created on first use)."""
        self.state.check_open()
        repository = self._repositories.get(entity_type)
        if repository is None:
            repository = Repository(self, self.state.registry.mapping_for(entity_type))
            self._repositories[entity_type] = repository
        return repository

    def add(self, entity: object) -> None:
        """Track a new entity of any mapped type; it is written at commit."""
        self.state.add(entity)

    def delete(self, entity: object) -> None:
        """Mark a tracked entity for deletion at commit."""
        self.state.delete(entity)

    def get(self, entity_type: type[T], key: Any) -> T:
        """The entity of ``entity_type`` with ``key`` (raises ``EntityNotFoundError``)."""
        return self.repository(entity_type).get(key)

    def flush(self) -> None:
        """Write all pending changes in one atomic query and keep the unit open.

        Raises:
            ConcurrencyError: a versioned entity changed since it was loaded.
            DuplicateKeyError: a new entity's key exists already.
            CommitOutcomeUnknownError: the connection dropped mid-commit.
            ValueEncodingError: a value cannot be stored (nothing was sent).
        """
        pending = self.state.plan_flush()
        if pending is None:
            return
        try:
            self.graph.query(pending.plan.query, pending.plan.params, timeout=self._write_timeout)
        except redis_errors.ResponseError as exc:
            raise self._drive(self.state.explain_failure(pending, str(exc))) from exc
        except CONNECTION_ERRORS as exc:
            raise commit_in_doubt(exc) from exc
        self.state.flushed(pending)

    def commit(self) -> None:
        """Flush, and end the transaction scope: a later rollback has nothing to undo."""
        self.flush()
        self.state.commit_done()

    def rollback(self) -> None:
        """Discard pending work and restore loaded entities to their stored state.

        Raises:
            FlushedWorkError: work flushed since the last commit is already
                stored and was not undone (everything else was discarded).
        """
        self.state.check_open()
        if self.state.rollback():
            raise FlushedWorkError(ROLLBACK_AFTER_FLUSH)

    def close(self) -> None:
        """Discard pending work and end the unit; any later use raises ``UnitClosedError``."""
        self.state.close()

    # -- I/O ----------------------------------------------------------------

    def read(self, read: Read) -> list[list[Any]]:
        """Run a read-only query and return its rows."""
        self.state.check_open()
        try:
            result = self.graph.ro_query(read.query, read.params, timeout=self._read_timeout)
        except redis_errors.ResponseError as exc:
            if is_timeout(exc):
                raise read_failure(exc) from exc
            raise
        except CONNECTION_ERRORS as exc:
            raise read_failure(exc) from exc
        rows: list[list[Any]] = result.result_set
        return rows

    def _drive(self, exchange: Exchange) -> PersistenceError:
        try:
            read = next(exchange)
            while True:
                read = exchange.send(self.read(read))
        except StopIteration as done:
            error: PersistenceError = done.value
            return error


Session = UnitOfWork
"""The seed's name for the unit of work."""

UnitOfWorkFactory = Callable[[], UnitOfWork]

__all__ = ["Session", "SyncGraph", "UnitOfWork", "UnitOfWorkFactory"]
