"""The writes of a flush as hooks see them, and the version rule.

``Written`` lists what one flush (or every flush of one commit) creates,
changes (with which properties) and deletes, one ``EntityWrite`` each, with
the version each write stores. That version follows one rule, written here
and used by everything that needs it (the commit planner, the unit's
bookkeeping after a flush, the in-memory store, the outbox):

- a create stores version ``FIRST_VERSION`` (1);
- an update stores the version read + 1; a delete is checked at the version
  read and counts as the version read + 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .identity import InstanceState

if TYPE_CHECKING:
    from .changes import ChangeSet

#: The version a created entity stores.
FIRST_VERSION = 1


def next_version(read: int | None) -> int:
    """The version a write stores: ``FIRST_VERSION`` for a create (``read`` None), else read + 1."""
    return FIRST_VERSION if read is None else read + 1


def next_version_cypher(read: str) -> str:
    """``next_version`` as a Cypher expression over the version read (``row.v + 1``)."""
    return f"{read} + 1"


@dataclass(frozen=True, slots=True)
class EntityWrite:
    """One entity a flush writes.

    ``changed`` names the stored properties the write sets (all of them for
    an insert, none for a delete) and ``relationships`` the relationships
    whose edges it changes. ``version`` is the version the write gives the
    entity (``next_version``): 1 for an insert, the version read + 1 for an
    update or a delete (a delete is checked at the version read); None for
    an entity mapped without a version.
    """

    entity: Any
    name: str  # the mapped name (label) of the entity's class
    key: Any
    stored_key: Any  # the key as the graph stores it
    operation: Literal["insert", "update", "delete"]
    changed: frozenset[str]
    relationships: frozenset[str]
    version: int | None


@dataclass(frozen=True, slots=True)
class Written:
    """The entities one flush (or every flush of one commit) creates, changes and deletes."""

    new: tuple[EntityWrite, ...] = ()
    changed: tuple[EntityWrite, ...] = ()
    deleted: tuple[EntityWrite, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.new or self.changed or self.deleted)

    def __len__(self) -> int:
        return len(self.new) + len(self.changed) + len(self.deleted)

    def __iter__(self) -> Iterator[EntityWrite]:
        yield from self.new
        yield from self.changed
        yield from self.deleted

    def __add__(self, other: Written) -> Written:
        return Written(
            self.new + other.new, self.changed + other.changed, self.deleted + other.deleted
        )

    def write_of(self, entity: object) -> EntityWrite | None:
        """The write of ``entity`` (compared by identity), or None when it is not written."""
        return next((w for w in self if w.entity is entity), None)


def writes_of(changes: ChangeSet) -> Written:
    """The public account of a change set."""
    relinked: dict[int, set[str]] = {}
    for state, name, _ in changes.edges_after:
        relinked.setdefault(id(state), set()).add(name)

    def write(state: InstanceState, operation: Any, changed: Iterable[str]) -> EntityWrite:
        mapping = state.mapping
        if mapping.version_property is None:
            version = None
        else:
            version = next_version(None if operation == "insert" else state.version)
        return EntityWrite(
            state.entity,
            mapping.name,
            state.key,
            state.stored_key,
            operation,
            frozenset(changed),
            frozenset(relinked.get(id(state), ())),
            version,
        )

    return Written(
        tuple(write(c.state, "insert", c.state.mapping.properties) for c in changes.creates),
        tuple(write(u.state, "update", u.changed) for u in changes.updates),
        tuple(write(d.state, "delete", ()) for d in changes.deletes),
    )
