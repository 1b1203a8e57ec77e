"""The identity map: one object per (identity class, key) within a unit of work.

The identity class of a mapping is the root of its class hierarchy
(``EntityMapping.identity_cls``): an ``Employee(Person)`` is tracked under
``Person``, so one key is one object whichever repository loads it.

Entities are plain dataclasses and, with ``eq=True``, unhashable; the map
therefore finds an object's state by ``id()``. The state holds a strong
reference to its entity, so an ``id`` cannot be reused while it is tracked.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .errors import IdentityConflictError
from .mapping import EntityMapping
from .relationships import LAZY, Edges

#: Where a tracked entity (of a class without slots) names the unit tracking it,
#: so a second open unit refuses it. Removed when the unit closes or lets it go.
OWNER = "__falkordb_unit__"


def _no_mark() -> None:
    return None


class UnitMark:
    """What ``OWNER`` holds: the tracking unit, left behind by copies and pickles.

    A copy or an unpickled object is not tracked by anyone, so a pickled or
    deep-copied mark becomes None (a shallow copy shares it: ``add`` asks the
    unit whether it tracks that very object).
    """

    __slots__ = ("unit",)

    def __init__(self, unit: Any) -> None:
        self.unit = unit

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (_no_mark, ())

    def __deepcopy__(self, memo: dict[int, Any]) -> None:
        return None


def owned_elsewhere(entity: object, unit: object) -> bool:
    """Whether an open unit other than ``unit`` tracks this very object."""
    mark = getattr(entity, "__dict__", {}).get(OWNER)
    owner = mark.unit if isinstance(mark, UnitMark) else None
    return owner is not None and owner is not unit and bool(owner.tracks(entity))


class Status(enum.Enum):
    NEW = "new"  # added in this unit, not yet written
    PERSISTENT = "persistent"  # loaded or written
    DELETED = "deleted"  # marked for deletion, not yet written


@dataclass(slots=True, eq=False)
class InstanceState:
    """What the unit knows about one tracked entity."""

    mapping: EntityMapping[Any]
    key: Any
    entity: Any
    status: Status
    # Encoded values as last loaded or written; None where ``fields`` gives them (see snapshot).
    encoded: tuple[Any, ...] | None
    version: int  # stored version as last loaded or written (0 when unversioned/new)
    edges: dict[str, Edges] | None = None  # loaded relationships as last loaded or written
    fields: tuple[Any, ...] | None = None  # field values as last loaded or written (copied)
    stored_key: Any = None  # the key as stored (encoded): what edges and queries name
    # The values as stored, where they differ from ``snapshot`` (read from another form,
    # such as a native value another client wrote): what a concurrency guard compares.
    raw: tuple[Any, ...] | None = None

    @property
    def snapshot(self) -> tuple[Any, ...] | None:
        """The encoded values as last loaded or written (None for a new entity).

        An entity loaded with a mapping whose stored values are its field values
        (``EntityMapping.snapshot_from_fields``) keeps one snapshot, ``fields``:
        the encoded one is made from it when a commit asks.
        """
        encoded = self.encoded
        if encoded is None and self.fields is not None:
            derive = self.mapping.snapshot_from_fields
            if derive is not None:
                return derive(self.fields, self.stored_key)
        return encoded

    @snapshot.setter
    def snapshot(self, values: tuple[Any, ...] | None) -> None:
        self.encoded = values

    def hold_snapshot(self) -> None:
        """Keep the encoded snapshot itself, before ``fields`` is replaced."""
        if self.encoded is None:
            self.encoded = self.snapshot


def detach(state: InstanceState) -> None:
    """Leave ``state``'s entity a plain object: no tracking marks in its ``__dict__``."""
    if not state.mapping.slots:
        values = state.entity.__dict__
        values.pop(OWNER, None)
        values.pop(LAZY, None)


class Table:
    """The tracked entities of one identity class: by key, and by key as stored.

    One table per identity class (``EntityMapping.identity_cls``) keeps the
    keys bare: no ``(class, key)`` tuple is built per entity or per lookup,
    and a repository holds its table for the identity-map hit of ``get``.
    """

    __slots__ = ("by_key", "by_stored")

    def __init__(self) -> None:
        self.by_key: dict[Any, InstanceState] = {}
        self.by_stored: dict[Any, InstanceState] = {}  # by encoded key


class IdentityMap:
    """Tracked entities by (identity class, key) and by object identity."""

    __slots__ = ("by_object", "tables")

    def __init__(self) -> None:
        # Public for the loading hot path only; everything else uses the methods.
        self.by_object: dict[int, InstanceState] = {}
        self.tables: dict[type, Table] = {}

    def table(self, mapping: EntityMapping[Any]) -> Table:
        """The table of ``mapping``'s identity class (made on first use, then kept)."""
        cls = mapping.identity_cls
        table = self.tables.get(cls)
        if table is None:
            table = self.tables[cls] = Table()
        return table

    def get(self, mapping: EntityMapping[Any], key: Any) -> InstanceState | None:
        table = self.tables.get(mapping.identity_cls)
        return None if table is None else table.by_key.get(key)

    def state_of(self, entity: object) -> InstanceState | None:
        return self.by_object.get(id(entity))

    def track(self, state: InstanceState) -> None:
        """Start tracking ``state``.

        Raises:
            IdentityConflictError: a different object is already tracked
                under the same class and key.
        """
        table = self.table(state.mapping)
        existing = table.by_key.get(state.key)
        if existing is not None and existing.entity is not state.entity:
            name = f"{state.mapping.name}[{state.key!r}]"
            if existing.status is Status.DELETED:
                raise IdentityConflictError(
                    f"{name} is marked for deletion in this unit, so a new object cannot take "
                    "its key in the same unit: commit the delete first, or keep the existing "
                    "object (add() it again to undo the delete) and change its fields"
                )
            raise IdentityConflictError(
                f"{name} is already tracked in this unit as another object; change the "
                "existing object instead of adding a second one, or copy this one's state "
                "onto it with uow.merge(obj)"
            )
        table.by_key[state.key] = state
        self.by_object[id(state.entity)] = state
        table.by_stored[state.stored_key] = state

    def track_loaded(self, state: InstanceState) -> None:
        """Track a state whose key the map does not hold (the caller checked: no second look)."""
        table = self.table(state.mapping)
        table.by_key[state.key] = state
        self.by_object[id(state.entity)] = state
        table.by_stored[state.stored_key] = state

    def forget(self, state: InstanceState) -> None:
        table = self.tables.get(state.mapping.identity_cls)
        if table is not None:
            table.by_key.pop(state.key, None)
            table.by_stored.pop(state.stored_key, None)
        self.by_object.pop(id(state.entity), None)
        detach(state)

    def clear(self) -> None:
        # The tables stay (repositories hold them), emptied.
        for table in self.tables.values():
            table.by_key.clear()
            table.by_stored.clear()
        self.by_object.clear()

    def __bool__(self) -> bool:
        return bool(self.by_object)

    def __iter__(self) -> Iterator[InstanceState]:
        # Every tracked state is in ``by_object``, in the order it was tracked.
        return iter(list(self.by_object.values()))

    def __len__(self) -> int:
        return len(self.by_object)
