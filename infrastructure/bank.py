"""Persistence of the example domain: its mappings and its units of work."""

from __future__ import annotations

from domain.friendship import Friendship
from domain.model import Account, Person, Transfer

from .friendships import AsyncFriendshipRepository, FriendshipRepository
from .persistence import (
    AsyncRepository,
    AsyncUnitOfWork,
    Registry,
    Repository,
    UnitOfWork,
)


def bank_registry() -> Registry:
    """The mappings of the example domain (a new registry each call)."""
    registry = Registry()
    registry.map(Person, key="id", version="version", exclude=["events"])
    registry.map(Account, key="id", version="version", exclude=["events"])
    registry.map(Transfer, key="id", exclude=["events"])
    # Range indexes serve the friendship reads, which look pairs up by either id.
    registry.map(Friendship, key="id", exclude=["events"], indexes=["person_id", "friend_id"])
    return registry


class BankUnitOfWork(UnitOfWork):
    people: Repository[Person]
    accounts: Repository[Account]
    transfers: Repository[Transfer]
    friendships: FriendshipRepository


class AsyncBankUnitOfWork(AsyncUnitOfWork):
    people: AsyncRepository[Person]
    accounts: AsyncRepository[Account]
    transfers: AsyncRepository[Transfer]
    friendships: AsyncFriendshipRepository
