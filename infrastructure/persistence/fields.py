"""Field nodes: how each stored field of a mapped dataclass is held, one node per field.

Entity mappings (``mapping.EntityMapping``) and edge objects of relationships
(``mapping.RelationshipMapping`` with ``via=``) both store dataclass fields as
node or edge properties. A ``FieldNode`` is one such field: a scalar with its
codec, or a value object whose leaf fields are stored flattened
(``balance_amount``, ``balance_currency``). The generated encoders and
decoders (``compiled``) and the careful decoder (``careful``) are built from
these nodes; this module imports neither.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .codec import ScalarCodec, codec_for, is_value_object, split_optional, unique_safe
from .errors import MappingError, ValueEncodingError
from .names import safe_identifier


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
        props.extend(p for p, _ in leaf_properties(node, ""))
    checked = tuple(safe_identifier(p, f"property of {where}") for p in props)
    if len(set(checked)) != len(checked):
        raise MappingError(f"{where}: flattened property names collide: {checked}")
    return nodes, checked


_SAFE_UNIQUE = frozenset({"UUID", "int", "float", "bool", "Decimal", "date", "datetime"})


def guard_unique(node: FieldNode, prefix: str, guarded: set[str]) -> FieldNode:
    """``node`` with the codecs of ``guarded`` properties made ``unique_safe``."""
    prop = f"{prefix}_{node.name}" if prefix else node.name
    if node.codec is not None:
        # Only text a user chose can be unsafe: UUIDs, numbers and dates never are.
        if prop in guarded and node.codec.type_name not in _SAFE_UNIQUE:
            return dataclasses.replace(node, codec=unique_safe(node.codec))
        return node
    children = tuple(guard_unique(child, prop, guarded) for child in node.children)
    return dataclasses.replace(node, children=children)


def leaf_properties(node: FieldNode, prefix: str) -> list[tuple[str, ScalarCodec]]:
    """The stored properties of ``node`` (under ``prefix``) and their codecs, in order."""
    prop = f"{prefix}_{node.name}" if prefix else node.name
    if node.codec is not None:
        return [(prop, node.codec)]
    out: list[tuple[str, ScalarCodec]] = []
    for child in node.children:
        out.extend(leaf_properties(child, prop))
    return out


def may_be_all_none(node: FieldNode) -> bool:
    """Whether every property of ``node`` may be None (absent) in a stored node."""
    if node.codec is not None:
        return node.codec.type_name == "Any" or node.codec.type_name.endswith("| None")
    return node.optional or all(may_be_all_none(c) for c in node.children)
