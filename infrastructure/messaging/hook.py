"""The flush hook that turns recorded domain events into outbox records.

Ordering per aggregate. An event's ``sequence`` is
``version * SEQUENCE_STRIDE + position``: ``version`` is the aggregate
version the same commit writes, ``position`` the event's index among the
events the aggregate recorded for that commit. The version guard lets
exactly one commit write each version of an aggregate, and a commit that
writes version v+1 can only start from a read of version v, so sequences are
unique and grow with commit order, across units and processes, without a
counter node or a read. Gaps are normal (a commit without events uses no
numbers). The cases that have no such version are refused with
``UnorderedEventError`` before anything is sent:

- an unversioned aggregate records events only when it is created (the
  unique key lets one create succeed; it counts as version 1);
- a versioned aggregate with events must be written by the commit: created,
  changed, or deleted (a delete is checked at version v and counts as v+1).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from infrastructure.persistence import (
    EntityMapping,
    EntityWrite,
    MappingError,
    UnitView,
    Written,
    next_version,
)
from infrastructure.persistence.state import UnitState

from .bus import MessageBus
from .codec import EventRegistry
from .errors import UnorderedEventError
from .outbox import OutboxRecord

#: Room for the events of one aggregate in one commit.
SEQUENCE_STRIDE = 1_000_000


def _utc_now() -> datetime:
    return datetime.now(UTC)


def commit_version(mapping: EntityMapping[Any], entity: object, write: EntityWrite | None) -> int:
    """The version of the aggregate ``entity`` that the pending flush writes.

    ``write`` is the flush's write of it (``UnitView.writes``), None when
    the flush leaves it alone. A created aggregate counts as the version a
    create stores (``next_version``), versioned or not.

    Raises:
        UnorderedEventError: the flush writes no version of it (see module doc).
    """
    if write is not None and write.operation == "insert":
        return next_version(None)
    what = mapping.describe(entity)
    if mapping.version_property is None:
        raise UnorderedEventError(
            f"{what} recorded events after it was created, but {mapping.name} is not versioned, "
            f"so its events cannot be ordered; map {mapping.name} with version=...; "
            "nothing was written"
        )
    version = None if write is None else write.version
    if version is None:
        raise UnorderedEventError(
            f"{what} recorded events but none of its stored fields changed, so this commit "
            "writes no new version to order them by; record events only with the change they "
            "describe; nothing was written"
        )
    return version


class OutboxHook:
    """Writes the domain events recorded on tracked entities to the outbox, atomically.

    Built on the unit's public events and view (``UnitView``, ``Written``):
    the versions come from the flush's own writes (``UnitView.writes``), so a
    flush with events compares each tracked entity once.
    ``before_flush`` turns every event in an entity's ``events`` list into an
    ``OutboxRecord`` added to the same unit, so the records travel in the
    flush's one atomic query: a failed or rolled-back commit writes neither
    state nor records. The events are moved off the entities (the records
    stay pending in the unit), so retrying a failed flush writes each event
    once; records staged for an entity dropped from the unit since (a new
    entity removed after its create failed) are dropped with it. All events
    are encoded before any is moved: a bad event raises ``EventEncodingError``
    and leaves the unit as it was.

    ``after_flush`` (the write succeeded) hands the events to ``bus``, if
    given: handlers run synchronously inside ``flush()``/``commit()``; one
    that raises is logged and the others still run; the commit stands and
    its records are still relayed.

    Args:
        events: the registry of event classes (names and JSON).
        bus: in-process handlers to run after each successful flush.
        events_attribute: the entity attribute holding recorded events.
        clock: the time stamped on records (``created_at``), UTC.

    Raises (from a flush):
        MappingError: ``OutboxRecord`` is not mapped (``register_outbox``).
        EventEncodingError, UnorderedEventError: nothing was written.
    """

    def __init__(
        self,
        events: EventRegistry,
        *,
        bus: MessageBus | None = None,
        events_attribute: str = "events",
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.events = events
        self.bus = bus
        self.events_attribute = events_attribute
        self.clock = clock

    def before_flush(self, unit: UnitView | UnitState) -> None:
        view = UnitView.of(unit)
        registry = view.registry
        if OutboxRecord not in registry:
            raise MappingError(
                "OutboxRecord is not mapped in this unit's registry; call "
                "register_outbox(registry) where the registry is built"
            )
        records: list[OutboxRecord] = []
        drained: list[list[Any]] = []
        staged: list[OutboxRecord] = []
        tracked: set[tuple[str, str]] = set()
        now: datetime | None = None
        pending: Written | None = None
        for entity in [*view.tracked_entities(), *view.deleted_entities()]:
            if isinstance(entity, OutboxRecord):
                staged.append(entity)
                continue
            mapping = registry.mapping_for(type(entity))
            aggregate_id = str(mapping.encode_key(mapping.key_of(entity)))
            tracked.add((mapping.name, aggregate_id))
            recorded = getattr(entity, self.events_attribute, None)
            if not recorded:
                continue
            if pending is None:
                pending = view.writes()
            version = commit_version(mapping, entity, pending.write_of(entity))
            if len(recorded) >= SEQUENCE_STRIDE:
                raise UnorderedEventError(
                    f"{mapping.describe(entity)} recorded {len(recorded)} events in "
                    f"one commit; at most {SEQUENCE_STRIDE - 1} fit; nothing was written"
                )
            now = now or self.clock()
            for position, event in enumerate(recorded):
                name, payload = self.events.encode(event)
                records.append(
                    OutboxRecord(
                        id=uuid.uuid4(),
                        aggregate_type=mapping.name,
                        aggregate_id=aggregate_id,
                        sequence=version * SEQUENCE_STRIDE + position,
                        event_type=name,
                        payload=payload,
                        created_at=now,
                    )
                )
            drained.append(recorded)
        if staged:
            new = {id(w.entity) for w in (pending or view.writes()).new}
            for record in staged:
                # Staged by an earlier, failed flush for an entity dropped from the unit since.
                if (
                    id(record) in new
                    and (record.aggregate_type, record.aggregate_id) not in tracked
                ):
                    view.delete(record)
        for record in records:
            view.add(record)
        for recorded in drained:
            recorded.clear()

    def after_flush(self, unit: UnitView | UnitState, written: Written) -> None:
        if self.bus is None:
            return
        records = [w.entity for w in written.new if isinstance(w.entity, OutboxRecord)]
        decoded = [self.events.decode(r.event_type, r.payload) for r in records]
        if decoded:
            self.bus.publish(decoded)

    def after_rollback(self, unit: UnitView | UnitState) -> None:
        """Drop the events of work the unit discarded, so a later commit cannot publish them.

        Entities the unit held as stored get their recorded events cleared;
        entities it only added are forgotten by the unit and keep theirs (they
        describe the entity should it be added again).
        """
        for entity in UnitView.of(unit).tracked_entities():
            events = getattr(entity, self.events_attribute, None)
            if isinstance(events, list):
                events.clear()
