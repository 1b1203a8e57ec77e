"""In-memory fakes of the example domain's units of work, for service tests.

store = FakeStore()
service = BankService(lambda: FakeBankUnitOfWork(store, bank_registry()))
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING
from uuid import UUID

from domain import ports
from domain.friendship import Friendship, FriendSuggestion, suggest_friends
from domain.model import Account, Person, Transfer
from infrastructure.bank import AsyncBankUnitOfWork, BankUnitOfWork

from .repository import FakeAsyncRepository, FakeRepository, MemoryReads
from .unit_of_work import FakeAsyncUnitOfWork, FakeUnitOfWork


class _FriendshipMemoryReads(MemoryReads[Friendship]):
    # Stored friendships only, as the Cypher reads of the real repository see them.
    def _pairs(self) -> list[tuple[UUID, UUID]]:
        self._state.check_open()
        return [(f.person_id, f.friend_id) for f in self._store.entities(self.mapping)]

    def _memory_friends_of(self, person_id: UUID) -> builtins.list[UUID]:
        friends = {b if a == person_id else a for a, b in self._pairs() if person_id in (a, b)}
        return sorted(friends, key=str)

    def _memory_suggestions(self, person_id: UUID, limit: int) -> builtins.list[FriendSuggestion]:
        if type(limit) is not int or limit < 0:
            raise ValueError(f"limit must be a non-negative int, got {limit!r}")
        return suggest_friends(person_id, self._pairs(), limit)


class FakeFriendshipRepository(_FriendshipMemoryReads, FakeRepository[Friendship]):
    """The fake twin of ``FriendshipRepository``."""

    def friends_of(self, person_id: UUID) -> builtins.list[UUID]:
        return self._memory_friends_of(person_id)

    def suggestions(self, person_id: UUID, limit: int = 10) -> builtins.list[FriendSuggestion]:
        return self._memory_suggestions(person_id, limit)


class FakeAsyncFriendshipRepository(_FriendshipMemoryReads, FakeAsyncRepository[Friendship]):
    """The fake twin of ``AsyncFriendshipRepository``."""

    async def friends_of(self, person_id: UUID) -> builtins.list[UUID]:
        return self._memory_friends_of(person_id)

    async def suggestions(
        self, person_id: UUID, limit: int = 10
    ) -> builtins.list[FriendSuggestion]:
        return self._memory_suggestions(person_id, limit)


class FakeBankUnitOfWork(FakeUnitOfWork):
    """The fake twin of ``BankUnitOfWork``."""

    people: FakeRepository[Person]
    accounts: FakeRepository[Account]
    transfers: FakeRepository[Transfer]
    friendships: FakeFriendshipRepository


class FakeAsyncBankUnitOfWork(FakeAsyncUnitOfWork):
    """The fake twin of ``AsyncBankUnitOfWork``."""

    people: FakeAsyncRepository[Person]
    accounts: FakeAsyncRepository[Account]
    transfers: FakeAsyncRepository[Transfer]
    friendships: FakeAsyncFriendshipRepository


if TYPE_CHECKING:
    # Checked by mypy: the real units and their fakes fit the ports services depend on.
    def _fit_the_ports(
        real: BankUnitOfWork,
        fake: FakeBankUnitOfWork,
        real_async: AsyncBankUnitOfWork,
        fake_async: FakeAsyncBankUnitOfWork,
    ) -> tuple[
        ports.BankUnitOfWork,
        ports.BankUnitOfWork,
        ports.AsyncBankUnitOfWork,
        ports.AsyncBankUnitOfWork,
    ]:
        return real, fake, real_async, fake_async
