"""Mapping of plain domain dataclasses onto FalkorDB nodes.

The domain never sees this module: infrastructure maps each entity class once
(``registry.map(Person, label="Person", key="id", version="version")``) and
everything else (reads, change tracking, the commit planner) works from the
resulting ``EntityMapping``.

A field holding a frozen dataclass (a value object such as ``Money``) is
stored flattened, one property per leaf field: ``balance_amount``,
``balance_currency`` (see ``fields``).

A relationship declared with ``to_many``/``to_one`` (``relationships``) is
resolved here into a ``RelationshipMapping``: its validated type, direction
and delete rule, the field nodes of its edge objects, and the mapping of its
target, looked up in the ``Registry`` when first needed.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from .careful import CarefulDecoder
from .codec import ScalarCodec
from .compiled import (
    compile_decode,
    compile_same,
    compile_snapshot,
    field_encoder,
    tracked_encoder,
)
from .errors import MappingError, StoredValueError, ValueEncodingError
from .fields import FieldNode, field_nodes, guard_unique, leaf_properties, type_hints
from .names import safe_identifier
from .relationships import Edges, Relationship, RelationshipAttribute
from .vectors import Vector, vector_codec

T = TypeVar("T")

_MISSING = dataclasses.MISSING


def _vector_fields(
    name: str, vectors: Mapping[str, Vector] | None, stored: Sequence[str]
) -> dict[str, Vector]:
    out = dict(vectors or {})
    for field, decl in out.items():
        if field not in stored:
            raise MappingError(f"{name}: vectors names {field!r}, which is not a stored field")
        if not isinstance(decl, Vector):
            raise MappingError(f"{name}.{field}: declare a vector with Vector(dimension, ...)")
    return out


class EntityMapping(Generic[T]):
    """How one entity class is stored: label, key, properties, version.

    Build it with ``Registry.map``. ``properties`` lists the stored property
    names in a fixed order; ``encode`` turns an entity into a tuple in that
    order, and ``decode`` builds an entity from such a tuple without calling
    its ``__init__`` (as loading from storage should not rerun validation).
    """

    def __init__(
        self,
        cls: type[T],
        *,
        label: str,
        key: str,
        version: str | None = None,
        exclude: Iterable[str] = (),
        relationships: Mapping[str, Relationship] | None = None,
        registry: Registry | None = None,
        indexes: Iterable[str] = (),
        unique: Iterable[str] = (),
        concurrency: str | None = "dirty",
        vectors: Mapping[str, Vector] | None = None,
        fulltext: Iterable[str] = (),
        labels: Iterable[str] = (),
        parent: EntityMapping[Any] | None = None,
    ) -> None:
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise MappingError(f"{cls!r} is not a dataclass; only dataclasses can be mapped")
        self.cls = cls
        self.name = cls.__name__
        self.label = safe_identifier(label, f"label of {self.name}")
        if isinstance(labels, str):
            raise MappingError(f"{self.name}: labels takes a list of labels, not {labels!r}")
        #: The mapping of the nearest mapped base class (None for the root of a hierarchy).
        self.parent = parent
        #: The root of the hierarchy: the class whose label carries the key constraint.
        self.root: EntityMapping[Any] = self if parent is None else parent.root
        #: The class the identity map keys entities on: one object per key in a hierarchy.
        self.identity_cls: type = self.root.cls
        #: The label every node of the hierarchy carries, and the key is unique under.
        self.key_label = self.root.label
        self.depth: int = 0 if parent is None else parent.depth + 1
        #: The labels of the hierarchy down to this class: ``("Person", "Employee")``.
        self.lineage: tuple[str, ...] = (*(parent.lineage if parent else ()), self.label)
        #: Mappings of the mapped subclasses, at any depth, in the order they were mapped.
        self.descendants: list[EntityMapping[Any]] = []
        self._family: _Family | None = None
        #: Labels every node of the mapping carries besides those of its hierarchy
        #: (``labels=[...]``, its bases' included).
        self.extra_labels: tuple[str, ...] = tuple(
            dict.fromkeys(
                safe_identifier(extra, f"extra label of {self.name}")
                for extra in (*(parent.extra_labels if parent else ()), *labels)
                if extra not in self.lineage
            )
        )
        #: ``Base:Label:Extra``: what a create writes.
        self.node_labels = ":".join((*self.lineage, *self.extra_labels))
        #: What a match by key names: the key label and, for a subclass, its own label.
        self.match_labels = self.label if parent is None else f"{self.key_label}:{self.label}"
        excluded = set(exclude)
        declared = dict(relationships or {})
        inherited: dict[str, RelationshipMapping] = {}
        if parent is not None:
            excluded |= parent.excluded
            inherited = {n: r for n, r in parent.relationships.items() if n not in declared}
        #: Fields not stored (``exclude=``, and for a subclass those of its bases).
        self.excluded: frozenset[str] = frozenset(excluded)
        hints = type_hints(cls, self.name)
        all_fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = (excluded | set(declared)) - set(all_fields)
        if unknown:
            raise MappingError(
                f"{self.name}: exclude/relationships name unknown fields {sorted(unknown)}"
            )
        if key in declared:
            raise MappingError(f"{self.name}: the key field {key!r} cannot be a relationship")
        if key not in all_fields:
            raise MappingError(f"{self.name}: key {key!r} is not a field of {self.name}")
        if key in excluded:
            raise MappingError(f"{self.name}: the key field {key!r} cannot be excluded")

        self.version_property = (
            safe_identifier(version, f"version property of {self.name}") if version else None
        )
        self.version_field = version if version in all_fields else None
        if concurrency not in ("dirty", None):
            raise MappingError(
                f"{self.name}: concurrency must be 'dirty' (guard updates on the values read) "
                f"or None (no guard: the last writer wins), not {concurrency!r}"
            )
        #: Whether updates are guarded on the stored values of what they change
        #: (unversioned mappings, unless mapped with ``concurrency=None``).
        self.guards_values = self.version_property is None and concurrency == "dirty"
        if self.version_field is not None and hints[self.version_field] not in (int, int | None):
            raise MappingError(f"{self.name}.{version}: a version field must be annotated int")

        # Excluded and version fields are filled from defaults when loading.
        self._defaults: list[tuple[str, Any, bool]] = []  # (field, default, is a factory)
        for fname in (*sorted(excluded), *([self.version_field] if self.version_field else [])):
            f = all_fields[fname]
            if f.default is not _MISSING:
                self._defaults.append((fname, f.default, False))
            elif f.default_factory is not _MISSING:
                self._defaults.append((fname, f.default_factory, True))
            elif fname != self.version_field:
                raise MappingError(
                    f"{self.name}.{fname} is excluded from storage, so it needs a default"
                )

        stored = [
            n
            for n in all_fields
            if n not in excluded
            and n != self.version_field
            and n not in declared
            and n not in inherited
        ]
        self.fields, self.properties = field_nodes(stored, hints, self.name)
        #: Vector fields (``vectors.Vector``), stored as vecf32 under their field names.
        self.vectors: dict[str, Vector] = _vector_fields(self.name, vectors, stored)
        self.fields = tuple(
            dataclasses.replace(
                node,
                codec=vector_codec(
                    self.vectors[node.name], hints[node.name], f"{self.name}.{node.name}"
                ),
            )
            if node.name in self.vectors
            else node
            for node in self.fields
        )
        self.field_names = tuple(stored)
        leaves: list[tuple[str, ScalarCodec]] = []
        self.field_offsets: dict[str, int] = {}
        for node in self.fields:
            self.field_offsets[node.name] = len(leaves)
            leaves.extend(leaf_properties(node, ""))
        self.property_codecs: dict[str, ScalarCodec] = dict(leaves)
        self.property_index = {p: i for i, p in enumerate(self.properties)}
        if self.version_property in self.properties:
            raise MappingError(
                f"{self.name}: version property {self.version_property!r} collides with a field"
            )

        key_codec = self.fields[self.field_names.index(key)].codec
        key_type = key_codec.type_name if key_codec else ""
        if key_codec is None or key_type == "Any" or key_type.endswith("None") or "[" in key_type:
            raise MappingError(f"{self.name}.{key}: the key must be a required scalar field")
        self.key_field = key
        self.key_property = key
        self.key_index = self.field_offsets[key]
        self.key_codec: ScalarCodec = key_codec
        self.slots = "__slots__" in cls.__dict__
        # A subclass holds its bases' relationships (the same edges, read the same way).
        self.relationships: dict[str, RelationshipMapping] = dict(inherited)
        if declared:
            if self.slots or registry is None:
                raise MappingError(
                    f"{self.name}: relationships need a dataclass without slots, mapped "
                    "through a Registry"
                )
            for name, decl in declared.items():
                self.relationships[name] = RelationshipMapping(self, name, decl, registry)
                setattr(cls, name, RelationshipAttribute(name, key))
        # Declared schema: range indexes and unique constraints besides the key's.
        self.indexes = tuple(dict.fromkeys(indexes))
        #: Unique properties, its bases' included (their constraints are on the base's
        #: label, which every node of the subclass carries).
        self.unique: tuple[str, ...] = tuple(
            dict.fromkeys((*(parent.unique if parent else ()), *unique))
        )
        for prop in (*self.indexes, *self.unique):
            self.codec_of(prop)
        #: Text properties under one full-text index (``search``).
        self.fulltext = tuple(dict.fromkeys(fulltext))
        for prop in self.fulltext:
            if self.codec_of(prop).type_name not in ("str", "str | None"):
                raise MappingError(f"{self.name}.{prop}: a full-text field must be a str field")
        if key in self.vectors:
            raise MappingError(f"{self.name}.{key}: the key cannot be a vector")
        # Values under a unique constraint pass a stricter check (see codec.unique_safe).
        guarded = {self.key_property, *self.unique}
        self.fields = tuple(guard_unique(node, "", guarded) for node in self.fields)
        for node in self.fields:
            at = self.field_offsets[node.name]
            for i, (prop, codec) in enumerate(leaf_properties(node, "")):
                self.property_codecs[prop] = codec
                if prop == self.key_property and i == 0 and at == self.key_index:
                    self.key_codec = codec

        # What a stored node lacking a field's property loads with: () for no default.
        self._careful = CarefulDecoder(self)
        self._encode = field_encoder(self.fields, lambda e, field: f"{self.describe(e)}.{field}")
        #: ``encode_tracked(entity, key, stored_key)``: ``encode``, the key not encoded again.
        self.encode_tracked = tracked_encoder(self.fields, key, self._encode)
        self._decode = compile_decode(
            cls,
            self.fields,
            key,
            self.version_field,
            self._defaults,
            self.slots,
            self._careful.decode,
        )
        #: ``load(row, key, version) -> (entity, field snapshot)``: an entity for a stored
        #: row whose decoded key is known (the generated decoder itself: no call between).
        self.load: Callable[[Sequence[Any], Any, int], tuple[T, tuple[Any, ...]]] = self._decode
        #: The class a decoded key has: a key of exactly this class loads as itself.
        self.key_class: type | None = hints[key] if isinstance(hints[key], type) else None
        #: The stored field values copied for a snapshot, and the check against one.
        self.snapshot_of = compile_snapshot(self.fields)
        self.unchanged = compile_same(self.fields)
        #: Where every stored field but the key is stored as it is held (one property
        #: each, no decoding), the encoded snapshot of a loaded entity is its field
        #: snapshot with the stored key put in: ``(fields, stored_key) -> values``.
        self.snapshot_from_fields: Callable[[tuple[Any, ...], Any], tuple[Any, ...]] | None = (
            _with_stored_key(self.key_index)
            if all(
                node.codec is not None
                and not node.codec.mutable
                and (node.codec.plain or node.name == key)
                for node in self.fields
            )
            else None
        )

    def __repr__(self) -> str:
        return f"EntityMapping({self.name}, label={self.label!r}, key={self.key_field!r})"

    # -- hierarchy ------------------------------------------------------------

    def covers(self, other: EntityMapping[Any]) -> bool:
        """Whether ``other`` is this mapping or the mapping of one of its subclasses."""
        return other is self or other in self.descendants

    def unique_label(self, prop: str) -> str:
        """The label whose constraint keeps unique property ``prop`` unique (the topmost
        class of the hierarchy declaring it)."""
        declaring: EntityMapping[Any] = self
        while declaring.parent is not None and prop in declaring.parent.unique:
            declaring = declaring.parent
        return declaring.label

    def added_descendant(self, mapping: EntityMapping[Any]) -> None:
        self.descendants.append(mapping)
        self._family = None

    @property
    def family(self) -> _Family:
        """How rows read through this mapping load its subclasses (see ``_Family``)."""
        if self._family is None:
            self._family = _Family(self)
        return self._family

    @property
    def row_width(self) -> int:
        """The columns a read's row spends on the entity: properties, version, and (when
        subclasses are mapped) its kind and the subclasses' properties (``family``)."""
        if not self.descendants:
            return len(self.properties) + 1
        return len(self.properties) + 2 + len(self.family.extra)

    # -- values ---------------------------------------------------------------

    def encode(self, entity: T) -> tuple[Any, ...]:
        """Validate and encode every stored field, in ``properties`` order.

        Raises:
            ValueEncodingError: a field value cannot be stored exactly; the
                message names the entity, its key and the field.
        """
        return self._encode(entity)

    def encode_key(self, key: Any) -> Any:
        """Encode a key for use as a query parameter."""
        try:
            return self.key_codec.encode(key)
        except ValueEncodingError as exc:
            raise ValueEncodingError(f"{self.name} key: {exc}") from None

    def key_of(self, entity: T) -> Any:
        return getattr(entity, self.key_field)

    def decode(self, row: Sequence[Any]) -> T:
        """Build an entity from stored values in ``properties`` order (version 0)."""
        key = self.key_codec.decode(row[self.key_index])
        entity: T = self._decode(row, key, 0)[0]
        return entity

    def problems(self, row: Sequence[Any]) -> list[StoredValueError]:
        """What in a stored row (``properties`` order) cannot load; empty when it can."""
        return self._careful.problems(row)

    def set_version(self, entity: T, version: int) -> None:
        if self.version_field is not None:
            object.__setattr__(entity, self.version_field, version)

    def describe(self, entity: T) -> str:
        try:
            return f"{self.name}[{self.key_of(entity)!r}]"
        except AttributeError:
            return self.name

    def codec_of(self, field: str) -> ScalarCodec:
        """The codec of a stored scalar field (for query criteria)."""
        if field not in self.property_codecs:
            raise MappingError(
                f"{self.name} has no stored scalar field {field!r}; "
                f"fields: {', '.join(self.properties)}"
            )
        return self.property_codecs[field]


def _with_stored_key(at: int) -> Callable[[tuple[Any, ...], Any], tuple[Any, ...]]:
    """``(fields, stored_key) -> fields`` with the key at ``at`` replaced by its stored form."""

    def values(fields: tuple[Any, ...], stored_key: Any) -> tuple[Any, ...]:
        return (*fields[:at], stored_key, *fields[at + 1 :])

    return values


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
        self._encode_edge = field_encoder(
            self.edge_fields, lambda _item, field: f"{where} edge {field}"
        )

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
        return self._encode_edge(item)

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
            kind = type(target)
            if kind is not target_mapping.cls and all(
                d.cls is not kind for d in target_mapping.descendants
            ):
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


class _Family:
    """The subclasses a mapping's reads load: which class a node stands for, and where
    each subclass's properties sit in a row.

    A read through the mapping returns, after the version, the node's kind (0: the
    mapping itself, ``i``: ``order[i - 1]``, the deepest mapped class whose label it
    carries, computed by the server with ``kind_column``), then the ``extra`` properties.
    (An integer costs the server and the client far less than ``labels(n)``.)
    """

    def __init__(self, mapping: EntityMapping[Any]) -> None:
        own = mapping.properties
        #: Properties of subclasses the mapping itself does not store, in a fixed order.
        self.extra = tuple(
            dict.fromkeys(p for d in mapping.descendants for p in d.properties if p not in own)
        )
        at = {p: i for i, p in enumerate((*own, *self.extra))}
        #: Per subclass: the positions of its properties in (own values, extra values).
        self.picks = {d: tuple(at[p] for p in d.properties) for d in mapping.descendants}
        #: The subclasses, deepest first; among equally deep ones, the first mapped.
        self.order = sorted(mapping.descendants, key=lambda d: -d.depth)
        self._kinds = (mapping, *self.order)

    def kind_column(self, var: str) -> str:
        """The Cypher expression of a node's kind (labels no mapping declares are passed over)."""
        cases = " ".join(f"WHEN {var}:{d.label} THEN {i}" for i, d in enumerate(self.order, 1))
        return f"CASE {cases} ELSE 0 END"

    def kind_of(self, labels: Sequence[str]) -> int:
        """A node's kind from its labels, as ``kind_column`` computes it."""
        held = set(labels)
        return next((i for i, d in enumerate(self.order, 1) if d.label in held), 0)

    def concrete(self, kind: int) -> EntityMapping[Any]:
        """The mapping a node of ``kind`` loads as."""
        return self._kinds[kind]


def _inherit(
    name: str,
    parent: EntityMapping[Any],
    key: str | None,
    version: str | None,
    concurrency: str | None,
    vectors: Mapping[str, Vector] | None,
    fulltext: Iterable[str],
) -> tuple[str, str | None, str | None]:
    """A subclass mapping's key, version and concurrency: its base's (naming others fails)."""
    if key is not None and key != parent.key_field:
        raise MappingError(
            f"{name} extends {parent.name}, whose key is {parent.key_field!r}: a subclass keeps "
            f"its base's key (leave key= out), not {key!r}"
        )
    if version is not None and version != parent.version_property:
        raise MappingError(
            f"{name} extends {parent.name}: a subclass keeps its base's version property "
            f"({parent.version_property!r}; leave version= out), not {version!r}"
        )
    if vectors or tuple(fulltext) or parent.root.vectors or parent.root.fulltext:
        raise MappingError(
            f"{name} extends {parent.name}: vector and full-text fields are not supported in "
            "a class hierarchy (their indexes are per label); map them on a class of its own"
        )
    if parent.version_property is None:
        concurrency = "dirty" if parent.guards_values else None
    return parent.key_field, parent.version_property, concurrency


def _order(key: Any) -> tuple[str, Any]:
    # Stored keys of one type are all text or all numbers; the type name keeps any mix ordered.
    return (type(key).__name__, key)


class Registry:
    """All entity mappings of one application.

    ``map`` is called once per entity class in infrastructure; the domain
    classes stay plain.
    """

    def __init__(self) -> None:
        self._by_class: dict[type, EntityMapping[Any]] = {}
        self._by_label: dict[str, EntityMapping[Any]] = {}
        #: Whether a mapping has a ``to_one(..., required=True)`` (checked at each flush).
        self.requires_targets = False
        #: Whether a mapping has a relationship with ``on_delete="cascade"`` (what a
        #: flush expands before planning; none: nothing to expand).
        self.cascades = False

    def map(
        self,
        cls: type[T],
        *,
        key: str | None = None,
        label: str | None = None,
        version: str | None = None,
        exclude: Iterable[str] = (),
        relationships: Mapping[str, Relationship] | None = None,
        indexes: Iterable[str] = (),
        unique: Iterable[str] = (),
        concurrency: str | None = "dirty",
        vectors: Mapping[str, Vector] | None = None,
        fulltext: Iterable[str] = (),
        labels: Iterable[str] = (),
        hierarchy: bool = True,
    ) -> EntityMapping[T]:
        """Map ``cls`` to nodes labelled ``label`` (default: the class name).

        ``labels`` names more labels every node of ``cls`` carries (a shared
        ``Entity`` label for one index over several types, say); the mapping
        reads and matches on ``label``, which no other mapping may carry.

        ``key`` names the field holding the application key (UUID or natural
        key, backed by a unique constraint); ``version``, if given, names the
        integer property used for optimistic concurrency (a field of that name
        is kept up to date when the class has one); ``exclude`` names fields
        that are not stored (they must have defaults); ``relationships`` maps
        fields to ``to_many``/``to_one`` declarations (see ``relationships``);
        ``indexes`` and ``unique`` name stored properties to give a range
        index or a unique constraint (``ensure_schema`` creates them);
        ``vectors`` maps ``list[float]`` fields to ``Vector(dimension,
        similarity)``: stored as vecf32 under a vector index, for ``nearest``;
        ``fulltext`` names str fields under one full-text index, for ``search``.

        Without ``version``, ``concurrency="dirty"`` (the default) guards each
        update on the stored values, as this unit read them, of the properties
        it changes: a concurrent change of one of them fails the commit with
        ``ConcurrencyError``, a change of another property does not.
        ``concurrency=None`` turns the guard off (the last writer wins).

        ``vectors`` names ``list[float]`` fields stored as ``vecf32`` vectors
        (what a vector index reads): written and compared as float32.

        A subclass of an already mapped class joins its hierarchy (README,
        "Class hierarchies"): it keeps the base's key and version (leave
        ``key`` out), and its nodes carry the base's labels too.
        ``hierarchy=False`` maps it as a class of its own instead.

        Raises:
            MappingError: the class is already mapped, the label is taken, or
                a field cannot be stored.
        """
        if cls in self._by_class:
            raise MappingError(f"{cls.__name__} is already mapped")
        parent = self._base_mapping(cls) if hierarchy else None
        if parent is not None:
            key, version, concurrency = _inherit(
                cls.__name__, parent, key, version, concurrency, vectors, fulltext
            )
        elif key is None:
            raise MappingError(f"{cls.__name__}: name its key field (key=...)")
        mapping = EntityMapping(
            cls,
            label=label or cls.__name__,
            key=key,
            version=version,
            exclude=exclude,
            relationships=relationships,
            registry=self,
            indexes=indexes,
            unique=unique,
            concurrency=concurrency,
            vectors=vectors,
            fulltext=fulltext,
            labels=labels,
            parent=parent,
        )
        if parent is not None and mapping.key_codec.type_name != parent.key_codec.type_name:
            raise MappingError(
                f"{mapping.name}.{mapping.key_field}: a subclass keeps its base's key type "
                f"({parent.key_codec.type_name}), not {mapping.key_codec.type_name}"
            )
        for other in self._by_class.values():
            shared = ({mapping.label} & set(other.extra_labels)) | (
                {other.label} & set(mapping.extra_labels)
            )
            if shared:
                raise MappingError(
                    f"{mapping.name} and {other.name}: label {shared.pop()!r} is the label of "
                    "one and an extra label of the other, so reading one would load the "
                    "other's nodes; give each mapping a label of its own"
                )
        if mapping.label in self._by_label:
            raise MappingError(
                f"label {mapping.label!r} is already used by {self._by_label[mapping.label].name}"
            )
        self._by_class[cls] = mapping
        self._by_label[mapping.label] = mapping
        ancestor = parent
        while ancestor is not None:
            ancestor.added_descendant(mapping)
            ancestor = ancestor.parent
        self.requires_targets |= any(r.decl.required for r in mapping.relationships.values())
        self.cascades |= any(r.on_delete == "cascade" for r in mapping.relationships.values())
        return mapping

    def mapping_for(self, cls: type[T]) -> EntityMapping[T]:
        """The mapping of ``cls``.

        Raises:
            MappingError: ``cls`` is not mapped.
        """
        try:
            return self._by_class[cls]
        except KeyError:
            raise MappingError(
                f"{getattr(cls, '__name__', cls)!r} is not mapped; "
                f"map it with registry.map({getattr(cls, '__name__', 'cls')}, key=...)"
            ) from None

    def mapping_for_label(self, label: str) -> EntityMapping[Any] | None:
        """The mapping whose nodes carry ``label``, or None."""
        return self._by_label.get(label)

    def mapping_for_labels(self, labels: Iterable[str]) -> EntityMapping[Any] | None:
        """The mapping a node with ``labels`` loads as: the deepest mapped class among them."""
        found = [m for m in map(self._by_label.get, labels) if m is not None]
        return max(found, key=lambda m: m.depth) if found else None

    def _base_mapping(self, cls: type) -> EntityMapping[Any] | None:
        """The mapping of ``cls``'s nearest mapped base class, if any."""
        for base in cls.__mro__[1:]:
            if base in self._by_class:
                return self._by_class[base]
        return None

    def __iter__(self) -> typing.Iterator[EntityMapping[Any]]:
        return iter(self._by_class.values())

    def __contains__(self, cls: object) -> bool:
        return cls in self._by_class
