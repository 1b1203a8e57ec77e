"""The relay: undelivered outbox records to a Redis Stream, at least once, in order.

Each batch goes through three steps:

1. read up to ``batch_size`` undelivered records from the source; for every
   aggregate in the batch they are its earliest pending records, in
   ``sequence`` order (``GraphOutboxSource`` guarantees this);
2. publish them: ``WATCH`` one dedupe key per record
   (``<stream>:published:<record id>``), ``MGET`` them, then in one
   ``MULTI``/``EXEC`` transaction ``XADD`` every record whose key is absent
   and ``SET`` its key (with a TTL). The stream entry and its key are written
   together; when another relay writes one of the keys first, ``EXEC``
   aborts and the batch is re-checked. Redis does not undo a transaction
   when one of its commands fails (``XADD`` on a key that is not a stream):
   the key's type is checked first, and the keys of any ``XADD`` that failed
   anyway are deleted before the error is raised;
3. mark the records delivered in the source.

A crash between 2 and 3 leaves records published but undelivered: the next
run finds their keys and only marks them, so nothing is lost, repeated or
reordered. Two relays running at once serialize on the keys they share.
Per-aggregate order follows: a batch holds a prefix of each aggregate's
pending records and is published in one transaction, so the set of published
records of an aggregate is always a prefix of its sequence.

Limits: a record re-published after its dedupe key expired (the relay was
down longer than ``dedupe_ttl_s`` right after a crash in step 3) appears
twice; every message carries the record ``id``, so consumers can drop it.
On the FalkorDB server the stream shares the keyspace with the graphs: its
name must differ from every graph's. On a Redis Cluster, give the stream a
hash tag (``{bank}:events``) so the stream and its keys share a slot
(``WATCH``/``MULTI`` need that).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

import redis
import redis.asyncio as aioredis
from redis.exceptions import WatchError

from infrastructure.persistence.steps import Steps, run_steps, run_steps_async, twin_of

from .errors import MessagingError
from .outbox import OutboxRecord


class OutboxSource(Protocol):
    """Where the relay reads records from (``GraphOutboxSource`` on FalkorDB)."""

    def pending(self, limit: int) -> Sequence[OutboxRecord]: ...

    def mark_delivered(self, ids: Sequence[UUID], at: datetime) -> int: ...


class AsyncOutboxSource(Protocol):
    async def pending(self, limit: int) -> Sequence[OutboxRecord]: ...

    async def mark_delivered(self, ids: Sequence[UUID], at: datetime) -> int: ...


class RelayContentionError(MessagingError):
    """Other relays kept publishing the same records; this batch gave up (nothing lost)."""


@dataclass(slots=True)
class RelayReport:
    """What a relay run did."""

    batches: int = 0
    published: int = 0  # new stream entries
    duplicates: int = 0  # records found already published (after a crash, or by another relay)
    marked: int = 0  # records this run marked delivered

    def add(self, other: RelayReport) -> None:
        self.batches += other.batches
        self.published += other.published
        self.duplicates += other.duplicates
        self.marked += other.marked


def message_fields(record: OutboxRecord) -> dict[str, str]:
    """The stream entry of a record: every field as text, ``payload`` as the event's JSON."""
    return {
        "id": str(record.id),
        "aggregate_type": record.aggregate_type,
        "aggregate_id": record.aggregate_id,
        "sequence": str(record.sequence),
        "event_type": record.event_type,
        "payload": record.payload,
        "created_at": record.created_at.isoformat(),
    }


def _utc_now() -> datetime:
    return datetime.now(UTC)


S = TypeVar("S")
C = TypeVar("C")


class _RelayBase(Generic[S, C]):
    """Settings and every decision of the relay, and its bodies; subclasses only drive them.

    Args:
        source: the outbox to read (``GraphOutboxSource``).
        client: a Redis client for the stream (FalkorDB's own server is a
            Redis server, so ``Database.client.connection`` works).
        stream: the stream key.
        batch_size: records per read/publish/mark round.
        dedupe_ttl_s: how long a published record's dedupe key lives (None:
            forever); it must outlast any gap between publish and mark.
        maxlen: trim the stream to about this many entries (None: keep all).
        max_attempts: how often a batch is re-checked when another relay
            touches the same records before ``RelayContentionError``.
    """

    def __init__(
        self,
        source: S,
        client: C,
        *,
        stream: str = "outbox",
        batch_size: int = 500,
        dedupe_ttl_s: int | None = 7 * 24 * 3600,
        maxlen: int | None = None,
        max_attempts: int = 10,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if not stream:
            raise ValueError("stream must be a non-empty key name")
        if type(batch_size) is not int or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if dedupe_ttl_s is not None and (type(dedupe_ttl_s) is not int or dedupe_ttl_s < 1):
            raise ValueError(f"dedupe_ttl_s must be a positive int or None, got {dedupe_ttl_s!r}")
        self.stream = stream
        self.batch_size = batch_size
        self.dedupe_ttl_s = dedupe_ttl_s
        self.maxlen = maxlen
        self.max_attempts = max_attempts
        self.clock = clock
        self.source = source
        self.client = client

    def dedupe_key(self, record_id: UUID) -> str:
        return f"{self.stream}:published:{record_id}"

    def _fresh(self, records: Sequence[OutboxRecord], seen: Sequence[Any]) -> list[OutboxRecord]:
        return [r for r, s in zip(records, seen, strict=True) if s is None]

    def _queue(self, pipe: Any, fresh: Sequence[OutboxRecord]) -> None:
        for record in fresh:
            pipe.xadd(self.stream, message_fields(record), maxlen=self.maxlen)
            pipe.set(self.dedupe_key(record.id), "1", ex=self.dedupe_ttl_s)

    def _check_stream(self, kind: Any) -> None:
        kind = kind.decode() if isinstance(kind, bytes) else kind
        if kind not in ("stream", "none"):
            raise MessagingError(
                f"key {self.stream!r} holds a {kind}, not a stream (a graph of that name?); "
                "choose another stream name; nothing was published"
            )

    def _failed(
        self, fresh: Sequence[OutboxRecord], results: Sequence[Any]
    ) -> tuple[list[str], BaseException | None]:
        """Dedupe keys of the records whose XADD failed inside EXEC, and the first error.

        Redis runs the rest of a transaction when one command fails, so those
        keys were set although nothing was added: they must be removed.
        """
        failed = [
            (self.dedupe_key(r.id), res)
            for r, res in zip(fresh, results[0::2], strict=True)
            if isinstance(res, BaseException)
        ]
        return [k for k, _ in failed], (failed[0][1] if failed else None)

    def _publish_failed(self, count: int, error: BaseException | None) -> MessagingError:
        return MessagingError(
            f"XADD to {self.stream!r} failed for {count} records ({error}); they stay "
            "undelivered and a later run publishes them"
        )

    def _contention(self, size: int) -> RelayContentionError:
        return RelayContentionError(
            f"a batch of {size} records was contended by another relay {self.max_attempts} "
            "times in a row; nothing of it was lost (run the relay again)"
        )

    @staticmethod
    def _report(records: Sequence[OutboxRecord], fresh: int, marked: int) -> RelayReport:
        return RelayReport(1, fresh, len(records) - fresh, marked)

    # -- the bodies: every I/O call yielded (see ``persistence.steps``) -------------

    def _publishing(self, records: Sequence[OutboxRecord]) -> Steps[list[OutboxRecord]]:
        if not records:
            return []
        keys = [self.dedupe_key(r.id) for r in records]
        client: Any = self.client
        for _ in range(self.max_attempts):
            pipe = client.pipeline(transaction=True)
            try:
                yield pipe.watch(*keys)
                fresh = self._fresh(records, (yield pipe.mget(keys)))
                if not fresh:
                    return []
                self._check_stream((yield pipe.type(self.stream)))
                pipe.multi()
                self._queue(pipe, fresh)
                failed, error = self._failed(fresh, (yield pipe.execute(raise_on_error=False)))
                if failed:
                    yield client.delete(*failed)
                    raise self._publish_failed(len(failed), error)
                return fresh
            except WatchError:
                # Another relay wrote a key, or the connection dropped while
                # watching (EXEC may have run): re-checking the keys settles both.
                continue
            finally:
                yield pipe.reset()
        raise self._contention(len(records))

    def _one_batch(self) -> Steps[RelayReport]:
        source: Any = self.source
        records = yield source.pending(self.batch_size)
        if not records:
            return RelayReport()
        fresh = yield from self._publishing(records)
        marked = yield source.mark_delivered([r.id for r in records], self.clock())
        return self._report(records, len(fresh), marked)

    def _draining(self, max_batches: int | None) -> Steps[RelayReport]:
        total = RelayReport()
        while max_batches is None or total.batches < max_batches:
            report = yield from self._one_batch()
            if not report.batches:
                break
            total.add(report)
        return total


class OutboxRelay(_RelayBase[OutboxSource, redis.Redis]):
    """Publishes outbox records to a Redis Stream (sync); see ``_RelayBase`` for the arguments."""

    def publish(self, records: Sequence[OutboxRecord]) -> list[OutboxRecord]:
        """Add the records not yet published to the stream, in order; returns those added.

        Raises:
            RelayContentionError: other relays kept touching the same records.
        """
        return run_steps(self._publishing(records))

    def run_once(self) -> RelayReport:
        """Relay one batch: read, publish, mark. An empty report when nothing is pending."""
        return run_steps(self._one_batch())

    def drain(self, *, max_batches: int | None = None) -> RelayReport:
        """Relay batches until nothing is pending (or ``max_batches`` ran)."""
        return run_steps(self._draining(max_batches))


@twin_of(OutboxRelay)
class AsyncOutboxRelay(_RelayBase[AsyncOutboxSource, aioredis.Redis]):
    """``OutboxRelay`` with an async source and an async Redis client."""

    async def publish(self, records: Sequence[OutboxRecord]) -> list[OutboxRecord]:
        return await run_steps_async(self._publishing(records))

    async def run_once(self) -> RelayReport:
        return await run_steps_async(self._one_batch())

    async def drain(self, *, max_batches: int | None = None) -> RelayReport:
        return await run_steps_async(self._draining(max_batches))
