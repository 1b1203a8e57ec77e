"""The outbox on a real FalkorDB: records written with the state, relayed to a real stream."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import redis.asyncio as aioredis

from domain.events import AccountOpened, DomainEvent, MoneyDeposited, PersonRegistered
from domain.model import Account, Money, Person
from infrastructure.bank import AsyncBankUnitOfWork, BankUnitOfWork, bank_registry
from infrastructure.messaging import (
    SEQUENCE_STRIDE,
    AsyncGraphOutboxSource,
    AsyncOutboxRelay,
    EventRegistry,
    GraphOutboxSource,
    MessageBus,
    OutboxHook,
    OutboxRecord,
    OutboxRelay,
    RelayReport,
    UnorderedEventError,
    ensure_outbox_indexes,
    register_outbox,
)
from infrastructure.persistence import ConcurrencyError, Registry
from infrastructure.server import Database

EVENTS = EventRegistry.of_subclasses(DomainEvent)
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def registry() -> Registry:
    registry = bank_registry()
    register_outbox(registry)
    return registry


@pytest.fixture
def outbox_graph(bank_graph: Any, registry: Registry) -> Any:
    ensure_outbox_indexes(bank_graph, registry.mapping_for(OutboxRecord))
    return bank_graph


@pytest.fixture
def bus() -> MessageBus:
    return MessageBus()


@pytest.fixture
def uow(outbox_graph: Any, registry: Registry, bus: MessageBus) -> Callable[[], BankUnitOfWork]:
    hook = OutboxHook(EVENTS, bus=bus)
    return lambda: BankUnitOfWork(outbox_graph, registry, hooks=[hook])


@pytest.fixture
def source(outbox_graph: Any, registry: Registry) -> GraphOutboxSource:
    return GraphOutboxSource(outbox_graph, registry.mapping_for(OutboxRecord))


@pytest.fixture
def redis_client(database: Database) -> Any:
    return database.client.connection


@pytest.fixture
def stream(redis_client: Any, graph_name: str) -> Iterator[str]:
    """A stream key of this test's own on the embedded server; removed after."""
    name = f"{graph_name}:events"
    yield name
    for key in redis_client.scan_iter(match=f"{name}*", count=1000):
        redis_client.delete(key)


def stored_records(graph: Any) -> list[OutboxRecord]:
    rows = graph.ro_query(
        "MATCH (r:OutboxRecord) RETURN r.id, r.aggregate_type, r.aggregate_id, r.sequence, "
        "r.event_type, r.payload, r.delivered ORDER BY r.aggregate_type, r.aggregate_id, "
        "r.sequence"
    ).result_set
    return rows


def events_of(rows: list[Any]) -> list[object]:
    return [EVENTS.decode(r[4], r[5]) for r in rows]


def read_stream(redis_client: Any, stream: str) -> list[dict[str, str]]:
    return [fields for _, fields in redis_client.xrange(stream)]


def open_funded_account(uow: Callable[[], BankUnitOfWork], *amounts: str) -> tuple[Person, Account]:
    owner = Person.register("Ada", "ada@example.com")
    account = Account.open(owner.id)
    with uow() as unit:
        unit.people.add(owner)
        unit.accounts.add(account)
    for amount in amounts:
        with uow() as unit:
            unit.accounts.get(account.id).deposit(Money(Decimal(amount)))
    return owner, account


# -- writing ----------------------------------------------------------------------


def test_commit_writes_one_record_per_event_with_the_state(uow, outbox_graph):
    ada = Person.register("Ada", "ada@example.com")
    account = Account.open(ada.id)
    account.deposit(Money(Decimal("10.25")))
    expected = [*ada.events, *account.events]

    with uow() as unit:
        unit.people.add(ada)
        unit.accounts.add(account)

    assert ada.events == []
    assert account.events == []
    rows = stored_records(outbox_graph)
    assert sorted(map(repr, events_of(rows))) == sorted(map(repr, expected))
    by_aggregate = {(r[1], r[2]): [] for r in rows}
    for r in rows:
        by_aggregate[(r[1], r[2])].append(r[3])
    assert by_aggregate == {
        ("Person", str(ada.id)): [SEQUENCE_STRIDE],
        ("Account", str(account.id)): [SEQUENCE_STRIDE, SEQUENCE_STRIDE + 1],
    }
    assert all(r[6] is False for r in rows)
    with uow() as unit:
        assert unit.accounts.get(account.id).balance == Money(Decimal("10.25"))


def test_later_commits_number_events_after_the_earlier_ones(uow, outbox_graph):
    _, account = open_funded_account(uow, "1", "2")
    rows = [r for r in stored_records(outbox_graph) if r[1] == "Account"]
    assert [r[3] for r in rows] == [SEQUENCE_STRIDE, 2 * SEQUENCE_STRIDE, 3 * SEQUENCE_STRIDE]
    assert events_of(rows) == [
        AccountOpened(account.id, account.owner_id, "EUR"),
        MoneyDeposited(account.id, Decimal("1"), "EUR"),
        MoneyDeposited(account.id, Decimal("2"), "EUR"),
    ]


def test_rolled_back_unit_writes_no_record(uow, outbox_graph):
    ada = Person.register("Ada", "ada@example.com")

    def abandon() -> None:
        with uow() as unit:
            unit.people.add(ada)
            raise RuntimeError("abandon the unit")

    with pytest.raises(RuntimeError):
        abandon()
    assert stored_records(outbox_graph) == []
    assert outbox_graph.ro_query("MATCH (p:Person) RETURN count(p)").result_set == [[0]]


def test_failed_commit_writes_neither_state_nor_records(uow, outbox_graph):
    _, account = open_funded_account(uow)
    before = stored_records(outbox_graph)
    first, second = uow(), uow()
    first.accounts.get(account.id).deposit(Money(Decimal("5")))
    second.accounts.get(account.id).deposit(Money(Decimal("7")))
    first.commit()

    with pytest.raises(ConcurrencyError):
        second.commit()

    deposits = [e for e in events_of(stored_records(outbox_graph)) if type(e) is MoneyDeposited]
    assert deposits == [MoneyDeposited(account.id, Decimal("5"), "EUR")]
    assert len(stored_records(outbox_graph)) == len(before) + 1
    with uow() as unit:
        assert unit.accounts.get(account.id).balance == Money(Decimal("5"))


def test_retried_flush_writes_each_event_once(uow, outbox_graph):
    taken = Person.register("Old", "old@example.com")
    with uow() as unit:
        unit.people.add(taken)
    ada = Person.register("Ada", "ada@example.com")
    clash = Person(taken.id, "Clash", "clash@example.com")
    clash.events.append(PersonRegistered(clash.id, clash.name, clash.email))

    with uow() as unit:
        unit.people.add(ada)
        unit.people.add(clash)
        with pytest.raises(Exception, match="already exists"):
            unit.flush()
        unit.people.remove(clash)  # drop the offender and flush again

    events = events_of(stored_records(outbox_graph))
    assert events.count(PersonRegistered(ada.id, "Ada", "ada@example.com")) == 1
    assert PersonRegistered(taken.id, "Clash", "clash@example.com") not in events
    assert len(events) == 2  # Old's and Ada's


def test_handlers_run_after_commit_and_a_failing_one_undoes_nothing(uow, bus, outbox_graph, caplog):
    seen: list[object] = []

    def broken(event: PersonRegistered) -> None:
        raise ValueError("handler bug")

    bus.subscribe(PersonRegistered, broken)
    bus.subscribe(DomainEvent, seen.append)
    ada = Person.register("Ada", "ada@example.com")

    with uow() as unit:
        unit.people.add(ada)

    assert seen == [PersonRegistered(ada.id, "Ada", "ada@example.com")]
    assert "handler bug" in caplog.text
    assert len(stored_records(outbox_graph)) == 1
    with uow() as unit:
        assert unit.people.exists(ada.id)


# -- relaying ---------------------------------------------------------------------


def test_relay_publishes_records_as_committed_in_order_per_aggregate(
    uow, outbox_graph, source, redis_client, stream
):
    accounts = [open_funded_account(uow, "1", "2", "3")[1] for _ in range(3)]
    committed = stored_records(outbox_graph)
    relay = OutboxRelay(source, redis_client, stream=stream, batch_size=4)

    report = relay.drain()

    messages = read_stream(redis_client, stream)
    assert report.published == len(committed) == len(messages) == 3 * 5
    assert report.marked == len(committed)
    assert sorted(m["id"] for m in messages) == sorted(str(r[0]) for r in committed)
    by_id = {str(r[0]): r for r in committed}
    for m in messages:
        r = by_id[m["id"]]
        assert (m["aggregate_type"], m["aggregate_id"], int(m["sequence"])) == (r[1], r[2], r[3])
        assert (m["event_type"], m["payload"]) == (r[4], r[5])
    per_aggregate: dict[tuple[str, str], list[int]] = defaultdict(list)
    for m in messages:
        per_aggregate[(m["aggregate_type"], m["aggregate_id"])].append(int(m["sequence"]))
    assert all(seqs == sorted(seqs) for seqs in per_aggregate.values())
    for account in accounts:
        deposits = [
            EVENTS.decode(m["event_type"], m["payload"])
            for m in messages
            if m["aggregate_id"] == str(account.id) and m["event_type"] == "MoneyDeposited"
        ]
        assert [d.amount for d in deposits] == [Decimal("1"), Decimal("2"), Decimal("3")]
    assert all(r[6] is True for r in stored_records(outbox_graph))


def test_second_run_publishes_nothing_new(uow, source, redis_client, stream):
    open_funded_account(uow, "1")
    relay = OutboxRelay(source, redis_client, stream=stream)
    first = relay.drain()

    second = relay.drain()

    assert first.published == 3
    assert (second.published, second.duplicates, second.batches) == (0, 0, 0)
    assert redis_client.xlen(stream) == 3


class CrashingSource(GraphOutboxSource):
    """Fails the mark step: the relay process dying after it published."""

    def mark_delivered(self, ids, at):  # type: ignore[no-untyped-def]
        raise ConnectionError("relay died before marking")


def test_crash_between_publish_and_mark_loses_and_reorders_nothing(
    uow, outbox_graph, registry, source, redis_client, stream
):
    open_funded_account(uow, "1", "2")
    crashing = CrashingSource(outbox_graph, registry.mapping_for(OutboxRecord))
    with pytest.raises(ConnectionError):
        OutboxRelay(crashing, redis_client, stream=stream).drain()
    published = read_stream(redis_client, stream)
    assert len(published) == 4
    assert not any(r[6] for r in stored_records(outbox_graph))

    report = OutboxRelay(source, redis_client, stream=stream).drain()

    assert (report.published, report.duplicates, report.marked) == (0, 4, 4)
    assert read_stream(redis_client, stream) == published
    assert all(r[6] for r in stored_records(outbox_graph))
    open_funded_account(uow, "3")
    OutboxRelay(source, redis_client, stream=stream).drain()
    assert len(read_stream(redis_client, stream)) == 4 + 3


def test_two_relays_at_once_publish_each_record_once_in_order(uow, source, redis_client, stream):
    for _ in range(4):
        open_funded_account(uow, "1", "2", "3", "4")
    errors: list[BaseException] = []
    reports: list[RelayReport] = []

    def run() -> None:
        try:
            reports.append(OutboxRelay(source, redis_client, stream=stream, batch_size=3).drain())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert sum(r.published for r in reports) == 4 * 6
    messages = read_stream(redis_client, stream)
    ids = [m["id"] for m in messages]
    assert len(ids) == len(set(ids)) == 4 * 6  # a person, an opening, four deposits
    per_aggregate: dict[str, list[int]] = defaultdict(list)
    for m in messages:
        per_aggregate[m["aggregate_id"]].append(int(m["sequence"]))
    assert all(seqs == sorted(seqs) for seqs in per_aggregate.values())


async def test_async_relay_publishes_what_an_async_unit_committed(
    async_bank_graph, outbox_graph, registry, database, stream, redis_client
):
    hook = OutboxHook(EVENTS)
    ada = Person.register("Ada", "ada@example.com")
    account = Account.open(ada.id)
    async with AsyncBankUnitOfWork(async_bank_graph, registry, hooks=[hook]) as unit:
        unit.people.add(ada)
        unit.accounts.add(account)
    client = aioredis.from_url(database.url, decode_responses=True)
    try:
        relay = AsyncOutboxRelay(
            AsyncGraphOutboxSource(async_bank_graph, registry.mapping_for(OutboxRecord)),
            client,
            stream=stream,
        )
        report = await relay.drain()
        again = await relay.drain()
    finally:
        await client.aclose()

    assert (report.published, again.published) == (2, 0)
    published = [
        EVENTS.decode(m["event_type"], m["payload"]) for m in read_stream(redis_client, stream)
    ]
    assert sorted(map(repr, published)) == sorted(
        map(
            repr,
            [
                PersonRegistered(ada.id, "Ada", "ada@example.com"),
                AccountOpened(account.id, ada.id, "EUR"),
            ],
        )
    )


def test_events_without_a_change_fail_the_commit_and_write_nothing(uow, outbox_graph):
    _, account = open_funded_account(uow)
    before = stored_records(outbox_graph)

    unit = uow()
    unit.accounts.get(account.id).events.append(MoneyDeposited(account.id, Decimal("1"), "EUR"))

    with pytest.raises(UnorderedEventError):
        unit.commit()

    assert stored_records(outbox_graph) == before


def test_a_writer_with_a_clock_behind_does_not_reorder_an_aggregate(
    outbox_graph, registry, source, redis_client, stream
):
    def unit_at(when: datetime) -> BankUnitOfWork:
        return BankUnitOfWork(
            outbox_graph, registry, hooks=[OutboxHook(EVENTS, clock=lambda: when)]
        )

    owner = Person.register("Ada", "ada@example.com")
    account = Account.open(owner.id)
    with unit_at(T0 + timedelta(minutes=5)) as unit:
        unit.accounts.add(account)
    with unit_at(T0) as unit:  # a later commit stamped earlier
        unit.accounts.get(account.id).deposit(Money(Decimal("1")))

    OutboxRelay(source, redis_client, stream=stream, batch_size=1).drain()

    assert [m["event_type"] for m in read_stream(redis_client, stream)] == [
        "AccountOpened",
        "MoneyDeposited",
    ]


def test_delivered_records_can_be_pruned(uow, outbox_graph, source, redis_client, stream):
    open_funded_account(uow, "1")
    OutboxRelay(source, redis_client, stream=stream).drain()
    open_funded_account(uow)  # two more records, undelivered

    deleted = source.prune_delivered(datetime.now(UTC) + timedelta(seconds=1))

    assert deleted == 3
    assert [r[4] for r in stored_records(outbox_graph)] == ["AccountOpened", "PersonRegistered"]
