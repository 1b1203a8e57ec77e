"""What services return: plain, frozen views of entities, never the entities themselves.

A view is a snapshot taken inside the unit of work; changing it changes
nothing stored, and it stays valid after the unit has closed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from domain.errors import TransferIdReused
from domain.model import Account, Friendship, FriendSuggestion, Money, Person, Transfer


@dataclass(frozen=True)
class PersonView:
    id: UUID
    name: str
    email: str
    age: int | None

    @classmethod
    def of(cls, person: Person) -> PersonView:
        return cls(person.id, person.name, person.email, person.age)

    @classmethod
    def all(cls, people: Iterable[Person]) -> list[PersonView]:
        return [cls.of(p) for p in people]

    @classmethod
    def friends_of(cls, person: Person) -> list[PersonView]:
        """A person's friends, by name (then id)."""
        return sorted(cls.all(person.friends), key=lambda p: (p.name, str(p.id)))


@dataclass(frozen=True)
class AccountView:
    id: UUID
    owner_id: UUID
    balance: Decimal
    currency: str
    version: int

    @classmethod
    def of(cls, account: Account) -> AccountView:
        return cls(
            account.id,
            account.owner_id,
            Decimal(account.balance.formatted()),  # the currency's decimal places
            account.balance.currency,
            account.version,
        )

    @classmethod
    def all(cls, accounts: Iterable[Account]) -> list[AccountView]:
        return [cls.of(a) for a in accounts]


@dataclass(frozen=True)
class TransferView:
    id: UUID
    source_id: UUID
    target_id: UUID
    amount: Decimal
    currency: str
    at: datetime

    @classmethod
    def of(cls, transfer: Transfer) -> TransferView:
        return cls(
            transfer.id,
            transfer.source_id,
            transfer.target_id,
            Decimal(transfer.amount.formatted()),
            transfer.amount.currency,
            transfer.at,
        )


@dataclass(frozen=True)
class FriendshipView:
    person_id: UUID
    friend_id: UUID
    since: datetime

    @classmethod
    def of(cls, person: Person, friendship: Friendship) -> FriendshipView:
        return cls(person.id, friendship.friend.id, friendship.since)


@dataclass(frozen=True)
class SuggestionView:
    """A suggested friend and how many friends they share with the person asking."""

    person: PersonView
    mutual_friends: int

    @classmethod
    def all(cls, suggestions: Iterable[FriendSuggestion]) -> list[SuggestionView]:
        return [cls(PersonView.of(s.person), s.mutual_friends) for s in suggestions]


def replayed(existing: Transfer, source_id: UUID, target_id: UUID, amount: Money) -> TransferView:
    """The stored transfer when a transfer is asked again with its id.

    Raises:
        TransferIdReused: the stored transfer with this id moved other money.
    """
    if (existing.source_id, existing.target_id, existing.amount) != (source_id, target_id, amount):
        raise TransferIdReused(
            f"transfer {existing.id} exists already and moved {existing.amount} from "
            f"{existing.source_id} to {existing.target_id}; choose a new id for a new transfer"
        )
    return TransferView.of(existing)
