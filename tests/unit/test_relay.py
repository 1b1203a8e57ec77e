"""The relay against a fake Redis (fakeredis), fed by an in-memory outbox source.

The source stands in for the outbox graph behind the relay's ``OutboxSource``
protocol; the Redis side (stream, dedupe keys, WATCH/MULTI) is fakeredis.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import fakeredis
import pytest

from infrastructure.messaging import (
    AsyncOutboxRelay,
    MessagingError,
    OutboxRecord,
    OutboxRelay,
    RelayContentionError,
    message_fields,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
DELIVERED_AT = datetime(2024, 5, 1, 12, 5, tzinfo=UTC)


def record(aggregate: str, sequence: int, payload: str = "{}") -> OutboxRecord:
    return OutboxRecord(
        id=uuid.uuid4(),
        aggregate_type="Account",
        aggregate_id=aggregate,
        sequence=sequence,
        event_type="MoneyDeposited",
        payload=payload,
        created_at=T0,
    )


class MemorySource:
    """Undelivered records in the order they were committed."""

    def __init__(self, records: Sequence[OutboxRecord] = ()) -> None:
        self.records = list(records)
        self.mark_calls = 0

    def pending(self, limit: int) -> list[OutboxRecord]:
        return [r for r in self.records if not r.delivered][:limit]

    def mark_delivered(self, ids: Sequence[uuid.UUID], at: datetime) -> int:
        self.mark_calls += 1
        marked = 0
        wanted = set(ids)
        for r in self.records:
            if r.id in wanted and not r.delivered:
                r.delivered, r.delivered_at = True, at
                marked += 1
        return marked


class AsyncMemorySource:
    def __init__(self, inner: MemorySource) -> None:
        self.inner = inner

    async def pending(self, limit: int) -> list[OutboxRecord]:
        return self.inner.pending(limit)

    async def mark_delivered(self, ids: Sequence[uuid.UUID], at: datetime) -> int:
        return self.inner.mark_delivered(ids, at)


class MarkCrash(Exception):
    pass


class CrashOnMark(MemorySource):
    def mark_delivered(self, ids: Sequence[uuid.UUID], at: datetime) -> int:
        raise MarkCrash("the relay died after publishing")


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


@pytest.fixture
def client(server: fakeredis.FakeServer) -> Any:
    return fakeredis.FakeRedis(server=server, decode_responses=True)


def make_relay(source: Any, client: Any, **kw: Any) -> OutboxRelay:
    return OutboxRelay(source, client, stream="events", clock=lambda: DELIVERED_AT, **kw)


def stream_ids(client: Any, stream: str = "events") -> list[str]:
    return [fields["id"] for _, fields in client.xrange(stream)]


def test_publishes_every_record_in_order_and_marks_it_delivered(client):
    records = [record("a", 1), record("b", 1), record("a", 2), record("b", 2), record("a", 3)]
    source = MemorySource(records)

    report = make_relay(source, client, batch_size=2).drain()

    assert (report.batches, report.published, report.duplicates, report.marked) == (3, 5, 0, 5)
    assert stream_ids(client) == [str(r.id) for r in records]
    assert all(r.delivered and r.delivered_at == DELIVERED_AT for r in records)


def test_a_message_carries_the_record_as_committed(client):
    committed = record("a", 7_000_001, payload='{"amount":"1.50"}')
    make_relay(MemorySource([committed]), client).drain()

    [(_, fields)] = client.xrange("events")

    assert fields == {
        "id": str(committed.id),
        "aggregate_type": "Account",
        "aggregate_id": "a",
        "sequence": "7000001",
        "event_type": "MoneyDeposited",
        "payload": '{"amount":"1.50"}',
        "created_at": "2024-05-01T12:00:00+00:00",
    }
    assert message_fields(committed) == fields


def test_running_again_publishes_nothing(client):
    source = MemorySource([record("a", 1), record("a", 2)])
    relay = make_relay(source, client)
    relay.drain()

    again = relay.drain()

    assert (again.batches, again.published) == (0, 0)
    assert client.xlen("events") == 2


def test_crash_between_publish_and_mark_neither_loses_nor_repeats(client):
    records = [record("a", 1), record("a", 2), record("b", 1)]
    crashing = CrashOnMark(records)
    with pytest.raises(MarkCrash):
        make_relay(crashing, client).run_once()
    assert stream_ids(client) == [str(r.id) for r in records]
    assert not any(r.delivered for r in records)

    restarted = MemorySource(records)  # the same undelivered records, read again
    report = make_relay(restarted, client).drain()

    assert (report.published, report.duplicates, report.marked) == (0, 3, 3)
    assert stream_ids(client) == [str(r.id) for r in records]
    assert all(r.delivered for r in records)


def test_a_second_relay_over_the_same_records_adds_no_duplicates(server):
    records = [record("a", 1), record("a", 2)]
    first = MemorySource(records)
    second = MemorySource([dataclasses.replace(r) for r in records])  # its own, unmarked view

    make_relay(first, fakeredis.FakeRedis(server=server, decode_responses=True)).drain()
    report = make_relay(second, fakeredis.FakeRedis(server=server, decode_responses=True)).drain()

    client = fakeredis.FakeRedis(server=server, decode_responses=True)
    assert (report.published, report.duplicates) == (0, 2)
    assert stream_ids(client) == [str(r.id) for r in records]


class RacingRelay(OutboxRelay):
    """Another relay publishes a record between this one's check and its EXEC."""

    def __init__(self, *args: Any, rival: OutboxRelay, races: int, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.rival = rival
        self.races = races

    def _queue(self, pipe: Any, fresh: Sequence[OutboxRecord]) -> None:
        if self.races:
            self.races -= 1
            self.rival.publish(fresh[:1])
        super()._queue(pipe, fresh)


def test_a_relay_that_loses_a_race_rechecks_and_keeps_the_order(server):
    records = [record("a", 1), record("a", 2), record("a", 3)]
    rival = make_relay(MemorySource(), fakeredis.FakeRedis(server=server, decode_responses=True))
    relay = RacingRelay(
        MemorySource(records),
        fakeredis.FakeRedis(server=server, decode_responses=True),
        stream="events",
        rival=rival,
        races=1,
    )

    report = relay.drain()

    client = fakeredis.FakeRedis(server=server, decode_responses=True)
    assert (report.published, report.duplicates) == (2, 1)
    assert stream_ids(client) == [str(r.id) for r in records]


def test_endless_contention_gives_up_without_losing_records(server):
    records = [record("a", n) for n in range(1, 6)]
    source = MemorySource(records)
    rival = make_relay(MemorySource(), fakeredis.FakeRedis(server=server, decode_responses=True))
    relay = RacingRelay(
        source,
        fakeredis.FakeRedis(server=server, decode_responses=True),
        stream="events",
        rival=rival,
        races=3,
        max_attempts=3,
    )

    with pytest.raises(RelayContentionError, match="contended"):
        relay.run_once()
    assert not any(r.delivered for r in records)

    make_relay(source, fakeredis.FakeRedis(server=server, decode_responses=True)).drain()
    client = fakeredis.FakeRedis(server=server, decode_responses=True)
    assert stream_ids(client) == [str(r.id) for r in records]


def test_dedupe_keys_expire_after_the_configured_ttl(client):
    published = record("a", 1)
    make_relay(MemorySource([published]), client, dedupe_ttl_s=3600).drain()

    ttl = client.ttl(f"events:published:{published.id}")

    assert 0 < ttl <= 3600


def test_without_a_ttl_dedupe_keys_are_kept(client):
    published = record("a", 1)
    make_relay(MemorySource([published]), client, dedupe_ttl_s=None).drain()

    assert client.ttl(f"events:published:{published.id}") == -1


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"dedupe_ttl_s": 0}, "dedupe_ttl_s"),
        ({"stream": ""}, "stream"),
    ],
)
def test_bad_settings_are_refused(client, settings, message):
    with pytest.raises(ValueError, match=message):
        OutboxRelay(MemorySource(), client, **settings)


async def test_async_relay_publishes_in_order_and_once():
    client = fakeredis.FakeAsyncRedis(decode_responses=True)
    records = [record("a", 1), record("b", 1), record("a", 2)]
    source = AsyncMemorySource(MemorySource(records))
    relay = AsyncOutboxRelay(source, client, stream="events", batch_size=2)

    report = await relay.drain()
    again = await relay.drain()

    assert (report.published, report.marked, again.published) == (3, 3, 0)
    entries = await client.xrange("events")
    assert [f["id"] for _, f in entries] == [str(r.id) for r in records]
    await client.aclose()


async def test_async_relay_after_a_crash_only_marks():
    client = fakeredis.FakeAsyncRedis(decode_responses=True)
    records = [record("a", 1), record("a", 2)]
    with pytest.raises(MarkCrash):
        await AsyncOutboxRelay(AsyncMemorySource(CrashOnMark(records)), client).run_once()

    report = await AsyncOutboxRelay(AsyncMemorySource(MemorySource(records)), client).drain()

    assert (report.published, report.duplicates, report.marked) == (0, 2, 2)
    assert await client.xlen("outbox") == 2
    await client.aclose()


def test_a_key_that_is_not_a_stream_is_refused_and_nothing_is_lost(client):
    client.set("events", "a string, or a graph of the same name")
    records = [record("a", 1)]
    source = MemorySource(records)

    with pytest.raises(MessagingError, match="'events' holds a string, not a stream"):
        make_relay(source, client).run_once()

    assert client.get(f"events:published:{records[0].id}") is None
    assert not records[0].delivered


class TypeSwappingRelay(OutboxRelay):
    """The stream key changes type after the check: XADD fails inside EXEC."""

    def _queue(self, pipe: Any, fresh: Sequence[OutboxRecord]) -> None:
        self.client.set(self.stream, "not a stream any more")
        super()._queue(pipe, fresh)


def test_an_xadd_failing_inside_the_transaction_leaves_the_record_unpublished(client):
    records = [record("a", 1), record("a", 2)]
    source = MemorySource(records)
    relay = TypeSwappingRelay(source, client, stream="events")

    with pytest.raises(MessagingError, match="XADD to 'events' failed for 2 records"):
        relay.run_once()

    assert client.mget([f"events:published:{r.id}" for r in records]) == [None, None]
    assert not any(r.delivered for r in records)
    client.delete("events")
    make_relay(source, client).drain()
    assert stream_ids(client) == [str(r.id) for r in records]
