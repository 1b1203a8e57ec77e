"""The outbox hook and the message bus on the I/O-free unit state, without a server."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from domain.events import (
    AccountOpened,
    DomainEvent,
    MoneyDeposited,
    MoneyTransferred,
    PersonRegistered,
)
from domain.model import Account, Money, Person, Transfer
from infrastructure.bank import bank_registry
from infrastructure.messaging import (
    SEQUENCE_STRIDE,
    EventEncodingError,
    EventRegistry,
    MessageBus,
    OutboxHook,
    OutboxRecord,
    UnorderedEventError,
    register_outbox,
)
from infrastructure.persistence import Events, MappingError, UnitView
from infrastructure.persistence import state as state_module
from infrastructure.persistence.state import PendingFlush, UnitState

E = TypeVar("E")
NOW = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
EVENTS = EventRegistry.of_subclasses(DomainEvent)


@pytest.fixture
def bus() -> MessageBus:
    return MessageBus()


@pytest.fixture
def hook(bus: MessageBus) -> OutboxHook:
    return OutboxHook(EVENTS, bus=bus, clock=lambda: NOW)


@pytest.fixture
def unit(hook: OutboxHook) -> UnitState:
    registry = bank_registry()
    register_outbox(registry)
    return UnitState(registry, [hook])


def load(unit: UnitState, entity: E, version: int) -> E:
    """Track ``entity`` as a read returning it at ``version`` would."""
    mapping = unit.registry.mapping_for(type(entity))
    loaded: list[E] = unit.load_rows(mapping, [(*mapping.encode(entity), version)])
    return loaded[0]


def prepare(unit: UnitState) -> PendingFlush:
    exchange = unit.prepare_flush()
    try:
        read = next(exchange)
    except StopIteration as done:
        pending: PendingFlush = done.value
        return pending
    raise AssertionError(f"preparing a flush read {read}")


def staged(unit: UnitState) -> list[OutboxRecord]:
    return [e for e in unit.tracked_entities() if isinstance(e, OutboxRecord)]


def account(balance: str = "0") -> Account:
    return Account(uuid.uuid4(), uuid.uuid4(), Money(Decimal(balance)))


def test_new_entities_events_become_records_numbered_from_version_one(unit, hook):
    ada = Person.register("Ada", "ada@example.com")
    opened = Account.open(ada.id)
    opened.deposit(Money(Decimal("3")))
    unit.add(ada)
    unit.add(opened)

    hook.before_flush(unit)

    records = staged(unit)
    assert [(r.aggregate_type, r.aggregate_id, r.sequence, r.event_type) for r in records] == [
        ("Person", str(ada.id), SEQUENCE_STRIDE, "PersonRegistered"),
        ("Account", str(opened.id), SEQUENCE_STRIDE, "AccountOpened"),
        ("Account", str(opened.id), SEQUENCE_STRIDE + 1, "MoneyDeposited"),
    ]
    assert [EVENTS.decode(r.event_type, r.payload) for r in records] == [
        PersonRegistered(ada.id, "Ada", "ada@example.com"),
        AccountOpened(opened.id, ada.id, "EUR"),
        MoneyDeposited(opened.id, Decimal("3"), "EUR"),
    ]
    assert all(r.created_at == NOW and not r.delivered for r in records)
    assert ada.events == []
    assert opened.events == []


def test_a_changed_aggregate_numbers_its_events_from_the_version_it_writes(unit, hook):
    loaded = load(unit, account(), version=3)
    loaded.deposit(Money(Decimal("1")))
    loaded.deposit(Money(Decimal("2")))

    hook.before_flush(unit)

    assert [r.sequence for r in staged(unit)] == [4 * SEQUENCE_STRIDE, 4 * SEQUENCE_STRIDE + 1]


def test_a_deleted_aggregate_numbers_its_events_after_its_last_version(unit, hook):
    loaded = load(unit, account(), version=2)
    loaded.events.append(MoneyDeposited(loaded.id, Decimal(1), "EUR"))
    unit.delete(loaded)

    hook.before_flush(unit)

    assert [r.sequence for r in staged(unit)] == [3 * SEQUENCE_STRIDE]


def test_events_on_an_unchanged_aggregate_are_refused_and_kept(unit, hook):
    loaded = load(unit, account("5"), version=1)
    event = MoneyDeposited(loaded.id, Decimal(1), "EUR")
    loaded.events.append(event)

    with pytest.raises(UnorderedEventError, match=r"Account\[.*none of its stored fields changed"):
        hook.before_flush(unit)
    assert loaded.events == [event]
    assert staged(unit) == []


def test_events_on_an_unversioned_aggregate_after_its_creation_are_refused(unit, hook):
    transfer = Transfer(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), Money(Decimal(1)), NOW)
    loaded = load(unit, transfer, version=0)
    loaded.amount = Money(Decimal(2))
    loaded.events.append(
        MoneyTransferred(loaded.id, loaded.source_id, loaded.target_id, Decimal(2), "EUR")
    )

    with pytest.raises(UnorderedEventError, match="Transfer is not versioned"):
        hook.before_flush(unit)
    assert staged(unit) == []


def test_an_unencodable_event_leaves_every_entity_as_it_was(unit, hook):
    ada = Person.register("Ada", "ada@example.com")
    opened = Account.open(ada.id)
    opened.events.append(MoneyDeposited(opened.id, 1.5, "EUR"))  # type: ignore[arg-type]
    unit.add(ada)
    unit.add(opened)

    with pytest.raises(EventEncodingError, match=r"MoneyDeposited\.amount"):
        hook.before_flush(unit)
    assert len(ada.events) == 1
    assert len(opened.events) == 2
    assert staged(unit) == []


def test_an_unmapped_outbox_is_named(hook):
    unit = UnitState(bank_registry(), [hook])
    unit.add(Person.register("Ada", "ada@example.com"))

    with pytest.raises(MappingError, match=r"register_outbox\(registry\)"):
        hook.before_flush(unit)


def test_a_retried_flush_stages_each_event_once(unit, hook):
    ada = Person.register("Ada", "ada@example.com")
    unit.add(ada)
    hook.before_flush(unit)  # the first attempt's query failed

    hook.before_flush(unit)

    assert [r.event_type for r in staged(unit)] == ["PersonRegistered"]


def test_records_of_an_entity_dropped_after_a_failed_flush_are_dropped_too(unit, hook):
    ada = Person.register("Ada", "ada@example.com")
    bob = Person.register("Bob", "bob@example.com")
    unit.add(ada)
    unit.add(bob)
    hook.before_flush(unit)  # the query failed: bob's key was taken, say
    unit.delete(bob)

    hook.before_flush(unit)

    assert [r.aggregate_id for r in staged(unit)] == [str(ada.id)]


def test_a_flush_that_stages_records_writes_them_in_the_same_plan(unit):
    ada = Person.register("Ada", "ada@example.com")
    unit.add(ada)

    pending = prepare(unit)

    created = {c.state.mapping.name for c in pending.changes.creates}
    assert created == {"Person", "OutboxRecord"}
    assert "CREATE (n:OutboxRecord {" in pending.plan.query
    assert "CREATE (n:Person {" in pending.plan.query


def test_a_flush_with_events_compares_each_tracked_entity_once(unit, monkeypatch):
    passes: list[set[int]] = []
    compare = state_module.collect_changes

    def counted(identity: Any) -> Any:
        passes.append({id(s.entity) for s in identity})
        return compare(identity)

    monkeypatch.setattr(state_module, "collect_changes", counted)
    still = load(unit, account("5"), version=1)
    changed = load(unit, account("1"), version=3)
    changed.deposit(Money(Decimal("2")))  # records MoneyDeposited
    ada = Person.register("Ada", "ada@example.com")  # records PersonRegistered
    unit.add(ada)

    pending = prepare(unit)

    for entity in (still, changed, ada):
        assert sum(id(entity) in seen for seen in passes) == 1
    records = [
        c.state.entity for c in pending.changes.creates if c.state.mapping.name == "OutboxRecord"
    ]
    assert sorted(r.sequence for r in records) == [SEQUENCE_STRIDE, 4 * SEQUENCE_STRIDE]
    assert [u.state.entity for u in pending.changes.updates] == [changed]
    assert "CREATE (n:OutboxRecord {" in pending.plan.query


def test_a_handler_after_the_outbox_has_its_edits_planned(hook):
    registry = bank_registry()
    register_outbox(registry)
    events = Events()
    unit = UnitState(registry, [hook, events])
    loaded = load(unit, account("5"), version=1)
    loaded.deposit(Money(Decimal("1")))

    @events.on("before_flush")
    def edit(view: UnitView) -> None:
        loaded.balance = Money(Decimal("7"))

    pending = prepare(unit)

    (update,) = pending.changes.updates
    assert update.state.entity is loaded
    assert update.values == loaded_values(unit, loaded)
    assert [r.sequence for r in staged(unit)] == [2 * SEQUENCE_STRIDE]


def loaded_values(unit: UnitState, entity: Any) -> tuple[Any, ...]:
    values: tuple[Any, ...] = unit.registry.mapping_for(type(entity)).encode(entity)
    return values


def test_handlers_run_after_the_write_and_a_failing_one_stops_no_other(unit, bus, caplog):
    got: list[object] = []

    def broken(event: object) -> None:
        raise RuntimeError("handler bug")

    bus.subscribe(PersonRegistered, broken)
    bus.subscribe(PersonRegistered, got.append)
    bus.subscribe(DomainEvent, got.append)
    ada = Person.register("Ada", "ada@example.com")
    unit.add(ada)
    pending = prepare(unit)
    assert got == []  # nothing runs before the write succeeded

    with caplog.at_level(logging.ERROR, logger="infrastructure.messaging.bus"):
        unit.flushed(pending)

    registered = PersonRegistered(ada.id, "Ada", "ada@example.com")
    assert got == [registered, registered]
    assert "handler bug" in caplog.text


def test_bus_reports_failures_and_matches_base_classes():
    bus = MessageBus()
    calls: list[tuple[str, Any]] = []
    bus.subscribe(DomainEvent, lambda e: calls.append(("any", e)))
    bus.subscribe(AccountOpened, lambda e: calls.append(("opened", e)))
    bus.subscribe(MoneyDeposited, lambda e: 1 / 0)
    opened = AccountOpened(uuid.uuid4(), uuid.uuid4(), "EUR")
    deposited = MoneyDeposited(opened.account_id, Decimal(1), "EUR")

    failures = bus.publish([opened, deposited])

    assert calls == [("opened", opened), ("any", opened), ("any", deposited)]
    assert [(f.event, type(f.error)) for f in failures] == [(deposited, ZeroDivisionError)]
