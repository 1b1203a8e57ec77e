"""Lifecycle events and the audit hook on the in-memory fakes, sync and async units alike."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from app.container import create_container
from app.settings import Settings
from domain.model import Account, Money, Person
from infrastructure.bank import bank_registry
from infrastructure.bank.fakes import FakeAsyncBankUnitOfWork, FakeBankUnitOfWork
from infrastructure.fakes import FakeStore
from infrastructure.persistence import (
    AuditHook,
    EntityWrite,
    Events,
    UnitView,
    Written,
    acting_as,
)
from tests.units import settled

REGISTRY = bank_registry()
T1 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
T2 = datetime(2024, 5, 2, 9, 0, tzinfo=UTC)


def labels(store: FakeStore) -> list[str]:
    """The bank's labels holding entities in ``store``, sorted (read by a fresh unit)."""
    with FakeBankUnitOfWork(store, REGISTRY) as unit:
        counts = {"Account": unit.accounts.count(), "Person": unit.people.count()}
    return sorted(label for label, n in counts.items() if n)


def make_unit(flavour: str, store: FakeStore, hooks: Any = ()) -> Any:
    unit_class = FakeBankUnitOfWork if flavour == "sync" else FakeAsyncBankUnitOfWork
    return unit_class(store, REGISTRY, hooks=hooks)


async def commit_unit(unit: Any) -> None:
    await settled(unit.commit())
    await settled(unit.close())


class Recorder:
    """A hook object: one method per event, each noting what it saw."""

    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []

    def before_flush(self, unit: UnitView) -> None:
        assert isinstance(unit, UnitView)
        pending = unit.pending()
        self.seen.append(("before_flush", len(pending.new), len(pending.changed)))

    def _write(self, event: str, write: EntityWrite) -> None:
        assert isinstance(write, EntityWrite)
        self.seen.append((event, write.name, write.key, write.changed, write.version))

    def before_insert(self, unit: UnitView, write: EntityWrite) -> None:
        self._write("before_insert", write)

    def before_update(self, unit: UnitView, write: EntityWrite) -> None:
        self._write("before_update", write)

    def before_delete(self, unit: UnitView, write: EntityWrite) -> None:
        self._write("before_delete", write)

    def after_flush(self, unit: UnitView, written: Written) -> None:
        self.seen.append(("after_flush", *(len(w) for w in (written.new, written.changed))))

    def after_commit(self, unit: UnitView, written: Written) -> None:
        self.seen.append(("after_commit", sorted(w.name + ":" + w.operation for w in written)))

    def after_rollback(self, unit: UnitView) -> None:
        self.seen.append(("after_rollback",))


async def fail_inside(unit: Any) -> None:
    """Leave the unit's ``with`` block on an error, after adding someone."""
    if isinstance(unit, FakeBankUnitOfWork):
        with unit:
            unit.add(Person(uuid.uuid4(), "Bob", "b@x.org"))
            raise KeyError("boom")
    async with unit:
        unit.add(Person(uuid.uuid4(), "Bob", "b@x.org"))
        raise KeyError("boom")


async def stored_people(flavour: str, store: FakeStore, *people: Person) -> None:
    unit = make_unit(flavour, store)
    for person in people:
        unit.add(person)
    await commit_unit(unit)


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_each_event_fires_once_in_order_with_a_public_view(flavour: str) -> None:
    store = FakeStore()
    ada, bob = Person(uuid.uuid4(), "Ada", "ada@x.org", 30), Person(uuid.uuid4(), "Bob", "b@x.org")
    await stored_people(flavour, store, ada, bob)
    recorder = Recorder()
    unit = make_unit(flavour, store, [recorder])

    loaded = await settled(unit.people.get(ada.id))
    loaded.age = 31
    unit.delete(await settled(unit.people.get(bob.id)))
    cleo = Person(uuid.uuid4(), "Cleo", "c@x.org")
    unit.add(cleo)
    await commit_unit(unit)

    insert_props = frozenset(REGISTRY.mapping_for(Person).properties)
    assert recorder.seen == [
        ("before_flush", 1, 1),
        ("before_insert", "Person", cleo.id, insert_props, 1),
        ("before_update", "Person", ada.id, frozenset({"age"}), 2),
        ("before_delete", "Person", bob.id, frozenset(), 2),
        ("after_flush", 1, 1),
        ("after_commit", ["Person:delete", "Person:insert", "Person:update"]),
    ]


async def test_after_commit_sees_every_flush_since_the_last_commit(flavour: str) -> None:
    store = FakeStore()
    events = Events()
    commits: list[list[str]] = []
    events.listen("after_commit", lambda unit, written: commits.append([w.name for w in written]))
    unit = make_unit(flavour, store, [events])
    unit.add(Person(uuid.uuid4(), "Ada", "ada@x.org"))
    await settled(unit.flush())
    unit.add(Account(uuid.uuid4(), uuid.uuid4(), Money.of("1")))
    await settled(unit.commit())
    await settled(unit.commit())  # nothing to write: still a commit
    await settled(unit.close())

    assert commits == [["Person", "Account"], []]


async def test_a_before_flush_handler_that_raises_writes_nothing(flavour: str) -> None:
    store = FakeStore()
    recorder = Recorder()

    def refuse(unit: UnitView) -> None:
        raise RuntimeError("not today")

    events = Events()
    events.listen("before_flush", refuse)
    unit = make_unit(flavour, store, [events, recorder])
    unit.add(Person(uuid.uuid4(), "Ada", "ada@x.org"))

    with pytest.raises(RuntimeError, match="not today"):
        await settled(unit.commit())

    assert store.commits == 0
    assert labels(store) == []
    assert not any(event[0].startswith("after_") for event in recorder.seen)


async def test_a_per_entity_handler_that_raises_writes_nothing(flavour: str) -> None:
    store = FakeStore()
    unit = make_unit(flavour, store)

    def refuse(unit: UnitView, write: EntityWrite) -> None:
        raise ValueError(f"{write.name} refused")

    unit.listen("before_insert", refuse, entity=Account)
    unit.add(Person(uuid.uuid4(), "Ada", "ada@x.org"))
    await settled(unit.flush())  # not an Account: the handler does not run
    unit.add(Account(uuid.uuid4(), uuid.uuid4(), Money.of("1")))
    with pytest.raises(ValueError, match="Account refused"):
        await settled(unit.commit())

    assert store.commits == 1
    assert labels(store) == ["Person"]


async def test_an_after_commit_handler_that_raises_is_logged_and_the_commit_stands(
    flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = FakeStore()
    later: list[str] = []
    unit = make_unit(flavour, store)
    unit.listen("after_commit", lambda unit, written: 1 / 0)
    unit.listen("after_commit", lambda unit, written: later.append("ran"))
    ada = Person(uuid.uuid4(), "Ada", "ada@x.org")
    unit.add(ada)

    with caplog.at_level(logging.ERROR, logger="falkor_uow.events"):
        await commit_unit(unit)

    assert store.commits == 1
    assert labels(store) == ["Person"]
    assert later == ["ran"]
    assert "after_commit handler" in caplog.text
    assert "ZeroDivisionError" in caplog.text


async def test_after_rollback_fires_on_rollback_and_on_an_error_leaving_the_block(
    flavour: str,
) -> None:
    store = FakeStore()
    recorder = Recorder()
    unit = make_unit(flavour, store, [recorder])
    unit.add(Person(uuid.uuid4(), "Ada", "ada@x.org"))
    await settled(unit.rollback())
    assert recorder.seen == [("after_rollback",)]

    recorder.seen.clear()
    with pytest.raises(KeyError):
        await fail_inside(make_unit(flavour, store, [recorder]))
    assert recorder.seen == [("after_rollback",)]
    assert store.commits == 0


async def test_entities_added_in_before_flush_travel_in_the_same_commit(flavour: str) -> None:
    store = FakeStore()
    owner = uuid.uuid4()

    def open_account_for_new_people(unit: UnitView) -> None:
        for write in unit.pending().new:
            if isinstance(write.entity, Person):
                unit.add(Account(uuid.uuid4(), write.entity.id, Money.of("0")))

    unit = make_unit(flavour, store)
    unit.listen("before_flush", open_account_for_new_people)
    unit.add(Person(owner, "Ada", "ada@x.org"))
    await commit_unit(unit)

    assert store.commits == 1
    assert labels(store) == ["Account", "Person"]


def test_bad_registrations_are_refused_naming_the_mistake() -> None:
    events = Events()
    with pytest.raises(ValueError, match="unknown unit-of-work event 'after_save'"):
        events.listen("after_save", print)
    with pytest.raises(TypeError, match="must be callable"):
        events.listen("after_commit", "print")  # type: ignore[type-var]
    with pytest.raises(ValueError, match="entity= applies to before_insert"):
        events.listen("after_commit", print, entity=Person)
    unit = make_unit("sync", FakeStore())
    with pytest.raises(ValueError, match="unknown unit-of-work event"):
        unit.listen("before_save", print)


def test_the_view_offers_no_internal_state() -> None:
    unit = make_unit("sync", FakeStore())
    seen: list[UnitView] = []
    unit.listen("before_flush", seen.append)
    unit.add(Person(uuid.uuid4(), "Ada", "ada@x.org"))
    unit.commit()

    view = seen[0]
    public = {name for name in dir(view) if not name.startswith("_")}
    assert public == {
        "add",
        "delete",
        "deleted_entities",
        "of",
        "pending",
        "registry",
        "tracked_entities",
        "writes",
    }
    with pytest.raises(AttributeError):
        view.identity  # type: ignore[attr-defined]  # noqa: B018


# -- the container -------------------------------------------------------------------------


def test_handlers_registered_on_the_container_run_in_its_units() -> None:
    container = create_container(Settings(falkordb_graph="unit"))
    committed: list[str] = []
    container.unit_events().listen(
        "after_commit", lambda unit, written: committed.extend(w.name for w in written)
    )
    store = FakeStore()
    with FakeBankUnitOfWork(store, container.registry(), hooks=container.hooks()) as unit:
        unit.accounts.add(Account.open(uuid.uuid4()))

    assert committed == ["Account", "OutboxRecord"]
    with FakeBankUnitOfWork(store, container.registry()) as unit:
        (account,) = unit.accounts.list()
    assert account.created_at is not None  # the container's audit hook ran too


# -- audit fields ------------------------------------------------------------------------


async def test_audit_fields_are_stamped_on_create_and_update_in_the_same_commit(
    flavour: str,
) -> None:
    store = FakeStore()
    clock = iter([T1, T2])
    hook = AuditHook(clock=lambda: next(clock))
    account = Account(uuid.uuid4(), uuid.uuid4(), Money.of("5"))
    person = Person(uuid.uuid4(), "Ada", "ada@x.org")
    with acting_as("alice"):
        unit = make_unit(flavour, store, [hook])
        unit.add(account)
        unit.add(person)  # Person has no audit fields: left alone
        await commit_unit(unit)
    assert store.commits == 1
    assert (account.created_at, account.updated_at, account.updated_by) == (T1, T1, "alice")

    with acting_as("bob"):
        unit = make_unit(flavour, store, [hook])
        loaded = await settled(unit.accounts.get(account.id))
        loaded.deposit(Money.of("1"))
        await commit_unit(unit)

    assert store.commits == 2
    unit = make_unit(flavour, store)
    stored = await settled(unit.accounts.get(account.id))
    assert (stored.created_at, stored.updated_at, stored.updated_by) == (T1, T2, "bob")
    assert stored.balance == Money(Decimal("6"))


async def test_a_flush_that_changes_nothing_stamps_nothing(flavour: str) -> None:
    store = FakeStore()
    account = Account(uuid.uuid4(), uuid.uuid4(), Money.of("5"))
    unit = make_unit(flavour, store, [AuditHook(clock=lambda: T1)])
    unit.add(account)
    await commit_unit(unit)

    unit = make_unit(flavour, store, [AuditHook(clock=lambda: T2)])
    loaded = await settled(unit.accounts.get(account.id))
    await commit_unit(unit)

    assert loaded.updated_at == T1
    assert store.commits == 1
