"""The I/O-free heart of a unit of work, shared by the sync and async units.

``UnitState`` owns the identity map and the change tracking. The sync and
async shells ask it what to send (``plan_flush``), send it, and report back
(``flushed``); every decision is made here once. Multi-step exchanges (a
failed commit followed by the reads that explain it) are written as
generators that yield a ``Read`` and receive its rows, so each shell only
drives them with its own kind of I/O.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from .changes import ChangeSet, collect_changes
from .errors import (
    CommitError,
    ConcurrencyError,
    DuplicateKeyError,
    EntityNotFoundError,
    PersistenceError,
    UnitClosedError,
    ValueEncodingError,
)
from .identity import IdentityMap, InstanceState, Status
from .mapping import EntityMapping, Registry
from .planner import CommitPlan, existing_keys_probe, plan_commit, stale_keys, stale_probe
from .reads import Read

T = TypeVar("T")

# What a generator-driven exchange yields and is sent back.
Exchange = Generator[Read, list[list[Any]], PersistenceError]


@dataclass(frozen=True, slots=True)
class PendingFlush:
    changes: ChangeSet
    plan: CommitPlan


class FlushHook(Protocol):
    """Extends what a flush writes, inside the same atomic query.

    ``before_flush`` may add entities to the unit (an outbox record for each
    domain event, say); ``after_flush`` runs once the query succeeded.
    """

    def before_flush(self, unit: UnitState) -> None: ...

    def after_flush(self, unit: UnitState, pending: PendingFlush) -> None: ...


class UnitState:
    """Identity map, change tracking and lifecycle of one unit of work."""

    __slots__ = ("closed", "flushed_since_commit", "hooks", "identity", "registry")

    def __init__(self, registry: Registry, hooks: Sequence[FlushHook] = ()) -> None:
        self.registry = registry
        self.hooks = tuple(hooks)
        self.identity = IdentityMap()
        self.closed = False
        self.flushed_since_commit = False

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
            IdentityConflictError: another object has the same key in this unit.
        """
        self.check_open()
        state = self.identity.state_of(entity)
        if state is not None:
            if state.status is Status.DELETED:
                state.status = Status.PERSISTENT
            return
        mapping = self.registry.mapping_for(type(entity))
        key = mapping.key_of(entity)
        mapping.encode_key(key)
        self.identity.track(InstanceState(mapping, key, entity, Status.NEW, None, 0))

    def delete(self, entity: object) -> None:
        """Mark a tracked entity for deletion; an entity added in this unit is simply dropped.

        Raises:
            EntityNotFoundError: the entity is not tracked by this unit.
        """
        self.check_open()
        state = self.identity.state_of(entity)
        if state is None:
            mapping = self.registry.mapping_for(type(entity))
            raise EntityNotFoundError(mapping.name, [mapping.key_of(entity)]) from None
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

    def load_rows(self, mapping: EntityMapping[T], rows: Sequence[Sequence[Any]]) -> list[T]:
        """Entities for rows of ``reads.projection`` (properties, then version).

        A key already tracked yields the tracked object, unchanged: local edits
        win over what was read. Entities deleted in this unit are left out.
        """
        identity = self.identity
        cls = mapping.cls
        key_index = mapping.key_index
        decode_key = mapping.key_codec.decode
        out: list[T] = []
        for row in rows:
            values = tuple(row[:-1])
            key = decode_key(values[key_index])
            state = identity.get(cls, key)
            if state is None:
                entity = mapping.decode(values)
                version = row[-1]
                mapping.set_version(entity, version)
                identity.track(
                    InstanceState(mapping, key, entity, Status.PERSISTENT, values, version)
                )
                out.append(entity)
            elif state.status is not Status.DELETED:
                out.append(state.entity)
        return out

    # -- flushing ---------------------------------------------------------------

    def changes(self) -> ChangeSet:
        return collect_changes(self.identity)

    def has_pending_changes(self) -> bool:
        try:
            return bool(self.changes())
        except (ValueEncodingError, PersistenceError):
            return True  # an edit that cannot be stored is still a pending edit

    def plan_flush(self) -> PendingFlush | None:
        """What the next flush must send, or None when nothing changed."""
        self.check_open()
        for hook in self.hooks:
            hook.before_flush(self)
        changes = self.changes()
        plan = plan_commit(changes)
        return None if plan is None else PendingFlush(changes, plan)

    def flushed(self, pending: PendingFlush) -> None:
        """Record that ``pending`` was written: snapshots and versions move forward."""
        changes = pending.changes
        for create in changes.creates:
            state = create.state
            state.status = Status.PERSISTENT
            state.snapshot = create.values
            if state.mapping.version_property:
                state.version = 1
                state.mapping.set_version(state.entity, 1)
        for update in changes.updates:
            state = update.state
            state.snapshot = update.values
            if state.mapping.version_property:
                state.version += 1
                state.mapping.set_version(state.entity, state.version)
        for delete in changes.deletes:
            self.identity.forget(delete.state)
        self.flushed_since_commit = True
        for hook in self.hooks:
            hook.after_flush(self, pending)

    def tracked_entities(self) -> list[object]:
        """Every entity the unit tracks that is not marked for deletion."""
        return [s.entity for s in self.identity if s.status is not Status.DELETED]

    def explain_failure(self, pending: PendingFlush, message: str) -> Exchange:
        """Turn a failed commit into the error that names what went wrong.

        Yields the reads it needs (stale versions, existing keys) and returns
        the error to raise. The failed query wrote nothing.
        """
        plan = pending.plan
        if "division by zero" in message.lower():
            stale: list[tuple[str, Any]] = []
            for batch in plan.checked:
                query, params = stale_probe(batch)
                rows = yield Read(query, params)
                stale.extend((batch.mapping.name, k) for k in stale_keys(batch, rows))
            return ConcurrencyError(stale)
        if "unique constraint" in message.lower():
            taken: list[str] = []
            for mapping, keys in plan.created:
                query, params = existing_keys_probe(mapping, keys)
                rows = yield Read(query, params)
                decode = mapping.key_codec.decode
                taken.extend(f"{mapping.name}[{decode(r[0])!r}]" for r in rows)
            shown = ", ".join(taken) or "an entity"
            return DuplicateKeyError(f"{shown} already exists; nothing was written ({message})")
        return CommitError(f"commit failed, nothing was written: {message}")

    # -- ending -----------------------------------------------------------------

    def commit_done(self) -> None:
        self.flushed_since_commit = False

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
        had_flushed = self.flushed_since_commit
        self.flushed_since_commit = False
        return had_flushed

    def close(self) -> None:
        self.identity.clear()
        self.closed = True


def _restore(state: InstanceState) -> None:
    mapping = state.mapping
    assert state.snapshot is not None
    try:
        if mapping.encode(state.entity) == state.snapshot:
            return
    except ValueEncodingError:
        pass
    fresh = mapping.decode(state.snapshot)
    for name in mapping.field_names:
        object.__setattr__(state.entity, name, getattr(fresh, name))
    mapping.set_version(state.entity, state.version)
