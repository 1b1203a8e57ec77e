"""Relationships between mapped entities, declared from infrastructure.

    registry.map(Person, key="id", relationships={
        "friendships": to_many(Person, "FRIEND", direction="both",
                               via=Friendship, target_field="friend"),
        "accounts": to_many(Account, "OWNS", on_delete="restrict"),
    })

The dataclass holds plain object references (``list[Person]``, ``Person |
None``) or, for edges with properties, a dataclass per edge holding the
target and the edge's properties (``Friendship(friend, since)``). Mapping a
relationship installs a descriptor on the class (as classical ORM mapping
does), so a relationship of a loaded entity is fetched on first access while
its unit is open; the domain module itself imports nothing.

Edges are unique per (source, type, target): a collection is a set of
targets, kept in list form. Delete rules apply when the entity holding the
field is deleted: ``detach`` drops the edges, ``cascade`` deletes the targets
too, ``restrict`` refuses while any target is attached.

This module holds the declarations, the loading descriptor and the lazy
state an entity carries; ``mapping.RelationshipMapping`` resolves a
declaration against the registry (its target mapping, its edge fields).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .errors import MappingError, RelationshipNotLoadedError

Direction = Literal["out", "in", "both"]
OnDelete = Literal["detach", "cascade", "restrict"]

#: Where a loaded entity keeps the loaders of its not-yet-loaded relationships.
LAZY = "__falkordb_lazy__"


@dataclass(frozen=True, slots=True)
class Relationship:
    """A declared relationship; build it with ``to_many`` or ``to_one``."""

    target: type
    edge_type: str  # the relationship type, as stored
    direction: Direction = "out"
    many: bool = True
    via: type | None = None
    target_field: str | None = None
    on_delete: OnDelete = "detach"
    indexes: tuple[str, ...] = ()  # edge properties to give a range index
    required: bool = False  # a to_one that a commit may not leave empty


def to_many(
    target: type,
    edge_type: str,
    *,
    direction: Direction = "out",
    via: type | None = None,
    target_field: str | None = None,
    on_delete: OnDelete = "detach",
    indexes: Sequence[str] = (),
) -> Relationship:
    """A collection of targets, or of ``via`` edge objects whose ``target_field`` holds one.

    ``indexes`` names edge properties (fields of ``via``) to index.
    """
    if (via is None) != (target_field is None):
        raise MappingError("to_many: give both `via` and `target_field`, or neither")
    return Relationship(
        target, edge_type, direction, True, via, target_field, on_delete, tuple(indexes)
    )


def to_one(
    target: type,
    edge_type: str,
    *,
    direction: Direction = "out",
    on_delete: OnDelete = "detach",
    required: bool = False,
) -> Relationship:
    """A single target reference (or None).

    At most one edge stands behind it, also when the edges are written from
    the other side (a ``to_many`` of the target naming the same edges): a
    commit giving it a second one fails with ``CardinalityError``.
    ``required=True`` refuses a commit that leaves it None on an entity the
    unit adds or whose relationship it changes.
    """
    return Relationship(
        target, edge_type, direction, False, None, None, on_delete, (), bool(required)
    )


class RelationshipAttribute:
    """The class-level descriptor that loads a relationship on first access."""

    def __init__(self, name: str, key: str = "") -> None:
        self.name = name
        self.key = key  # the key field, to name the entity in errors

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        values = obj.__dict__
        try:
            return values[self.name]
        except KeyError:
            pass
        loader = values.get(LAZY, {}).get(self.name)
        if loader is None:
            key = values.get(self.key, "?")
            raise RelationshipNotLoadedError(
                f"{type(obj).__name__}[{key!r}].{self.name} was not loaded before its unit of work "
                "closed (or the object was built without it); load it inside the unit, or "
                f"eagerly with load=[{self.name!r}]"
            )
        loader(obj)
        return values[self.name]

    def __set__(self, obj: Any, value: Any) -> None:
        values = obj.__dict__
        loader = values.get(LAZY, {}).get(self.name)
        if loader is not None and self.name not in values:
            loader(obj)  # what was stored must be known to diff against it
        values[self.name] = value


def is_loaded(entity: object, name: str) -> bool:
    return name in entity.__dict__


def clear_lazy(entity: object, name: str) -> None:
    """Forget the loader of ``name`` (it has loaded).

    Entities read together share one loader dictionary, so it is replaced,
    never changed in place.
    """
    lazy = entity.__dict__.get(LAZY)
    if lazy is not None and name in lazy:
        rest = {k: v for k, v in lazy.items() if k != name}
        if rest:
            entity.__dict__[LAZY] = rest
        else:
            del entity.__dict__[LAZY]


# A relationship's stored state: the target's stored (encoded) key -> (item as held,
# encoded edge properties).
Edges = dict[Any, tuple[Any, tuple[Any, ...]]]
