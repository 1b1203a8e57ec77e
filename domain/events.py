"""Domain events: facts an aggregate records when its state changes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID


@dataclass(frozen=True)
class DomainEvent:
    """Base of every domain event."""


@dataclass(frozen=True)
class PersonRegistered(DomainEvent):
    person_id: UUID
    name: str
    email: str


@dataclass(frozen=True)
class FriendshipStarted(DomainEvent):
    person_id: UUID
    friend_id: UUID


@dataclass(frozen=True)
class AccountOpened(DomainEvent):
    account_id: UUID
    owner_id: UUID
    currency: str


@dataclass(frozen=True)
class MoneyDeposited(DomainEvent):
    account_id: UUID
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class MoneyTransferred(DomainEvent):
    transfer_id: UUID
    source_id: UUID
    target_id: UUID
    amount: Decimal
    currency: str
