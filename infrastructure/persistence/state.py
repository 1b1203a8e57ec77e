"""The I/O-free heart of a unit of work, shared by the sync and async units.

``UnitState`` owns the identity map and the change tracking. The sync and
async shells ask it what to send (``prepare_flush``), send it, and report back
(``flushed``); every decision is made here once. Multi-step exchanges (a
failed commit followed by the reads that explain it) are written as
generators that yield a ``Read`` and receive its rows, so each shell only
drives them with its own kind of I/O.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from . import loading
from .changes import ChangeSet, collect_changes
from .codec import same_stored
from .errors import (
    CommitError,
    ConcurrencyError,
    ConcurrentUseError,
    DanglingReferenceError,
    DeleteRestrictedError,
    DuplicateKeyError,
    IdentityConflictError,
    NotTrackedError,
    PersistenceError,
    UnitClosedError,
    ValueEncodingError,
)
from .events import UnitEvents
from .identity import OWNER, IdentityMap, InstanceState, Status, UnitMark
from .loading import Reader
from .mapping import EntityMapping, Registry, RelationshipMapping
from .planner import (
    CommitPlan,
    existing_keys_probe,
    plan_commit,
    restrict_probe,
    stale_keys,
    stale_probe,
)
from .reads import Attached, ExistingKeys, Read, Versions
from .relationships import LAZY, is_loaded

T = TypeVar("T")

R = TypeVar("R")

# A generator-driven exchange: yields reads, is sent their rows, returns an R.
Exchange = Generator[Read, list[list[Any]], R]


@dataclass(frozen=True, slots=True)
class PendingFlush:
    changes: ChangeSet
    plan: CommitPlan


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
        mark = getattr(entity, "__dict__", {}).get(OWNER)
        owner = mark.unit if isinstance(mark, UnitMark) else None
        if owner is not None and owner is not self and owner.tracks(entity):
            raise IdentityConflictError(
                f"{mapping.describe(entity)} is tracked by another open unit of work; "
                "load it in this unit instead (one unit, one identity map), or take a "
                "copy of its state with uow.merge(obj)"
            )
        key = mapping.key_of(entity)
        stored = mapping.encode_key(key)  # a key that cannot be stored is refused at once
        state = InstanceState(mapping, key, entity, Status.NEW, None, 0, stored_key=stored)
        if (mapping.cls, key) in identity.by_key:
            identity.track(state)  # raises: another object holds this key
        identity.track_loaded(state)
        if not mapping.slots:
            entity.__dict__[OWNER] = self.mark

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
        state = self.identity.get(mapping.cls, key)
        if state is None:
            return False, None
        if state.status is Status.DELETED:
            return True, None
        entity: T = state.entity
        return True, entity

    def load_rows(
        self,
        mapping: EntityMapping[T],
        rows: Sequence[Sequence[Any]],
        load: Sequence[RelationshipMapping] = (),
    ) -> list[T]:
        """Tracked entities for rows of ``reads.projection`` (see ``loading.load_rows``)."""
        return loading.load_rows(self, mapping, rows, load)

    def load_related(self, rel: RelationshipMapping, entities: Sequence[object]) -> Exchange[None]:
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
            return bool(self.changes())
        except (ValueEncodingError, PersistenceError):
            return True  # an edit that cannot be stored is still a pending edit

    def prepare_flush(self) -> Exchange[PendingFlush | None]:
        """What the next flush must send, or None when nothing changed.

        Fires ``before_flush``, adds new entities reachable through tracked
        relationships (cascade on add), loads what ``cascade`` delete rules
        need (the only reads a flush may make), then fires the per-entity
        ``before_*`` events (their edits are part of the plan).
        """
        self.check_open()
        events = self.events
        events.before_flush(self)
        self._adopt_new_targets()
        yield from self._expand_cascades()
        changes = self.changes()
        if events.entity_handlers and changes and events.before_writes(self, changes):
            self._adopt_new_targets()
            changes = self.changes()
        plan = plan_commit(changes)
        return None if plan is None else PendingFlush(changes, plan)

    def _adopt_new_targets(self) -> None:
        deleted = Status.DELETED
        work = [
            s
            for s in self.identity
            if s.mapping.relationships
            and s.status is not deleted
            and not s.entity.__dict__.keys().isdisjoint(s.mapping.relationships)
        ]
        while work:
            state = work.pop()
            for name, rel in state.mapping.relationships.items():
                if not state.entity.__dict__.get(name):
                    continue  # not loaded, None or empty: no target to adopt
                stored = state.edges.get(name, {}) if state.edges else {}
                for item in rel.items(state.entity):
                    target = rel.target_of(item)
                    target_state = self.identity.state_of(target)
                    if target_state is None:
                        self.add(target)
                        added = self.identity.state_of(target)
                        if added is not None and added.mapping.relationships:
                            work.append(added)
                    elif (
                        target_state.status is Status.DELETED
                        and target_state.stored_key not in stored
                    ):
                        key = target_state.key
                        raise DanglingReferenceError(
                            f"{state.mapping.describe(state.entity)}.{name} holds "
                            f"{rel.target.name}[{key!r}], which this unit deletes; remove it "
                            "from the relationship or keep the entity"
                        )

    def _expand_cascades(self) -> Exchange[None]:
        seen: set[int] = set()
        while True:
            todo: dict[str, tuple[RelationshipMapping, list[InstanceState]]] = {}
            for state in self.identity:
                if state.status is not Status.DELETED or id(state) in seen:
                    continue
                seen.add(id(state))
                for rel in state.mapping.relationships.values():
                    if rel.on_delete == "cascade":
                        todo.setdefault(rel.label, (rel, []))[1].append(state)
            if not todo:
                return
            for rel, states in todo.values():
                unloaded = [s for s in states if not (s.edges and rel.name in s.edges)]
                if unloaded:
                    rows = yield loading.related_read(rel, unloaded)
                    for s in unloaded:  # the holder is deleted: take what is stored
                        s.entity.__dict__.pop(rel.name, None)
                    loading.apply_related(self, rel, unloaded, rows)
                for s in states:
                    assert s.edges is not None
                    for item, _ in s.edges[rel.name].values():
                        child = self.identity.state_of(rel.target_of(item))
                        if child is not None and child.status is Status.PERSISTENT:
                            child.status = Status.DELETED

    def flushed(self, pending: PendingFlush) -> None:
        """Record that ``pending`` was written: snapshots and versions move forward."""
        changes = pending.changes
        for create in changes.creates:
            state = create.state
            state.status = Status.PERSISTENT
            state.snapshot = create.values
            state.fields = state.mapping.snapshot_of(state.entity)
            if state.mapping.version_property:
                state.version = 1
                state.mapping.set_version(state.entity, 1)
        for update in changes.updates:
            state = update.state
            state.snapshot = update.values
            state.fields = state.mapping.snapshot_of(state.entity)
            if state.mapping.version_property:
                state.version += 1
                state.mapping.set_version(state.entity, state.version)
        for state, name, edges in changes.edges_after:
            if state.edges is None:
                state.edges = {}
            state.edges[name] = edges
        for delete in changes.deletes:
            self.identity.forget(delete.state)
        self.flushed_since_commit = True
        self.events.after_flush(self, changes)

    def tracked_entities(self) -> list[object]:
        """Every entity the unit tracks that is not marked for deletion."""
        return [s.entity for s in self.identity if s.status is not Status.DELETED]

    def explain_failure(self, pending: PendingFlush, message: str) -> Exchange[PersistenceError]:
        """Turn a failed commit into the error that names what went wrong.

        Yields the reads it needs and returns the error to raise. The failed
        query wrote nothing. Which check of the query fired first depends on
        its shape, so the cause is read back in one fixed order, whatever the
        server said: entities stale or gone (``ConcurrencyError``: rerunning
        from fresh reads is the cure, and may avoid the rest), then keys
        already taken (``DuplicateKeyError``), then ``restrict`` rules that
        still hold targets (``DeleteRestrictedError``).
        """
        plan = pending.plan
        stale: list[tuple[str, Any]] = []
        for batch in plan.checked:
            if batch.operation not in ("update", "delete"):
                continue
            query, params = stale_probe(batch)
            asked = [k for k, _ in batch.rows]
            rows = yield Read(query, params, Versions(batch.mapping, asked, batch.olds or None))
            stale.extend((batch.mapping.name, k) for k in stale_keys(batch, rows))
        if stale:
            return ConcurrencyError(stale)
        taken: list[str] = []
        for mapping, keys in plan.created:
            query, params = existing_keys_probe(mapping, keys)
            rows = yield Read(query, params, ExistingKeys(mapping, keys))
            decode = mapping.key_codec.decode
            taken.extend(f"{mapping.name}[{decode(r[0])!r}]" for r in rows)
        if taken:
            return _duplicate(taken, message)
        for rule in plan.restricted:
            query, params = restrict_probe(rule)
            rows = yield Read(query, params, Attached(rule.rel, rule.source, rule.removed))
            if rows:
                rel = rule.rel
                holder = f"{rel.source.name}[{rel.source.key_codec.decode(rule.source)!r}]"
                attached = ", ".join(
                    f"{rel.target.name}[{rel.target.key_codec.decode(r[0])!r}]" for r in rows
                )
                return DeleteRestrictedError(
                    f"{holder} cannot be deleted: its {rel.name!r} relationship (restrict) "
                    f"still holds {attached}; remove those first. Nothing was written."
                )
        if "unique constraint" in message.lower():
            return DuplicateKeyError(
                f"an entity already holds a unique value this commit writes; nothing was "
                f"written ({message})"
            )
        if "division by zero" in message.lower():
            return ConcurrencyError(stale)
        return CommitError(f"commit failed, nothing was written: {message}")

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
        self.closed = True


def _duplicate(taken: Sequence[str], message: str) -> DuplicateKeyError:
    shown = ", ".join(taken) or "an entity"
    return DuplicateKeyError(
        f"{shown} already exists; nothing was written ({message}). An object from "
        "another unit (detached, cached, rebuilt from a request) that stands for a "
        "stored entity is saved with uow.merge(obj), not add"
    )


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
    state.fields = mapping.snapshot_of(state.entity)


def _restore_edges(state: InstanceState) -> None:
    assert state.edges is not None
    for name, edges in state.edges.items():
        rel = state.mapping.relationships[name]
        for item, props in edges.values():
            rel.restore_edge(item, props)
        rel.assign(state.entity, edges)
