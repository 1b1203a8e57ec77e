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
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .compiled import Refused, compile_encode
from .errors import MappingError, PersistenceError, ValueEncodingError
from .names import safe_identifier

if TYPE_CHECKING:
    from .mapping import EntityMapping, FieldNode, Registry

Direction = Literal["out", "in", "both"]
OnDelete = Literal["detach", "cascade", "restrict"]

#: Where a loaded entity keeps the loaders of its not-yet-loaded relationships.
LAZY = "__falkordb_lazy__"


class RelationshipNotLoadedError(PersistenceError):
    """An unloaded relationship was touched where it cannot be loaded."""


class DanglingReferenceError(PersistenceError):
    """A relationship would point at an entity the same unit deletes."""


class DeleteRestrictedError(PersistenceError):
    """A delete was refused by a ``restrict`` rule; nothing was written."""


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
    target: type, edge_type: str, *, direction: Direction = "out", on_delete: OnDelete = "detach"
) -> Relationship:
    """A single target reference (or None)."""
    return Relationship(target, edge_type, direction, False, None, None, on_delete)


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


class RelationshipMapping:
    """A resolved relationship of one mapped class."""

    def __init__(
        self, source: EntityMapping[Any], name: str, decl: Relationship, registry: Registry
    ) -> None:
        self.source = source
        self.name = name
        self.decl = decl
        self.type = safe_identifier(decl.edge_type, f"relationship type of {source.name}.{name}")
        self.many = decl.many
        self.on_delete = decl.on_delete
        self.direction = decl.direction
        if decl.direction not in ("out", "in", "both"):
            raise MappingError(f"{source.name}.{name}: direction must be out, in or both")
        if decl.on_delete not in ("detach", "cascade", "restrict"):
            raise MappingError(
                f"{source.name}.{name}: on_delete must be detach, cascade or restrict"
            )
        self._registry = registry
        self.edge_fields: tuple[FieldNode, ...] = ()
        self.edge_properties: tuple[str, ...] = ()
        if decl.via is not None:
            self._map_via(decl.via, decl.target_field or "")
        unknown = [p for p in decl.indexes if p not in self.edge_properties]
        if unknown:
            raise MappingError(
                f"{source.name}.{name}: indexes name no edge property: {unknown} "
                f"(edge properties: {list(self.edge_properties) or 'none'})"
            )

    def _map_via(self, via: type, target_field: str) -> None:
        from .mapping import field_nodes  # the two modules describe each other

        where = f"{self.source.name}.{self.name}"
        if not dataclasses.is_dataclass(via):
            raise MappingError(f"{where}: via={via!r} must be a dataclass")
        names = [f.name for f in dataclasses.fields(via)]
        if target_field not in names:
            raise MappingError(f"{where}: {via.__name__} has no field {target_field!r}")
        hints = typing.get_type_hints(via)
        stored = [n for n in names if n != target_field]
        self.edge_fields, self.edge_properties = field_nodes(
            stored, hints, f"{where} ({via.__name__})"
        )
        self._encode_fast = compile_encode(self.edge_fields)

    @property
    def label(self) -> str:
        return f"{self.source.label}_{self.name}"

    @property
    def target(self) -> EntityMapping[Any]:
        return self._registry.mapping_for(self.decl.target)

    @property
    def self_loops(self) -> bool:
        """Whether an entity can hold itself through this relationship (same type both ends)."""
        return self.decl.target is self.source.cls

    def pattern(self, a: str, r: str, b: str) -> str:
        """The edge pattern from the holder ``a`` to the target ``b``."""
        if self.direction == "out":
            return f"({a})-[{r}:{self.type}]->({b})"
        if self.direction == "in":
            return f"({a})<-[{r}:{self.type}]-({b})"
        return f"({a})-[{r}:{self.type}]-({b})"

    def create_pattern(self, a: str, r: str, b: str, props: str = "") -> str:
        """The pattern that creates the edge (an undirected one points holder to target)."""
        edge = f"{r}:{self.type}" + (f" {{{props}}}" if props else "")
        if self.direction == "in":
            return f"({a})<-[{edge}]-({b})"
        return f"({a})-[{edge}]->({b})"

    # -- values ---------------------------------------------------------------

    def target_of(self, item: Any) -> Any:
        return getattr(item, self.decl.target_field) if self.decl.target_field else item

    def encode_edge(self, item: Any) -> tuple[Any, ...]:
        """The edge object's stored properties, encoded, in ``edge_properties`` order."""
        if not self.edge_fields:
            return ()
        try:
            return self._encode_fast(item)
        except (Refused, ValueEncodingError, AttributeError):
            pass  # the field walk below names what is wrong
        out: list[Any] = []
        for node in self.edge_fields:
            try:
                node.encode_into(getattr(item, node.name), out)
            except ValueEncodingError as exc:
                raise ValueEncodingError(
                    f"{self.source.name}.{self.name} edge {node.name}: {exc}; nothing was written"
                ) from None
        return tuple(out)

    def decode_edge(self, target: Any, props: tuple[Any, ...] | list[Any]) -> Any:
        if self.decl.via is None:
            return target
        values: dict[str, Any] = {self.decl.target_field or "": target}
        at = 0
        for node in self.edge_fields:
            values[node.name] = node.decode_from(props, at)
            at += node.width
        return self.decl.via(**values)

    def restore_edge(self, item: Any, props: tuple[Any, ...]) -> None:
        """Put an edge object's properties back to ``props`` (after a rollback)."""
        if self.decl.via is None or not self.edge_fields:
            return
        fresh = self.decode_edge(self.target_of(item), props)
        for node in self.edge_fields:
            object.__setattr__(item, node.name, getattr(fresh, node.name))

    def items(self, entity: Any) -> list[Any]:
        """The items the entity holds now (targets, or edge objects), as a list."""
        value = entity.__dict__.get(self.name)
        if not self.many:
            return [] if value is None else [value]
        if isinstance(value, list | tuple):
            return list(value)
        where = f"{self.source.describe(entity)}.{self.name}"
        raise ValueEncodingError(f"{where} must be a list, got {type(value).__name__}")

    def unchanged(self, entity: Any, stored: Edges) -> bool:
        """True when the entity holds exactly the stored items, in order, with their properties.

        The cheap check before a full diff: object identity, then (for edge
        objects) their encoded properties.
        """
        value = entity.__dict__.get(self.name)
        with_props = bool(self.edge_properties)
        if not self.many and len(stored) > 1:
            # A to-one over several stored edges (see ``assign``): unchanged
            # while it holds one of them, as loaded.
            return any(
                item is value and (not with_props or self.encode_edge(item) == props)
                for item, props in stored.values()
            )
        items = value if self.many else ([] if value is None else [value])
        if not isinstance(items, list | tuple) or len(items) != len(stored):
            return False
        for item, (old, props) in zip(items, stored.values(), strict=True):
            if item is not old:
                return False
            if with_props and self.encode_edge(item) != props:
                return False
        return True

    def current(self, entity: Any, stored_key_of: Callable[[Any], Any]) -> Edges:
        """The relationship as the entity holds it now: stored target key -> (item, edge props).

        ``stored_key_of`` gives a tracked target's key as stored (None: not tracked).
        """
        items = self.items(entity)
        target_mapping = self.target
        edges: Edges = {}
        for item in items:
            target = self.target_of(item)
            if type(target) is not target_mapping.cls:
                where = f"{self.source.describe(entity)}.{self.name}"
                raise ValueEncodingError(
                    f"{where} holds a {type(target).__name__}; expected {target_mapping.name}"
                )
            key = stored_key_of(target)
            if key is None:  # not tracked (yet): its key as it would be stored
                key = target_mapping.encode_key(target_mapping.key_of(target))
            if key in edges:
                where = f"{self.source.describe(entity)}.{self.name}"
                raise ValueEncodingError(
                    f"{where} holds {target_mapping.describe(target)} twice; an edge is unique "
                    "per pair of entities"
                )
            edges[key] = (item, self.encode_edge(item))
        return edges

    def assign(self, entity: Any, edges: Edges) -> None:
        """Set the field from stored edges, bypassing the loading descriptor."""
        if self.many:
            entity.__dict__[self.name] = [item for item, _ in edges.values()]
        elif len(edges) > 1:
            # Several stored edges under a to-one (written through another
            # relationship over the same edges): it shows the target with the
            # smallest stored key, and writes nothing until it is changed.
            entity.__dict__[self.name] = edges[min(edges, key=_order)][0]
        else:
            entity.__dict__[self.name] = next(iter(edges.values()))[0] if edges else None


def _order(key: Any) -> tuple[str, Any]:
    # Stored keys of one type are all text or all numbers; the type name keeps any mix ordered.
    return (type(key).__name__, key)
