"""The I/O-free heart of a unit of work, shared by the sync and async units.

``UnitState`` owns the identity map, the change tracking and the unit's
lifecycle. The sync and async shells ask it what to send (``prepare_flush``),
send it, and report back (``flushed``); every decision is made once, here
and in the modules it hands one job each: ``cascades`` (what a flush adds
and deletes besides the edits), ``diagnosis`` (what a failed commit stands
for), ``events`` (the hooks). Multi-step exchanges (a flush that reads the
edges a cascade needs) are written as generators that yield a ``Read`` and
receive its rows, so each shell only drives them with its own kind of I/O.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from . import bulk as bulk_ops
from . import loading
from .bulk_plan import plan_bulk
from .cardinality import check_required
from .cascades import adopt_new_targets, expand_cascades
from .changes import ChangeSet, collect_changes
from .codec import same_stored
from .conversation import Conversation, Reader
from .errors import (
    ConcurrentUseError,
    IdentityConflictError,
    NotTrackedError,
    PersistenceError,
    UnitClosedError,
    ValueEncodingError,
)
from .events import UnitEvents
from .identity import OWNER, IdentityMap, InstanceState, Status, UnitMark, owned_elsewhere
from .mapping import EntityMapping, Registry, RelationshipMapping
from .planner import CommitPlan, plan_commit
from .relationships import LAZY, is_loaded
from .writes import next_version

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PendingFlush:
    changes: ChangeSet
    plan: CommitPlan
    bulk: tuple[bulk_ops.BulkOp, ...] = ()  # queued upserts and set-based changes it writes


class FlushHook(Protocol):
    """An object whose methods named after events (``events.EVENTS``) handle them.

    Any subset will do: ``before_flush(unit)`` may add entities to the unit
    (an outbox record for each domain event, say), ``after_flush(unit,
    written)`` runs once the query succeeded, ``after_rollback(unit)`` once
    the unit discarded its pending work (see ``events``). An ``events.Events``
    registry is a hook too.
    """


class UnitState:
    """Identity map, change tracking and lifecycle of one unit of work."""

    __slots__ = (
        "_entering",
        "bulk",
        "busy",
        "closed",
        "events",
        "flushed_since_commit",
        "hooks",
        "identity",
        "lazy_reader",
        "mark",
        "registry",
        "who",
    )

    def __init__(self, registry: Registry, hooks: Sequence[FlushHook] = ()) -> None:
        self.registry = registry
        self.hooks = tuple(hooks)
        self.events = UnitEvents(self.hooks)
        # Set by the sync unit: how a relationship loads on attribute access.
        self.lazy_reader: Reader | None = None
        self.identity = IdentityMap()
        # Upserts and set-based changes queued for the next commit (see ``bulk``).
        self.bulk: list[bulk_ops.BulkOp] = []
        self.closed = False
        self.flushed_since_commit = False
        self.mark = UnitMark(self)
        # Who is inside a read or a flush (a thread or a task), and how to tell who asks.
        self.busy: object | None = None
        self.who: Callable[[], object] = threading.get_ident
        self._entering = threading.Lock()

    # -- one user at a time -----------------------------------------------------

    def enter(self) -> object | None:
        """Mark the caller as inside a read or flush; returns what ``leave`` restores.

        A unit is one conversation with one identity map: it is not shared
        between threads or tasks. Two at once would interleave a commit with
        the loads and edits of another, so the second is refused.

        Raises:
            ConcurrentUseError: another thread or task is inside this unit.
        """
        me = self.who()
        with self._entering:
            holder = self.busy
            if holder is not None and holder != me:
                raise ConcurrentUseError(
                    "this unit of work is in use by another thread or task: a unit is one "
                    "conversation with one identity map, not shared; open one unit per "
                    "thread, task or request"
                )
            self.busy = me
        return holder

    def leave(self, previous: object | None) -> None:
        self.busy = previous

    def check_alone(self) -> None:
        """Raise ``ConcurrentUseError`` when another thread or task is inside the unit."""
        holder = self.busy
        if holder is not None and holder != self.who():
            self.enter()  # raises

    def check_open(self) -> None:
        if self.closed:
            raise UnitClosedError(
                "this unit of work is closed; start a new one (each `with uow:` block is one unit)"
            )

    # -- tracking -------------------------------------------------------------

    def add(self, entity: object) -> None:
        """Track a new entity (or un-delete a tracked one); written at the next flush.

        Raises:
            MappingError: the entity's class is not mapped.
            ValueEncodingError: its key cannot be stored.
            IdentityConflictError: another object has the same key in this unit,
                or another open unit tracks the entity.
        """
        if self.closed:
            self.check_open()
        if self.busy is not None:
            self.check_alone()
        identity = self.identity
        state = identity.by_object.get(id(entity))
        if state is not None:
            if state.status is Status.DELETED:
                state.status = Status.PERSISTENT
            return
        mapping = self.registry.mapping_for(type(entity))
        held = None if mapping.slots else entity.__dict__
        mark = None if held is None else held.get(OWNER)
        if mark is not None and owned_elsewhere(entity, self):
            raise IdentityConflictError(
                f"{mapping.describe(entity)} is tracked by another open unit of work; "
                "load it in this unit instead (one unit, one identity map), or take a "
                "copy of its state with uow.merge(obj)"
            )
        key = mapping.key_of(entity)
        stored = mapping.encode_key(key)  # a key that cannot be stored is refused at once
        state = InstanceState(mapping, key, entity, Status.NEW, None, 0, None, None, stored)
        table = identity.table(mapping)
        if table.by_key.setdefault(key, state) is not state:
            identity.track(state)  # raises: another object holds this key
        identity.by_object[id(entity)] = state
        table.by_stored[stored] = state
        if held is not None:
            held[OWNER] = self.mark

    def tracks(self, entity: object) -> bool:
        """Whether this unit is open and tracks this very object."""
        state = self.identity.by_object.get(id(entity))
        return not self.closed and state is not None and state.entity is entity

    def state_or_refuse(self, entity: object, doing: str) -> InstanceState:
        """The state of a tracked ``entity``.

        Raises:
            NotTrackedError: the unit does not track this object.
        """
        state = self.identity.state_of(entity)
        if state is None or state.entity is not entity:
            mapping = self.registry.mapping_for(type(entity))
            name = f"{mapping.describe(entity)}"
            raise NotTrackedError(
                f"cannot {doing} {name}: this unit does not track that object (it was loaded by "
                "another unit, or its unit closed). Load it in this unit first "
                f"(repository.get(key)) and {doing} that, or copy its state into this unit "
                "with uow.merge(obj)"
            )
        return state

    def delete(self, entity: object) -> None:
        """Mark a tracked entity for deletion; an entity added in this unit is simply dropped.

        Raises:
            NotTrackedError: the entity is not tracked by this unit.
        """
        self.check_open()
        self.check_alone()
        state = self.state_or_refuse(entity, "remove")
        if state.status is Status.NEW:
            self.identity.forget(state)
        else:
            state.status = Status.DELETED

    def tracked(self, mapping: EntityMapping[T], key: Any) -> tuple[bool, T | None]:
        """``(known, entity)``: known is True when the map decides (entity None = deleted)."""
        state = self.identity.get(mapping, key)
        if state is None:
            return False, None
        if state.status is Status.DELETED or not mapping.covers(state.mapping):
            return True, None  # deleted here, or the key is another class's of the hierarchy
        entity: T = state.entity
        return True, entity

    def load_rows(
        self,
        mapping: EntityMapping[T],
        rows: Sequence[Sequence[Any]],
        load: Sequence[RelationshipMapping] = (),
        keys: dict[Any, Any] | None = None,
    ) -> list[T]:
        """Tracked entities for rows of ``reads.projection`` (see ``loading.load_rows``)."""
        return loading.load_rows(self, mapping, rows, load, keys)

    def load_related(
        self, rel: RelationshipMapping, entities: Sequence[object]
    ) -> Conversation[None]:
        """Load ``rel`` for those ``entities`` that do not hold it yet, in one read."""
        states = [
            s
            for s in (self.identity.state_of(e) for e in entities)
            if s is not None and s.status is Status.PERSISTENT and not is_loaded(s.entity, rel.name)
        ]
        if states:
            rows = yield loading.related_read(rel, states)
            loading.apply_related(self, rel, states, rows)

    # -- flushing ---------------------------------------------------------------

    def changes(self) -> ChangeSet:
        return collect_changes(self.identity)

    def has_pending_changes(self) -> bool:
        try:
            return bool(self.bulk) or bool(self.changes())
        except (ValueEncodingError, PersistenceError):
            return True  # an edit that cannot be stored is still a pending edit

    def prepare_flush(self) -> Conversation[PendingFlush | None]:
        """What the next flush must send, or None when nothing changed.

        Fires ``before_flush``, adds new entities reachable through tracked
        relationships (cascade on add), loads what ``cascade`` delete rules
        need (the only reads a flush may make), then fires the per-entity
        ``before_*`` events (their edits are part of the plan).
        """
        self.check_open()
        events = self.events
        if not (self.identity or self.bulk) and "before_flush" not in events.handlers:
            return None  # nothing tracked or queued, no handler to add any: nothing to write
        bulk_ops.settle_upserts(self)  # upserts of keys loaded since: edits of those entities
        staged = events.before_flush(self)
        adopted = adopt_new_targets(self.identity, self.add)
        expanded = (
            (yield from expand_cascades(self.identity, self._apply_related))
            if self.registry.cascades
            else False
        )
        # The change set a before_flush handler computed holds unless the unit changed since.
        changes = staged if staged is not None and not (adopted or expanded) else self.changes()
        if events.entity_handlers and changes and events.before_writes(self, changes):
            adopt_new_targets(self.identity, self.add)
            changes = self.changes()
        if self.registry.requires_targets:
            check_required(self.identity)
        queued = tuple(self.bulk)
        plan = plan_commit(changes, plan_bulk(queued, self.identity))
        return None if plan is None else PendingFlush(changes, plan, queued)

    def _apply_related(
        self, rel: RelationshipMapping, states: Sequence[InstanceState], rows: list[list[Any]]
    ) -> None:
        loading.apply_related(self, rel, states, rows)

    def flushed(self, pending: PendingFlush, reply: Sequence[Sequence[Any]] | None = None) -> None:
        """Record that ``pending`` was written: snapshots and versions move forward.

        ``reply`` is the commit query's result rows (what its upserts and
        set-based changes returned); None when it is not known.
        """
        changes = pending.changes
        for create in changes.creates:
            state = create.state
            state.status = Status.PERSISTENT
            state.snapshot = create.values
            state.fields = state.mapping.snapshot_of(state.entity)
            if state.mapping.version_property:
                state.version = next_version(None)
                state.mapping.set_version(state.entity, state.version)
        for update in changes.updates:
            state = update.state
            state.snapshot = update.values
            state.fields = state.mapping.snapshot_of(state.entity)
            if state.mapping.version_property:
                state.version = next_version(state.version)
                state.mapping.set_version(state.entity, state.version)
        for state, name, edges in changes.edges_after:
            if state.edges is None:
                state.edges = {}
            state.edges[name] = edges
        for delete in changes.deletes:
            self.identity.forget(delete.state)
        if pending.bulk:
            returns = pending.plan.returns
            outcomes = dict(zip(returns, reply[0][1:], strict=True)) if reply else None
            bulk_ops.settle(self, list(pending.bulk), outcomes)
        self.flushed_since_commit = True
        self.events.after_flush(self, changes)

    def tracked_entities(self) -> list[object]:
        """Every entity the unit tracks that is not marked for deletion."""
        return [s.entity for s in self.identity if s.status is not Status.DELETED]

    # -- ending -----------------------------------------------------------------

    def commit_done(self) -> None:
        self.flushed_since_commit = False
        self.events.after_commit(self)

    def rollback(self) -> bool:
        """Discard pending work and restore tracked entities to their last stored state.

        Returns True when work flushed since the last commit exists (and so
        could not be undone).
        """
        for state in self.identity:
            if state.status is Status.NEW:
                self.identity.forget(state)
                continue
            state.status = Status.PERSISTENT
            _restore(state)
            if state.edges:
                _restore_edges(state)
        self.bulk.clear()
        had_flushed = self.flushed_since_commit
        self.flushed_since_commit = False
        self.events.after_rollback(self)
        return had_flushed

    def close(self) -> None:
        """End the unit; its entities become plain objects (no tracking marks left)."""
        if not self.closed:
            for state in self.identity.by_object.values():
                mapping = state.mapping
                if not mapping.slots:
                    values = state.entity.__dict__
                    values.pop(OWNER, None)
                    if mapping.relationships:  # only they get lazy loaders
                        values.pop(LAZY, None)
        self.identity.clear()
        self.bulk.clear()
        self.closed = True


def _restore(state: InstanceState) -> None:
    mapping = state.mapping
    assert state.snapshot is not None
    if state.fields is not None and mapping.unchanged(state.entity, state.fields):
        return
    try:
        if same_stored(mapping.encode(state.entity), state.snapshot):
            return
    except ValueEncodingError:
        pass
    fresh = mapping.decode(state.snapshot)
    for name in mapping.field_names:
        object.__setattr__(state.entity, name, getattr(fresh, name))
    mapping.set_version(state.entity, state.version)
    state.hold_snapshot()
    state.fields = mapping.snapshot_of(state.entity)


def _restore_edges(state: InstanceState) -> None:
    assert state.edges is not None
    for name, edges in state.edges.items():
        rel = state.mapping.relationships[name]
        for item, props in edges.values():
            rel.restore_edge(item, props)
        rel.assign(state.entity, edges)
