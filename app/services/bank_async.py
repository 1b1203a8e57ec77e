"""The example domain's use cases as transaction scripts (async).

``BankService`` with ``await`` where a unit of work talks to the server, and
nothing else: ``tests/twins.py`` compares the two, and the methods take their
documentation from ``BankService``.
"""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from domain import ports
from domain.errors import EmailTaken
from domain.model import Account, Money, Person, Transfer

from .bank import BankService
from .base import FRIENDSHIPS, ServiceBase, documented_by
from .results import (
    AccountView,
    FriendshipView,
    PersonView,
    SuggestionView,
    TransferView,
    replayed,
)


@documented_by(BankService)
class AsyncBankService(ServiceBase[ports.AsyncBankUnitOfWorkFactory]):
    __doc__ = ServiceBase.__doc__

    # -- people -------------------------------------------------------------------

    async def register_person(self, name: str, email: str, age: int | None = None) -> PersonView:
        person = Person.register(name, email, age)
        async with self._uow() as uow:
            if await uow.people.find_one_by(email=person.email) is not None:
                raise EmailTaken(f"a person with email {person.email!r} is registered already")
            uow.people.add(person)
        return PersonView.of(person)

    async def get_person(self, person_id: UUID) -> PersonView:
        async with self._uow() as uow:
            return PersonView.of(await uow.people.get(person_id))

    async def list_people(self, limit: int = 50, offset: int = 0) -> list[PersonView]:
        async with self._uow() as uow:
            return PersonView.all(
                await uow.people.list(order_by="name", limit=limit, offset=offset)
            )

    # -- friendships --------------------------------------------------------------

    async def befriend(self, person_id: UUID, friend_id: UUID) -> FriendshipView:
        async def attempt() -> FriendshipView:
            async with self._uow() as uow:
                person, friend = await uow.people.get_many([person_id, friend_id], load=FRIENDSHIPS)
                friendship = person.befriend(friend)
            return FriendshipView.of(person, friendship)

        return await self._retry.run_async(attempt)

    async def friends(self, person_id: UUID) -> list[PersonView]:
        async with self._uow() as uow:
            return PersonView.friends_of(await uow.people.get(person_id, load=FRIENDSHIPS))

    async def recommend_friends(self, person_id: UUID, limit: int = 10) -> list[SuggestionView]:
        async with self._uow() as uow:
            await uow.people.get(person_id)
            return SuggestionView.all(await uow.people.friend_suggestions(person_id, limit))

    async def path_between(self, person_id: UUID, other_id: UUID) -> list[PersonView]:
        async with self._uow() as uow:
            await uow.people.get_many([person_id, other_id])
            return PersonView.all(await uow.people.shortest_path(person_id, other_id))

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

    async def reachable_accounts(self, account_id: UUID) -> list[AccountView]:
        async with self._uow() as uow:
            await uow.accounts.get(account_id)
            return AccountView.all(await uow.accounts.reachable_from(account_id))

    # -- transfers ----------------------------------------------------------------

    async def transfer(
        self,
        source_id: UUID,
        target_id: UUID,
        amount: Decimal,
        currency: str = "EUR",
        transfer_id: UUID | None = None,
    ) -> TransferView:
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
