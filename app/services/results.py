"""What services return: plain, frozen views of entities, never the entities themselves.

A view is a snapshot taken inside the unit of work; changing it changes
nothing stored, and it stays valid after the unit has closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from domain.errors import TransferIdReused
from domain.friendship import Friendship
from domain.model import Account, Money, Person, Transfer


@dataclass(frozen=True)
class PersonView:
    id: UUID
    name: str
    email: str
    age: int | None

    @classmethod
    def of(cls, person: Person) -> PersonView:
        return cls(person.id, person.name, person.email, person.age)


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
            account.balance.amount,
            account.balance.currency,
            account.version,
        )


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
            transfer.amount.amount,
            transfer.amount.currency,
            transfer.at,
        )


@dataclass(frozen=True)
class FriendshipView:
    person_id: UUID
    friend_id: UUID
    since: datetime

    @classmethod
    def of(cls, friendship: Friendship, asked_by: UUID) -> FriendshipView:
        return cls(asked_by, friendship.other(asked_by), friendship.since)


@dataclass(frozen=True)
class SuggestionView:
    """A suggested friend and how many friends they share with the person asking."""

    person: PersonView
    mutual_friends: int


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
