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
from domain.errors import EmailTaken
from domain.model import Account, Money, Person, Transfer

from .base import FRIENDSHIPS, ServiceBase
from .results import (
    AccountView,
    FriendshipView,
    PersonView,
    SuggestionView,
    TransferView,
    replayed,
)


class BankService(ServiceBase[ports.BankUnitOfWorkFactory]):
    __doc__ = ServiceBase.__doc__

    # -- people -------------------------------------------------------------------

    def register_person(self, name: str, email: str, age: int | None = None) -> PersonView:
        person = Person.register(name, email, age)
        with self._uow() as uow:
            if uow.people.find_one_by(email=person.email) is not None:
                raise EmailTaken(f"a person with email {person.email!r} is registered already")
            uow.people.add(person)
        return PersonView.of(person)

    def get_person(self, person_id: UUID) -> PersonView:
        with self._uow() as uow:
            return PersonView.of(uow.people.get(person_id))

    def list_people(self, limit: int = 50, offset: int = 0) -> list[PersonView]:
        with self._uow() as uow:
            return PersonView.all(uow.people.list(order_by="name", limit=limit, offset=offset))

    # -- friendships --------------------------------------------------------------

    def befriend(self, person_id: UUID, friend_id: UUID) -> FriendshipView:
        """Make two people friends (one FRIEND edge, held by ``person_id``).

        Raises:
            InvalidFriendship: both ids are the same person.
            AlreadyFriends: they are friends already, whoever asked first.
        """

        def attempt() -> FriendshipView:
            with self._uow() as uow:
                person, friend = uow.people.get_many([person_id, friend_id], load=FRIENDSHIPS)
                friendship = person.befriend(friend)
            return FriendshipView.of(person, friendship)

        return self._retry.run(attempt)

    def friends(self, person_id: UUID) -> list[PersonView]:
        """A person's friends, by name."""
        with self._uow() as uow:
            return PersonView.friends_of(uow.people.get(person_id, load=FRIENDSHIPS))

    def recommend_friends(self, person_id: UUID, limit: int = 10) -> list[SuggestionView]:
        """Friends of friends who are not friends yet, most mutual friends first."""
        with self._uow() as uow:
            uow.people.get(person_id)
            return SuggestionView.all(uow.people.friend_suggestions(person_id, limit))

    def path_between(self, person_id: UUID, other_id: UUID) -> list[PersonView]:
        """A shortest chain of friends from one person to the other, both included.

        Empty when they are not connected within six friendships.
        """
        with self._uow() as uow:
            uow.people.get_many([person_id, other_id])
            return PersonView.all(uow.people.shortest_path(person_id, other_id))

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

    def reachable_accounts(self, account_id: UUID) -> list[AccountView]:
        """Accounts money from this one reached through chains of up to six transfers, by id."""
        with self._uow() as uow:
            uow.accounts.get(account_id)
            return AccountView.all(uow.accounts.reachable_from(account_id))

    # -- transfers ----------------------------------------------------------------

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
