"""Mapping of plain domain dataclasses onto FalkorDB nodes.

The domain never sees this module: infrastructure maps each entity class once
(``registry.map(Person, label="Person", key="id", version="version")``) and
everything else (reads, change tracking, the commit planner) works from the
resulting ``EntityMapping``.

A field holding a frozen dataclass (a value object such as ``Money``) is
stored flattened, one property per leaf field: ``balance_amount``,
``balance_currency``.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .careful import CarefulDecoder, may_be_all_none
from .codec import (
    ScalarCodec,
    codec_for,
    is_value_object,
    split_optional,
    unique_safe,
)
from .compiled import Refused, compile_decode, compile_encode, compile_fields, compile_same
from .errors import MappingError, StoredValueError, ValueEncodingError
from .names import safe_identifier
from .relationships import Relationship, RelationshipAttribute, RelationshipMapping
from .vectors import Vector, vector_codec

T = TypeVar("T")

_MISSING = dataclasses.MISSING


@dataclass(frozen=True, slots=True)
class FieldNode:
    """One dataclass field: a stored scalar, or a value object with children."""

    name: str
    codec: ScalarCodec | None  # None for a value object
    children: tuple[FieldNode, ...] = ()
    vo_class: type | None = None
    optional: bool = False
    width: int = 1  # how many properties it occupies

    def encode_into(self, value: Any, out: list[Any]) -> None:
        if self.codec is not None:
            out.append(self.codec.encode(value))
        elif value is None:
            if not self.optional:
                raise ValueEncodingError(f"expected {self.vo_class_name}, got None")
            out.extend([None] * self.width)
        else:
            if type(value) is not self.vo_class:
                raise ValueEncodingError(
                    f"expected {self.vo_class_name}, got {type(value).__name__} {value!r}"
                )
            for child in self.children:
                child.encode_into(getattr(value, child.name), out)

    def decode_from(self, row: Sequence[Any], at: int) -> Any:
        if self.codec is not None:
            return self.codec.decode(row[at])
        if self.optional and all(v is None for v in row[at : at + self.width]):
            return None
        values: dict[str, Any] = {}
        for child in self.children:
            values[child.name] = child.decode_from(row, at)
            at += child.width
        assert self.vo_class is not None
        return self.vo_class(**values)

    @property
    def vo_class_name(self) -> str:
        return self.vo_class.__name__ if self.vo_class else "value"


def type_hints(cls: type, where: str) -> dict[str, Any]:
    """The resolved annotations of ``cls``, or a ``MappingError`` naming the unresolvable one."""
    try:
        return typing.get_type_hints(cls)
    except NameError as exc:
        raise MappingError(
            f"{where}: cannot resolve the annotations of {cls.__name__} ({exc}); define the "
            "classes it names at module level"
        ) from None


def _field_node(name: str, annotation: Any, where: str) -> FieldNode:
    if is_value_object(annotation, where):
        inner, optional = split_optional(annotation)
        hints = type_hints(inner, where)
        children = tuple(
            _field_node(f.name, hints[f.name], f"{where}.{f.name}")
            for f in dataclasses.fields(inner)
        )
        if optional and all(may_be_all_none(c) for c in children):
            # Such a value with every field None is stored exactly like None.
            raise MappingError(
                f"{where}: an optional value object needs a field that cannot be None, or "
                f"{inner.__name__} with every field None would load as None; make the field "
                "required or give the value object a required field"
            )
        return FieldNode(
            name,
            None,
            children,
            inner,
            optional,
            width=sum(c.width for c in children),
        )
    return FieldNode(name, codec_for(annotation, where))


def field_nodes(
    names: Sequence[str], hints: dict[str, Any], where: str
) -> tuple[tuple[FieldNode, ...], tuple[str, ...]]:
    """Field nodes for ``names`` and the validated property names they occupy."""
    nodes = tuple(_field_node(n, hints[n], f"{where}.{n}") for n in names)
    props: list[str] = []
    for node in nodes:
        props.extend(p for p, _ in _leaf_properties(node, ""))
    checked = tuple(safe_identifier(p, f"property of {where}") for p in props)
    if len(set(checked)) != len(checked):
        raise MappingError(f"{where}: flattened property names collide: {checked}")
    return nodes, checked


_SAFE_UNIQUE = frozenset({"UUID", "int", "float", "bool", "Decimal", "date", "datetime"})


def _guard(node: FieldNode, prefix: str, guarded: set[str]) -> FieldNode:
    """``node`` with the codecs of ``guarded`` properties made ``unique_safe``."""
    prop = f"{prefix}_{node.name}" if prefix else node.name
    if node.codec is not None:
        # Only text a user chose can be unsafe: UUIDs, numbers and dates never are.
        if prop in guarded and node.codec.type_name not in _SAFE_UNIQUE:
            return dataclasses.replace(node, codec=unique_safe(node.codec))
        return node
    children = tuple(_guard(child, prop, guarded) for child in node.children)
    return dataclasses.replace(node, children=children)


def _leaf_properties(node: FieldNode, prefix: str) -> list[tuple[str, ScalarCodec]]:
    prop = f"{prefix}_{node.name}" if prefix else node.name
    if node.codec is not None:
        return [(prop, node.codec)]
    out: list[tuple[str, ScalarCodec]] = []
    for child in node.children:
        out.extend(_leaf_properties(child, prop))
    return out


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
    ) -> None:
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise MappingError(f"{cls!r} is not a dataclass; only dataclasses can be mapped")
        self.cls = cls
        self.name = cls.__name__
        self.label = safe_identifier(label, f"label of {self.name}")
        excluded = set(exclude)
        declared = dict(relationships or {})
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
            if n not in excluded and n != self.version_field and n not in declared
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
            leaves.extend(_leaf_properties(node, ""))
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
        self.relationships: dict[str, RelationshipMapping] = {}
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
        self.unique = tuple(dict.fromkeys(unique))
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
        self.fields = tuple(_guard(node, "", guarded) for node in self.fields)
        for node in self.fields:
            at = self.field_offsets[node.name]
            for i, (prop, codec) in enumerate(_leaf_properties(node, "")):
                self.property_codecs[prop] = codec
                if prop == self.key_property and i == 0 and at == self.key_index:
                    self.key_codec = codec

        # What a stored node lacking a field's property loads with: () for no default.
        self._careful = CarefulDecoder(self)
        self._encode = compile_encode(self.fields)
        self._decode = compile_decode(
            cls,
            self.fields,
            key,
            self.version_field,
            self._defaults,
            self.slots,
            self._careful.decode,
        )
        #: The stored field values copied for a snapshot, and the check against one.
        self.snapshot_of = compile_fields(self.fields, copies=True)
        self.unchanged = compile_same(self.fields)

    def __repr__(self) -> str:
        return f"EntityMapping({self.name}, label={self.label!r}, key={self.key_field!r})"

    # -- values ---------------------------------------------------------------

    def encode(self, entity: T) -> tuple[Any, ...]:
        """Validate and encode every stored field, in ``properties`` order.

        Raises:
            ValueEncodingError: a field value cannot be stored exactly; the
                message names the entity, its key and the field.
        """
        try:
            return self._encode(entity)
        except (Refused, ValueEncodingError, AttributeError):
            return self._encode_naming_the_field(entity)

    def _encode_naming_the_field(self, entity: T) -> tuple[Any, ...]:
        out: list[Any] = []
        for node in self.fields:
            try:
                node.encode_into(getattr(entity, node.name), out)
            except ValueEncodingError as exc:
                raise ValueEncodingError(
                    f"{self.describe(entity)}.{node.name}: {exc}; nothing was written"
                ) from None
        return tuple(out)

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

    def load(self, row: Sequence[Any], key: Any, version: int) -> tuple[T, tuple[Any, ...]]:
        """An entity for a stored row whose decoded key is known, and its field snapshot."""
        entity, fields = self._decode(row, key, version)
        return entity, fields

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


class Registry:
    """All entity mappings of one application.

    ``map`` is called once per entity class in infrastructure; the domain
    classes stay plain.
    """

    def __init__(self) -> None:
        self._by_class: dict[type, EntityMapping[Any]] = {}
        self._by_label: dict[str, EntityMapping[Any]] = {}

    def map(
        self,
        cls: type[T],
        *,
        key: str,
        label: str | None = None,
        version: str | None = None,
        exclude: Iterable[str] = (),
        relationships: Mapping[str, Relationship] | None = None,
        indexes: Iterable[str] = (),
        unique: Iterable[str] = (),
        concurrency: str | None = "dirty",
        vectors: Mapping[str, Vector] | None = None,
        fulltext: Iterable[str] = (),
    ) -> EntityMapping[T]:
        """Map ``cls`` to nodes labelled ``label`` (default: the class name).

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

        Raises:
            MappingError: the class is already mapped, the label is taken, or
                a field cannot be stored.
        """
        if cls in self._by_class:
            raise MappingError(f"{cls.__name__} is already mapped")
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
        )
        if mapping.label in self._by_label:
            raise MappingError(
                f"label {mapping.label!r} is already used by {self._by_label[mapping.label].name}"
            )
        self._by_class[cls] = mapping
        self._by_label[mapping.label] = mapping
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

    def __iter__(self) -> typing.Iterator[EntityMapping[Any]]:
        return iter(self._by_class.values())

    def __contains__(self, cls: object) -> bool:
        return cls in self._by_class
