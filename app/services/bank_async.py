"""The example domain's use cases as transaction scripts (async).

Each method is one business transaction: it opens a unit of work from the
factory it was given, lets the domain objects decide, and commits on leaving
the ``with`` block. Read-modify-write use cases run through the retry
policy, which reruns the whole unit from fresh reads when its commit lost a
race. ``BankService`` is the same, line for line, without ``await``.
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


class AsyncBankService:
    """People, friendships, accounts and transfers.

    Args:
        uow_factory: opens the unit of work each use case runs in.
        retry: reruns a unit that lost an optimistic-concurrency race.

    Every method raises the repository's not-found error (a ``LookupError``)
    for an unknown id and ``domain.errors.DomainError`` when a rule refuses.
    """

    def __init__(
        self, uow_factory: ports.AsyncBankUnitOfWorkFactory, retry: ports.RetryPolicy | None = None
    ) -> None:
        self._uow = uow_factory
        self._retry: ports.RetryPolicy = retry or RunOnce()

    # -- people -------------------------------------------------------------------

    async def register_person(self, name: str, email: str, age: int | None = None) -> PersonView:
        person = Person.register(name, email, age)
        async with self._uow() as uow:
            uow.people.add(person)
        return PersonView.of(person)

    async def get_person(self, person_id: UUID) -> PersonView:
        async with self._uow() as uow:
            return PersonView.of(await uow.people.get(person_id))

    async def list_people(self, limit: int = 50, offset: int = 0) -> list[PersonView]:
        async with self._uow() as uow:
            people = await uow.people.list(order_by="name", limit=limit, offset=offset)
            return [PersonView.of(p) for p in people]

    # -- friendships --------------------------------------------------------------

    async def befriend(self, person_id: UUID, friend_id: UUID) -> FriendshipView:
        """Make two people friends.

        Raises:
            InvalidFriendship: both ids are the same person.
            AlreadyFriends: they are friends already (a concurrent ``befriend``
                of the same pair fails at commit with the duplicate-key error).
        """
        async with self._uow() as uow:
            person, friend = await uow.people.get_many([person_id, friend_id])
            friendship = Friendship.between(person, friend)
            if await uow.friendships.exists(friendship.id):
                raise AlreadyFriends(f"{person_id} and {friend_id} are friends already")
            uow.friendships.add(friendship)
        return FriendshipView.of(friendship, person_id)

    async def friends(self, person_id: UUID) -> list[PersonView]:
        async with self._uow() as uow:
            await uow.people.get(person_id)
            friends = await uow.people.get_many(await uow.friendships.friends_of(person_id))
            return [PersonView.of(p) for p in friends]

    async def recommend_friends(self, person_id: UUID, limit: int = 10) -> list[SuggestionView]:
        """Friends of friends, most mutual friends first (see ``suggest_friends``)."""
        async with self._uow() as uow:
            await uow.people.get(person_id)
            suggestions = await uow.friendships.suggestions(person_id, limit)
            people = await uow.people.get_many([s.person_id for s in suggestions])
            return [
                SuggestionView(PersonView.of(p), s.mutual_friends)
                for p, s in zip(people, suggestions, strict=True)
            ]

    # -- accounts -----------------------------------------------------------------

    async def open_account(self, owner_id: UUID, currency: str = "EUR") -> AccountView:
        async with self._uow() as uow:
            await uow.people.get(owner_id)
            account = Account.open(owner_id, currency)
            uow.accounts.add(account)
        return AccountView.of(account)

    async def get_account(self, account_id: UUID) -> AccountView:
        async with self._uow() as uow:
            return AccountView.of(await uow.accounts.get(account_id))

    async def deposit(
        self, account_id: UUID, amount: Decimal, currency: str = "EUR"
    ) -> AccountView:
        money = Money(amount, currency)

        async def attempt() -> AccountView:
            async with self._uow() as uow:
                account = await uow.accounts.get(account_id)
                account.deposit(money)
            return AccountView.of(account)

        return await self._retry.run_async(attempt)

    async def transfer(
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

        async def attempt() -> TransferView:
            async with self._uow() as uow:
                if transfer_id is not None:
                    existing = await uow.transfers.get_or_none(transfer_id)
                    if existing is not None:
                        return replayed(existing, source_id, target_id, money)
                source, target = await uow.accounts.get_many([source_id, target_id])
                transfer = Transfer.between(source, target, money, transfer_id)
                uow.transfers.add(transfer)
            return TransferView.of(transfer)

        return await self._retry.run_async(attempt)

    async def get_transfer(self, transfer_id: UUID) -> TransferView:
        async with self._uow() as uow:
            return TransferView.of(await uow.transfers.get(transfer_id))
