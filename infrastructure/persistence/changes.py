"""The change set of a unit: what a commit must create, update and delete.

``collect_changes`` compares every tracked entity with its snapshot (no
manual dirty marking) and produces a ``ChangeSet``; the planner turns that
into one query. Both are free of I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .errors import MappingError
from .identity import InstanceState, Status
from .mapping import EntityMapping


@dataclass(frozen=True, slots=True)
class Create:
    state: InstanceState
    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Update:
    state: InstanceState
    values: tuple[Any, ...]
    changed: dict[str, Any]  # property -> new encoded value (None removes it)


@dataclass(frozen=True, slots=True)
class Delete:
    state: InstanceState


@dataclass(slots=True)
class ChangeSet:
    creates: list[Create] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    deletes: list[Delete] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.creates or self.updates or self.deletes)

    def __len__(self) -> int:
        return len(self.creates) + len(self.updates) + len(self.deletes)


def diff(mapping: EntityMapping[Any], old: tuple[Any, ...], new: tuple[Any, ...]) -> dict[str, Any]:
    """The properties whose encoded value differs, with their new values."""
    props = mapping.properties
    return {props[i]: b for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b}


def collect_changes(states: Iterable[InstanceState]) -> ChangeSet:
    """Compare every tracked entity with its snapshot.

    Raises:
        ValueEncodingError: a value cannot be stored (names entity and field).
        MappingError: a tracked entity's key was changed.
    """
    changes = ChangeSet()
    for state in states:
        status = state.status
        if status is Status.DELETED:
            changes.deletes.append(Delete(state))
            continue
        mapping = state.mapping
        values = mapping.encode(state.entity)
        if status is Status.NEW:
            changes.creates.append(Create(state, values))
            continue
        if values == state.snapshot:
            continue
        assert state.snapshot is not None
        if values[mapping.key_index] != state.snapshot[mapping.key_index]:
            raise MappingError(
                f"{mapping.name}[{state.key!r}]: the key field {mapping.key_field!r} was changed "
                f"to {mapping.key_of(state.entity)!r}; keys cannot change: add a new entity and "
                "delete the old one instead"
            )
        changes.updates.append(Update(state, values, diff(mapping, state.snapshot, values)))
    return changes
