"""Entities and units parting and meeting again: ``merge``, ``refresh``, ``expunge``.

``merge`` takes an object from outside the unit (a closed unit, a cache, a
request body) back through the tracked entity with its key; ``refresh``
rereads a tracked entity; ``expunge`` lets one go. The first two are
I/O-free conversations that the sync and async units drive like any read.
"""

from __future__ import annotations

import copy
from typing import TypeVar

from . import reads
from .conversation import Conversation
from .errors import EntityNotFoundError, IdentityConflictError
from .identity import OWNER, InstanceState, Status
from .loading import LoadGroup, apply_stored_row, copy_fields
from .mapping import EntityMapping
from .relationships import LAZY
from .state import UnitState

T = TypeVar("T")


def expunge(unit: UnitState, entity: object) -> None:
    """Stop tracking ``entity``: it becomes a plain object, its edits are not committed.

    Raises:
        NotTrackedError: the unit does not track it.
    """
    unit.check_open()
    unit.identity.forget(unit.state_or_refuse(entity, "expunge"))


def merge(unit: UnitState, entity: T) -> Conversation[T]:
    """The tracked entity for ``entity``'s key, given ``entity``'s stored fields.

    Loads it when the unit does not hold it yet; a key stored nowhere adds a
    copy of ``entity`` as new. ``entity`` itself stays untracked. Its
    version, when the mapping has one, becomes the version the commit
    expects: a stale copy fails the commit with ``ConcurrencyError``.
    Relationships are not copied (load and edit them in the unit).

    Raises:
        IdentityConflictError: the unit deletes the entity with that key.
    """
    unit.check_open()
    mapping: EntityMapping[T] = unit.registry.mapping_for(type(entity))
    key = mapping.key_of(entity)
    state = unit.identity.get(mapping, key)
    if state is not None and state.mapping is not mapping:
        raise IdentityConflictError(
            f"{mapping.describe(entity)}: this unit tracks that key as a "
            f"{state.mapping.name}; one key is one entity of one class"
        )
    if state is None:
        rows = yield reads.by_key(mapping, key)
        loaded = unit.load_rows(mapping, rows)
        if not loaded:
            fresh = copy.copy(entity)
            if not mapping.slots:
                fresh.__dict__.pop(OWNER, None)
                fresh.__dict__.pop(LAZY, None)
            copy_fields(mapping, entity, fresh)
            unit.add(fresh)
            return fresh
        state = unit.identity.get(mapping, key)
        assert state is not None
        if state.mapping is not mapping:
            raise IdentityConflictError(
                f"{mapping.describe(entity)}: the key is stored as a {state.mapping.name}; "
                "one key is one entity of one class"
            )
    if state.entity is entity:
        return entity
    if state.status is Status.DELETED:
        raise IdentityConflictError(
            f"{mapping.describe(entity)} is marked for deletion in this unit; it cannot be merged"
        )
    target: T = state.entity
    copy_fields(mapping, entity, target)
    if mapping.version_field is not None and state.status is Status.PERSISTENT:
        state.version = getattr(entity, mapping.version_field)
        mapping.set_version(target, state.version)
    return target


def refresh(unit: UnitState, entity: object) -> Conversation[None]:
    """Reload a tracked entity's stored fields and version, discarding its edits.

    Its relationships load again on next access (sync units) or with
    ``load_related``.

    Raises:
        NotTrackedError: the unit does not track it.
        EntityNotFoundError: it is no longer stored (the unit stops tracking it).
    """
    unit.check_open()
    state = unit.state_or_refuse(entity, "refresh")
    mapping = state.mapping
    if state.status is Status.NEW:
        return
    rows = yield reads.by_key(mapping, state.key)
    if not rows:
        unit.identity.forget(state)
        raise EntityNotFoundError(mapping.name, [state.key])
    apply_stored_row(state, rows[0])
    if mapping.relationships:
        values_of = entity.__dict__
        for name in mapping.relationships:
            values_of.pop(name, None)
        if state.edges:
            state.edges.clear()
        lazy_relationships(unit, state)


def lazy_relationships(unit: UnitState, state: InstanceState) -> None:
    """Let ``state``'s relationships load from the server on next access."""
    group = LoadGroup()
    group.states.append(state)
    state.entity.__dict__[LAZY] = group.loaders(unit, list(state.mapping.relationships.values()))
