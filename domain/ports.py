"""The ports services depend on: repositories, units of work, the retry policy.

Services import only these protocols; infrastructure provides what fits them
(the FalkorDB units and repositories, and the in-memory fakes with the same
behaviour). Sync and async ports differ only in what is awaited: reads,
``flush``, ``commit``, ``rollback`` and ``close``. ``add`` and ``remove`` only
record intent and are plain calls in both.
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar
from uuid import UUID

from .model import Account, FriendSuggestion, Person, Transfer

T = TypeVar("T")
R = TypeVar("R")


class Repository(Protocol[T]):
    """Entities of one type, seen through one unit of work (one object per key)."""

    def get(self, key: Any, *, load: Sequence[str] = ()) -> T:
        """The entity with ``key``; raises a ``LookupError`` naming it when there is none.

        ``load`` names relationships to fetch with it (``load=["friendships"]``).
        """
        ...

    def get_or_none(self, key: Any, *, load: Sequence[str] = ()) -> T | None: ...

    def get_many(self, keys: Sequence[Any], *, load: Sequence[str] = ()) -> builtins.list[T]:
        """Entities in the order of ``keys``; raises a ``LookupError`` naming missing keys."""
        ...

    def exists(self, key: Any) -> bool: ...

    def find_by(
        self,
        *,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        **equals: Any,
    ) -> builtins.list[T]:
        """Stored entities whose fields equal ``equals``; ``"-field"`` orders descending."""
        ...

    def find_one_by(self, **equals: Any) -> T | None: ...

    def list(
        self,
        *,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> builtins.list[T]: ...

    def count(self, **equals: Any) -> int: ...

    def add(self, entity: T) -> None:
        """Track a new entity; it is written when the unit commits."""
        ...

    def remove(self, entity: T) -> None:
        """Delete a tracked entity when the unit commits."""
        ...


class AsyncRepository(Protocol[T]):
    """The async twin of ``Repository``: reads are awaited."""

    async def get(self, key: Any, *, load: Sequence[str] = ()) -> T: ...

    async def get_or_none(self, key: Any, *, load: Sequence[str] = ()) -> T | None: ...

    async def get_many(
        self, keys: Sequence[Any], *, load: Sequence[str] = ()
    ) -> builtins.list[T]: ...

    async def exists(self, key: Any) -> bool: ...

    async def find_by(
        self,
        *,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        **equals: Any,
    ) -> builtins.list[T]: ...

    async def find_one_by(self, **equals: Any) -> T | None: ...

    async def list(
        self,
        *,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> builtins.list[T]: ...

    async def count(self, **equals: Any) -> int: ...

    def add(self, entity: T) -> None: ...

    def remove(self, entity: T) -> None: ...


class PersonRepository(Repository[Person], Protocol):
    """People, with the graph reads that answer who knows whom."""

    def friend_suggestions(
        self, person_id: UUID, limit: int = 10
    ) -> builtins.list[FriendSuggestion]:
        """Friends of friends who are not friends yet: most mutual friends first, then by id."""
        ...

    def shortest_path(
        self, person_id: UUID, other_id: UUID, max_hops: int = 6
    ) -> builtins.list[Person]:
        """People on a shortest chain of friendships from one to the other, both included.

        Empty when they are not connected within ``max_hops`` friendships.
        """
        ...


class AsyncPersonRepository(AsyncRepository[Person], Protocol):
    async def friend_suggestions(
        self, person_id: UUID, limit: int = 10
    ) -> builtins.list[FriendSuggestion]: ...

    async def shortest_path(
        self, person_id: UUID, other_id: UUID, max_hops: int = 6
    ) -> builtins.list[Person]: ...


class AccountRepository(Repository[Account], Protocol):
    """Accounts, with the read that follows money through transfers."""

    def reachable_from(self, account_id: UUID, max_transfers: int = 6) -> builtins.list[Account]:
        """Accounts money from ``account_id`` reached in up to ``max_transfers`` transfers, by id."""
        ...


class AsyncAccountRepository(AsyncRepository[Account], Protocol):
    async def reachable_from(
        self, account_id: UUID, max_transfers: int = 6
    ) -> builtins.list[Account]: ...


class Tracking(Protocol):
    """What sync and async units share: tracking entities, which sends nothing."""

    @property
    def is_active(self) -> bool: ...

    @property
    def has_pending_changes(self) -> bool: ...

    def add(self, entity: object) -> None: ...

    def delete(self, entity: object) -> None: ...


class UnitOfWork(Tracking, Protocol):
    """One business transaction: ``with uow:`` commits on a clean exit, rolls back on error.

    Everything tracked is written atomically at commit; a commit that lost a
    race against another unit writes nothing and raises (the error the
    ``RetryPolicy`` recognises).
    """

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def flush(self) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def close(self) -> None: ...


class AsyncUnitOfWork(Tracking, Protocol):
    """The async twin of ``UnitOfWork``: ``async with uow:``."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def flush(self) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def close(self) -> None: ...


class BankUnitOfWork(UnitOfWork, Protocol):
    """The unit of work of the example domain."""

    @property
    def people(self) -> PersonRepository: ...

    @property
    def accounts(self) -> AccountRepository: ...

    @property
    def transfers(self) -> Repository[Transfer]: ...


class AsyncBankUnitOfWork(AsyncUnitOfWork, Protocol):
    """The async unit of work of the example domain."""

    @property
    def people(self) -> AsyncPersonRepository: ...

    @property
    def accounts(self) -> AsyncAccountRepository: ...

    @property
    def transfers(self) -> AsyncRepository[Transfer]: ...


BankUnitOfWorkFactory = Callable[[], BankUnitOfWork]
"""Opens a new unit (or, inside a web request, the request's current one)."""

AsyncBankUnitOfWorkFactory = Callable[[], AsyncBankUnitOfWork]


class RetryPolicy(Protocol):
    """Reruns a whole unit of work when its commit lost an optimistic-concurrency race.

    ``work`` opens its own unit and reads afresh, so every attempt decides on
    current data. Any other error, and the last conflict, propagate.
    """

    def run(self, work: Callable[[], R]) -> R: ...

    async def run_async(self, work: Callable[[], Awaitable[R]]) -> R: ...
