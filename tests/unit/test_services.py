"""The use cases on the in-memory fakes: sync and async services, one body per test."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from uuid import uuid4

import pytest
from dependency_injector import providers

from app.container import ConflictRetry, create_container
from app.services import AsyncBankService, BankService, PersonView
from app.settings import Settings
from domain.errors import (
    AlreadyFriends,
    CurrencyMismatch,
    InsufficientFunds,
    InvalidAmount,
    InvalidFriendship,
    InvalidPerson,
    TransferIdReused,
)
from domain.events import FriendshipStarted
from domain.model import Money, Person
from infrastructure.bank import bank_registry
from infrastructure.bank.fakes import FakeAsyncBankUnitOfWork, FakeBankUnitOfWork
from infrastructure.fakes import FakeStore
from infrastructure.persistence import ConcurrencyError, EntityNotFoundError
from tests.units import settled

REGISTRY = bank_registry()


class Harness:
    """A service of either flavour on one fake store, and the units it opened."""

    def __init__(self, flavour: str, hooks=(), retry=None) -> None:
        self.store = FakeStore()
        self.units: list = []
        self.is_async = flavour == "async"
        unit_class = FakeAsyncBankUnitOfWork if self.is_async else FakeBankUnitOfWork

        def open_unit():
            unit = unit_class(self.store, REGISTRY, hooks=hooks)
            self.units.append(unit)
            return unit

        service_class = AsyncBankService if self.is_async else BankService
        self.service = service_class(open_unit, retry if retry is not None else ConflictRetry(5))

    async def __call__(self, method: str, *args, **kwargs):
        return await settled(getattr(self.service, method)(*args, **kwargs))

    def stored(self, entity_type, key):
        with FakeBankUnitOfWork(self.store, REGISTRY) as uow:
            return uow.repository(entity_type).get_or_none(key)

    def friendships_held(self, person_id) -> list:
        """(friend id, since) of the FRIEND edges ``person_id`` holds (loaded lazily)."""
        with FakeBankUnitOfWork(self.store, REGISTRY) as uow:
            return [(f.friend.id, f.since) for f in uow.people.get(person_id).friendships]


@pytest.fixture(params=["sync", "async"])
def run(request) -> Harness:
    return Harness(request.param)


async def person(run, name="Ann"):
    return await run("register_person", name, f"{name.lower()}@example.com")


async def funded_account(run, amount="100", currency="EUR", owner=None):
    owner = owner or await person(run, f"Owner{uuid4().hex[:6]}")
    account = await run("open_account", owner.id, currency)
    if Decimal(amount):
        account = await run("deposit", account.id, Decimal(amount), currency)
    return account


async def test_register_and_read_back_a_person(run):
    ann = await run("register_person", "Ann", "ann@example.com", 41)
    assert ann == PersonView(ann.id, "Ann", "ann@example.com", 41)
    assert await run("get_person", ann.id) == ann
    assert all(u.committed and not u.is_active for u in run.units)


async def test_results_are_frozen_views_not_entities(run):
    ann = await person(run)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ann.name = "Changed"  # type: ignore[misc]
    assert (await run("get_person", ann.id)).name == "Ann"


async def test_an_invalid_person_is_refused_and_nothing_stored(run):
    with pytest.raises(InvalidPerson, match="email"):
        await run("register_person", "Ann", "not-an-email")
    assert run.store.commits == 0


async def test_unknown_ids_raise_a_lookup_error_naming_them(run):
    missing = uuid4()
    methods = ("get_person", "get_account", "get_transfer", "friends", "recommend_friends")
    for method in (*methods, "reachable_accounts"):
        with pytest.raises(EntityNotFoundError) as caught:
            await run(method, missing)
        assert isinstance(caught.value, LookupError)
        assert caught.value.keys == [missing]
    with pytest.raises(EntityNotFoundError, match="Person"):
        await run("open_account", missing)
    ann = await person(run)
    for pair in ((missing, ann.id), (ann.id, missing)):
        with pytest.raises(EntityNotFoundError) as caught:
            await run("path_between", *pair)
        assert caught.value.keys == [missing]
    assert run.store.commits == 1


async def test_people_are_listed_by_name_a_page_at_a_time(run):
    for name in ("Cid", "Ann", "Ben"):
        await person(run, name)
    assert [p.name for p in await run("list_people")] == ["Ann", "Ben", "Cid"]
    assert [p.name for p in await run("list_people", limit=1, offset=1)] == ["Ben"]


async def test_deposit_adds_to_the_balance(run):
    account = await funded_account(run, "0")
    after = await run("deposit", account.id, Decimal("12.50"))
    assert (after.balance, after.currency, after.version) == (Decimal("12.50"), "EUR", 2)
    with pytest.raises(InvalidAmount):
        await run("deposit", account.id, Decimal("-1"))
    with pytest.raises(CurrencyMismatch):
        await run("deposit", account.id, Decimal("1"), "USD")
    assert (await run("get_account", account.id)).balance == Decimal("12.50")


async def test_transfer_moves_money_atomically(run):
    source, target = await funded_account(run, "100"), await funded_account(run, "5")
    done = await run("transfer", source.id, target.id, Decimal("30.25"))
    assert (done.amount, done.currency) == (Decimal("30.25"), "EUR")
    assert (await run("get_account", source.id)).balance == Decimal("69.75")
    assert (await run("get_account", target.id)).balance == Decimal("35.25")
    assert await run("get_transfer", done.id) == done


async def test_a_refused_transfer_writes_nothing(run):
    source, target = await funded_account(run, "10"), await funded_account(run, "0")
    pounds = await funded_account(run, "10", "GBP")
    commits = run.store.commits
    with pytest.raises(InsufficientFunds):
        await run("transfer", source.id, target.id, Decimal("10.01"))
    with pytest.raises(CurrencyMismatch):
        await run("transfer", source.id, pounds.id, Decimal("1"))
    with pytest.raises(InvalidAmount, match="same account"):
        await run("transfer", source.id, source.id, Decimal("1"))
    with pytest.raises(EntityNotFoundError):
        await run("transfer", source.id, uuid4(), Decimal("1"))
    assert run.store.commits == commits
    assert (await run("get_account", source.id)).balance == Decimal("10")


async def test_a_transfer_id_makes_a_transfer_happen_once(run):
    source, target = await funded_account(run, "100"), await funded_account(run, "0")
    chosen = uuid4()
    first = await run("transfer", source.id, target.id, Decimal("40"), transfer_id=chosen)
    again = await run("transfer", source.id, target.id, Decimal("40"), transfer_id=chosen)
    assert again == first
    assert (await run("get_account", source.id)).balance == Decimal("60")
    with pytest.raises(TransferIdReused, match=str(chosen)):
        await run("transfer", source.id, target.id, Decimal("41"), transfer_id=chosen)


class Interferer:
    """A flush hook that commits a competing deposit before the first ``times`` commits."""

    def __init__(self, store: FakeStore, account_id, times: int) -> None:
        self.store, self.account_id, self.left = store, account_id, times

    def before_flush(self, unit) -> None:
        if self.left and any(
            getattr(e, "id", None) == self.account_id for e in unit.tracked_entities()
        ):
            self.left -= 1
            with FakeBankUnitOfWork(self.store, REGISTRY) as rival:
                rival.accounts.get(self.account_id).deposit(Money.of("1000"))

    def after_flush(self, unit, pending) -> None:
        pass


def service_with_hook(setup: Harness, hook, retry=None):
    unit_class = FakeAsyncBankUnitOfWork if setup.is_async else FakeBankUnitOfWork
    service_class = AsyncBankService if setup.is_async else BankService
    return service_class(lambda: unit_class(setup.store, REGISTRY, hooks=[hook]), retry)


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_a_transfer_that_loses_a_race_is_rerun_from_fresh_reads(flavour):
    setup = Harness(flavour)
    source, target = await funded_account(setup, "50"), await funded_account(setup, "0")
    hook = Interferer(setup.store, source.id, times=2)
    racing = service_with_hook(setup, hook, ConflictRetry(5))
    await settled(racing.transfer(source.id, target.id, Decimal("20")))
    # Both rival deposits and the transfer landed; none was lost or doubled.
    assert hook.left == 0
    assert (await setup("get_account", source.id)).balance == Decimal("2030")
    assert (await setup("get_account", target.id)).balance == Decimal("20")


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_without_a_retry_policy_a_lost_race_reaches_the_caller(flavour):
    setup = Harness(flavour)
    account = await funded_account(setup, "50")
    hook = Interferer(setup.store, account.id, times=1)
    service = service_with_hook(setup, hook)
    with pytest.raises(ConcurrencyError) as caught:
        await settled(service.deposit(account.id, Decimal("1")))
    assert caught.value.stale == [("Account", account.id)]
    assert (await setup("get_account", account.id)).balance == Decimal("1050")


async def test_befriend_once_either_way_round(run):
    ann, ben = await person(run, "Ann"), await person(run, "Ben")
    made = await run("befriend", ann.id, ben.id)
    assert (made.person_id, made.friend_id) == (ann.id, ben.id)
    assert run.friendships_held(ann.id) == [(ben.id, made.since)]
    assert run.friendships_held(ben.id) == [(ann.id, made.since)]  # one edge, seen from both
    commits = run.store.commits
    with pytest.raises(AlreadyFriends):
        await run("befriend", ben.id, ann.id)
    with pytest.raises(AlreadyFriends):
        await run("befriend", ann.id, ben.id)
    with pytest.raises(InvalidFriendship):
        await run("befriend", ann.id, ann.id)
    with pytest.raises(EntityNotFoundError):
        await run("befriend", ann.id, uuid4())
    assert run.store.commits == commits
    assert [p.name for p in await run("friends", ben.id)] == ["Ann"]


class EventRecorder:
    """A flush hook that notes the events of the entities each flush writes."""

    def __init__(self) -> None:
        self.seen: list = []

    def before_flush(self, unit) -> None:
        self.seen.extend(e for entity in unit.tracked_entities() for e in entity.events)

    def after_flush(self, unit, pending) -> None:
        pass

    def after_rollback(self, unit) -> None:
        pass


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_befriending_moves_the_askers_version_and_records_the_event(flavour):
    recorder = EventRecorder()
    run = Harness(flavour, hooks=[recorder])
    ann, ben = await person(run, "Ann"), await person(run, "Ben")
    recorder.seen.clear()
    await run("befriend", ann.id, ben.id)
    assert recorder.seen == [FriendshipStarted(ann.id, ben.id)]
    assert run.stored(Person, ann.id).version == 2  # the aggregate holding the edge changed
    assert run.stored(Person, ben.id).version == 1


async def test_friends_are_listed_by_name(run):
    p = {n: await person(run, n) for n in ("Kim", "Zoe", "Abe", "Lou")}
    await run("befriend", p["Kim"].id, p["Zoe"].id)
    await run("befriend", p["Abe"].id, p["Kim"].id)  # held by Abe, still Kim's friend
    await run("befriend", p["Kim"].id, p["Lou"].id)
    assert [f.name for f in await run("friends", p["Kim"].id)] == ["Abe", "Lou", "Zoe"]
    assert [f.name for f in await run("friends", p["Abe"].id)] == ["Kim"]


async def test_recommend_friends_of_friends_with_their_names(run):
    p = {n: await person(run, n) for n in ("Ann", "Ben", "Cat", "Dan", "Eve")}
    for a, b in (("Ann", "Ben"), ("Ann", "Cat"), ("Ben", "Dan"), ("Cat", "Dan"), ("Cat", "Eve")):
        await run("befriend", p[a].id, p[b].id)
    suggested = await run("recommend_friends", p["Ann"].id)
    assert [(s.person.name, s.mutual_friends) for s in suggested] == [("Dan", 2), ("Eve", 1)]
    assert len(await run("recommend_friends", p["Ann"].id, limit=1)) == 1
    with pytest.raises(ValueError, match="limit"):
        await run("recommend_friends", p["Ann"].id, limit=-1)


async def test_path_between_follows_friendships_either_way(run):
    p = {n: await person(run, n) for n in ("Ann", "Ben", "Cat", "Dan", "Loner")}
    await run("befriend", p["Ann"].id, p["Ben"].id)
    await run("befriend", p["Cat"].id, p["Ben"].id)  # held by Cat: the path goes against it
    await run("befriend", p["Cat"].id, p["Dan"].id)
    path = await run("path_between", p["Ann"].id, p["Dan"].id)
    assert [v.name for v in path] == ["Ann", "Ben", "Cat", "Dan"]
    back = await run("path_between", p["Dan"].id, p["Ann"].id)
    assert [v.name for v in back] == ["Dan", "Cat", "Ben", "Ann"]
    assert await run("path_between", p["Ann"].id, p["Loner"].id) == []
    assert [v.name for v in await run("path_between", p["Ann"].id, p["Ann"].id)] == ["Ann"]


async def test_reachable_accounts_follow_transfers_forward(run):
    a, b, c, d, lone = [await funded_account(run, "100") for _ in range(5)]
    for source, target in ((a, b), (b, c), (c, a), (d, a)):
        await run("transfer", source.id, target.id, Decimal("1"))
    reached = await run("reachable_accounts", a.id)
    assert [r.id for r in reached] == sorted([b.id, c.id], key=str)  # not a itself, not d
    assert [r.id for r in await run("reachable_accounts", d.id)] == sorted(
        [a.id, b.id, c.id], key=str
    )
    assert await run("reachable_accounts", lone.id) == []
    assert reached == [await run("get_account", r.id) for r in reached]


def test_the_container_hands_services_the_fakes_it_is_given():
    container = create_container(Settings(falkordb_graph="unit"))
    store = FakeStore()
    container.unit_of_work.override(providers.Factory(FakeBankUnitOfWork, store, REGISTRY))
    service = container.bank_service()
    ann = service.register_person("Ann", "ann@example.com")
    assert service.get_person(ann.id) == ann
    assert store.commits == 1
    assert not container.database.initialized  # no server was started
