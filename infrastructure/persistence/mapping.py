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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .codec import ScalarCodec, codec_for, is_value_object, split_optional
from .errors import MappingError, ValueEncodingError
from .names import safe_identifier

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


def _field_node(name: str, annotation: Any, where: str) -> FieldNode:
    if is_value_object(annotation):
        inner, optional = split_optional(annotation)
        hints = typing.get_type_hints(inner)
        children = tuple(
            _field_node(f.name, hints[f.name], f"{where}.{f.name}")
            for f in dataclasses.fields(inner)
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


def _leaf_properties(node: FieldNode, prefix: str) -> list[tuple[str, ScalarCodec]]:
    prop = f"{prefix}_{node.name}" if prefix else node.name
    if node.codec is not None:
        return [(prop, node.codec)]
    out: list[tuple[str, ScalarCodec]] = []
    for child in node.children:
        out.extend(_leaf_properties(child, prop))
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
    ) -> None:
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise MappingError(f"{cls!r} is not a dataclass; only dataclasses can be mapped")
        self.cls = cls
        self.name = cls.__name__
        self.label = safe_identifier(label, f"label of {self.name}")
        excluded = set(exclude)
        hints = typing.get_type_hints(cls)
        all_fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = excluded - set(all_fields)
        if unknown:
            raise MappingError(f"{self.name}: exclude names unknown fields {sorted(unknown)}")
        if key not in all_fields:
            raise MappingError(f"{self.name}: key {key!r} is not a field of {self.name}")
        if key in excluded:
            raise MappingError(f"{self.name}: the key field {key!r} cannot be excluded")

        self.version_property = (
            safe_identifier(version, f"version property of {self.name}") if version else None
        )
        self.version_field = version if version in all_fields else None
        if self.version_field is not None and hints[self.version_field] not in (int, int | None):
            raise MappingError(f"{self.name}.{version}: a version field must be annotated int")

        # Excluded and version fields are filled from defaults when loading.
        self._defaults: list[tuple[str, Any]] = []
        for fname in (*sorted(excluded), *([self.version_field] if self.version_field else [])):
            f = all_fields[fname]
            if f.default is not _MISSING:
                self._defaults.append((fname, f.default))
            elif f.default_factory is not _MISSING:
                self._defaults.append((fname, f.default_factory))
            elif fname != self.version_field:
                raise MappingError(
                    f"{self.name}.{fname} is excluded from storage, so it needs a default"
                )

        stored = [n for n in all_fields if n not in excluded and n != self.version_field]
        self.fields: tuple[FieldNode, ...] = tuple(
            _field_node(n, hints[n], f"{self.name}.{n}") for n in stored
        )
        self.field_names = tuple(stored)
        leaves: list[tuple[str, ScalarCodec]] = []
        self.field_offsets: dict[str, int] = {}
        for node in self.fields:
            self.field_offsets[node.name] = len(leaves)
            leaves.extend(_leaf_properties(node, ""))
        self.properties: tuple[str, ...] = tuple(
            safe_identifier(p, f"property of {self.name}") for p, _ in leaves
        )
        self.property_codecs: dict[str, ScalarCodec] = dict(leaves)
        if len(set(self.properties)) != len(self.properties):
            raise MappingError(f"{self.name}: flattened property names collide: {self.properties}")
        if self.version_property in self.properties:
            raise MappingError(
                f"{self.name}: version property {self.version_property!r} collides with a field"
            )

        key_node = self.fields[self.field_names.index(key)]
        if key_node.codec is None or key_node.codec.type_name.endswith("None"):
            raise MappingError(f"{self.name}.{key}: the key must be a required scalar field")
        self.key_field = key
        self.key_property = key
        self.key_index = self.field_offsets[key]
        self.key_codec = key_node.codec
        self._slots = not hasattr(cls, "__dict__") or "__slots__" in cls.__dict__

    def __repr__(self) -> str:
        return f"EntityMapping({self.name}, label={self.label!r}, key={self.key_field!r})"

    # -- values ---------------------------------------------------------------

    def encode(self, entity: T) -> tuple[Any, ...]:
        """Validate and encode every stored field, in ``properties`` order.

        Raises:
            ValueEncodingError: a field value cannot be stored exactly; the
                message names the entity, its key and the field.
        """
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
        """Build an entity from stored values in ``properties`` order."""
        cls = self.cls
        entity = cls.__new__(cls)
        at = 0
        values: dict[str, Any] = {}
        for node in self.fields:
            values[node.name] = node.decode_from(row, at)
            at += node.width
        for name, default in self._defaults:
            values[name] = default() if callable(default) else default
        if self._slots:
            for name, value in values.items():
                object.__setattr__(entity, name, value)
        else:
            entity.__dict__.update(values)
        return entity

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
    ) -> EntityMapping[T]:
        """Map ``cls`` to nodes labelled ``label`` (default: the class name).

        ``key`` names the field holding the application key (UUID or natural
        key, backed by a unique constraint); ``version``, if given, names the
        integer property used for optimistic concurrency (a field of that name
        is kept up to date when the class has one); ``exclude`` names fields
        that are not stored (they must have defaults).

        Raises:
            MappingError: the class is already mapped, the label is taken, or
                a field cannot be stored.
        """
        if cls in self._by_class:
            raise MappingError(f"{cls.__name__} is already mapped")
        mapping = EntityMapping(
            cls, label=label or cls.__name__, key=key, version=version, exclude=exclude
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

    def __iter__(self) -> typing.Iterator[EntityMapping[Any]]:
        return iter(self._by_class.values())

    def __contains__(self, cls: object) -> bool:
        return cls in self._by_class
