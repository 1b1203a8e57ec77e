"""The example domain's use cases as transaction scripts (sync).

Each method is one business transaction: it opens a unit of work from the
factory it was given, lets the domain objects decide, and commits on leaving
the ``with`` block. Read-modify-write use cases run through the retry
policy, which reruns the whole unit from fresh reads when its commit lost a
race. ``AsyncBankService`` is the same, line for line, with ``await``.
"""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from domain import ports
from domain.errors import AlreadyFriends
from domain.friendship import Friendship
from domain.model import Account, Money, Person, Transfer

from .results import (
    AccountView,
    FriendshipView,
    PersonView,
    SuggestionView,
    TransferView,
    replayed,
)
from .retry import RunOnce


class BankService:
    """People, friendships, accounts and transfers.

    Args:
        uow_factory: opens the unit of work each use case runs in.
        retry: reruns a unit that lost an optimistic-concurrency race.

    Every method raises the repository's not-found error (a ``LookupError``)
    for an unknown id and ``domain.errors.DomainError`` when a rule refuses.
    """

    def __init__(
        self, uow_factory: ports.BankUnitOfWorkFactory, retry: ports.RetryPolicy | None = None
    ) -> None:
        self._uow = uow_factory
        self._retry: ports.RetryPolicy = retry or RunOnce()

    # -- people -------------------------------------------------------------------

    def register_person(self, name: str, email: str, age: int | None = None) -> PersonView:
        person = Person.register(name, email, age)
        with self._uow() as uow:
            uow.people.add(person)
        return PersonView.of(person)

    def get_person(self, person_id: UUID) -> PersonView:
        with self._uow() as uow:
            return PersonView.of(uow.people.get(person_id))

    def list_people(self, limit: int = 50, offset: int = 0) -> list[PersonView]:
        with self._uow() as uow:
            people = uow.people.list(order_by="name", limit=limit, offset=offset)
            return [PersonView.of(p) for p in people]

    # -- friendships --------------------------------------------------------------

    def befriend(self, person_id: UUID, friend_id: UUID) -> FriendshipView:
        """Make two people friends.

        Raises:
            InvalidFriendship: both ids are the same person.
            AlreadyFriends: they are friends already (a concurrent ``befriend``
                of the same pair fails at commit with the duplicate-key error).
        """
        with self._uow() as uow:
            person, friend = uow.people.get_many([person_id, friend_id])
            friendship = Friendship.between(person, friend)
            if uow.friendships.exists(friendship.id):
                raise AlreadyFriends(f"{person_id} and {friend_id} are friends already")
            uow.friendships.add(friendship)
        return FriendshipView.of(friendship, person_id)

    def friends(self, person_id: UUID) -> list[PersonView]:
        with self._uow() as uow:
            uow.people.get(person_id)
            friends = uow.people.get_many(uow.friendships.friends_of(person_id))
            return [PersonView.of(p) for p in friends]

    def recommend_friends(self, person_id: UUID, limit: int = 10) -> list[SuggestionView]:
        """Friends of friends, most mutual friends first (see ``suggest_friends``)."""
        with self._uow() as uow:
            uow.people.get(person_id)
            suggestions = uow.friendships.suggestions(person_id, limit)
            people = uow.people.get_many([s.person_id for s in suggestions])
            return [
                SuggestionView(PersonView.of(p), s.mutual_friends)
                for p, s in zip(people, suggestions, strict=True)
            ]

    # -- accounts -----------------------------------------------------------------

    def open_account(self, owner_id: UUID, currency: str = "EUR") -> AccountView:
        with self._uow() as uow:
            uow.people.get(owner_id)
            account = Account.open(owner_id, currency)
            uow.accounts.add(account)
        return AccountView.of(account)

    def get_account(self, account_id: UUID) -> AccountView:
        with self._uow() as uow:
            return AccountView.of(uow.accounts.get(account_id))

    def deposit(self, account_id: UUID, amount: Decimal, currency: str = "EUR") -> AccountView:
        money = Money(amount, currency)

        def attempt() -> AccountView:
            with self._uow() as uow:
                account = uow.accounts.get(account_id)
                account.deposit(money)
            return AccountView.of(account)

        return self._retry.run(attempt)

    def transfer(
        self,
        source_id: UUID,
        target_id: UUID,
        amount: Decimal,
        currency: str = "EUR",
        transfer_id: UUID | None = None,
    ) -> TransferView:
        """Move money between two accounts, atomically.

        A ``transfer_id`` makes the call idempotent: asked again with the same
        id and the same money, it returns the stored transfer and moves nothing.

        Raises:
            InsufficientFunds, CurrencyMismatch, InvalidAmount: the domain refused.
            TransferIdReused: the id belongs to a different transfer.
        """
        money = Money(amount, currency)

        def attempt() -> TransferView:
            with self._uow() as uow:
                if transfer_id is not None:
                    existing = uow.transfers.get_or_none(transfer_id)
                    if existing is not None:
                        return replayed(existing, source_id, target_id, money)
                source, target = uow.accounts.get_many([source_id, target_id])
                transfer = Transfer.between(source, target, money, transfer_id)
                uow.transfers.add(transfer)
            return TransferView.of(transfer)

        return self._retry.run(attempt)

    def get_transfer(self, transfer_id: UUID) -> TransferView:
        with self._uow() as uow:
            return TransferView.of(uow.transfers.get(transfer_id))
