"""Careful decoding: a stored row the generated decoder does not take, read field by field.

The generated decoder (``compiled``) takes rows in the layer's own stored
form. Any other row comes here: a property missing from a node stored before
its field existed takes the field's default; a value another client wrote in
another form is read exactly (``readers``); anything else becomes a
``StoredValueError`` naming the node, the property and the value.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from .codec import ScalarCodec
from .errors import StoredValueError, ValueEncodingError
from .fields import FieldNode, may_be_all_none

_MISSING = dataclasses.MISSING


class Loaded(tuple[Any, ...]):
    """Field values of an entity decoded carefully, with the stored values to diff against."""

    baseline: tuple[Any, ...]


def _default_of(f: dataclasses.Field[Any]) -> tuple[Any, bool] | tuple[()]:
    """``(default, is a factory)`` of a dataclass field, or ``()`` when it has none."""
    if f.default is not _MISSING:
        return (f.default, False)
    if f.default_factory is not _MISSING:
        return (f.default_factory, True)
    return ()


def _default_value(default: tuple[Any, bool] | tuple[()]) -> Any:
    value, is_factory = default  # type: ignore[misc]
    return value() if is_factory else value


def _key_types(codec: ScalarCodec) -> tuple[type, ...]:
    names = {"str": str, "int": int, "UUID": uuid.UUID}
    kind = names.get(codec.type_name)
    return (kind,) if kind else (object,)


class Decoded(Protocol):
    """What the careful decoder reads of an entity mapping (``mapping.EntityMapping``)."""

    cls: type
    name: str
    label: str
    fields: tuple[FieldNode, ...]
    field_offsets: dict[str, int]
    key_field: str
    key_index: int
    key_property: str
    key_codec: ScalarCodec
    version_field: str | None
    _defaults: list[tuple[str, Any, bool]]
    snapshot_of: Callable[[Any], tuple[Any, ...]]

    def set_version(self, entity: Any, version: int) -> None: ...


class CarefulDecoder:
    """Decodes one mapping's rows field by field, filling defaults and naming what fits not."""

    def __init__(self, mapping: Decoded) -> None:
        self.mapping = mapping
        # What a stored node lacking a field's property loads with: () for no default.
        self.defaults: dict[str, tuple[Any, bool] | tuple[()]] = {
            f.name: _default_of(f) for f in dataclasses.fields(mapping.cls)
        }

    def decode(self, row: Sequence[Any], key: Any, version: int) -> tuple[Any, tuple[Any, ...]]:
        """``load`` for a row the inline decoder does not take (see ``compiled``).

        Missing properties take their field's default; values written in
        another form (natively by another client) are read exactly. The
        returned field tuple is a ``Loaded`` carrying the stored values to
        compare edits with: a value read from another form, or a default,
        counts as its encoding, so only an edit of that field writes it.

        Raises:
            StoredValueError: a value fits nothing, or a property without
                a default is missing.
        """
        problems: list[StoredValueError] = []
        entity, baseline = self._build(row, key, version, problems)
        if problems:
            raise problems[0]
        fields = Loaded(self.mapping.snapshot_of(entity))
        fields.baseline = tuple(baseline)
        return entity, fields

    def problems(self, row: Sequence[Any]) -> list[StoredValueError]:
        """What in a stored row (``properties`` order) cannot load; empty when it can."""
        problems: list[StoredValueError] = []
        key = self._stored_key(row, problems)
        if not problems:
            self._build(row, key, 0, problems)
        return problems

    def _stored_key(self, row: Sequence[Any], problems: list[StoredValueError]) -> Any:
        raw = row[self.mapping.key_index]
        try:
            if raw is None:
                raise ValueError("the node has no key property")
            return self.mapping.key_codec.reader(raw)
        except (TypeError, ValueError, ArithmeticError) as exc:
            problems.append(
                StoredValueError(self.mapping.label, raw, self.mapping.key_property, raw, str(exc))
            )
            return raw

    def _build(
        self, row: Sequence[Any], key: Any, version: int, problems: list[StoredValueError]
    ) -> tuple[Any, list[Any]]:
        baseline = list(row)
        values: dict[str, Any] = {}
        for node in self.mapping.fields:
            at = self.mapping.field_offsets[node.name]
            if node.name == self.mapping.key_field:
                if row[at] is None or not isinstance(key, _key_types(self.mapping.key_codec)):
                    self._stored_key(row, problems)
                values[node.name] = key
                continue
            default = self.defaults.get(node.name, ())
            values[node.name] = self._read(
                node, row, at, node.name, default, key, baseline, problems
            )
        entity: Any = object.__new__(self.mapping.cls)
        for name, value in values.items():
            object.__setattr__(entity, name, value)
        for name, default, is_factory in self.mapping._defaults:
            if name != self.mapping.version_field:
                object.__setattr__(entity, name, default() if is_factory else default)
        self.mapping.set_version(entity, version)
        return entity, baseline

    def _read(
        self,
        node: FieldNode,
        row: Sequence[Any],
        at: int,
        prop: str,
        default: tuple[Any, bool] | tuple[()],
        key: Any,
        baseline: list[Any],
        problems: list[StoredValueError],
    ) -> Any:
        codec = node.codec
        if codec is not None:
            raw = row[at]
            if raw is None and not may_be_all_none(node):
                if default:
                    value = _default_value(default)
                    with contextlib.suppress(ValueEncodingError):
                        baseline[at] = codec.encode(value)  # written once the field changes
                    return value
                problems.append(
                    StoredValueError(
                        self.mapping.label,
                        key,
                        prop,
                        None,
                        "the property is missing and the field "
                        f"{self.mapping.name}.{prop} has no default; give it one, or set the property",
                    )
                )
                return None
            try:
                value = codec.reader(raw)
            except (TypeError, ValueError, ArithmeticError) as exc:
                why = f"it is not a {codec.type_name} ({exc})"
                problems.append(StoredValueError(self.mapping.label, key, prop, raw, why))
                return None
            with contextlib.suppress(ValueEncodingError):
                baseline[at] = codec.encode(value)
            return value
        stored = row[at : at + node.width]
        if all(v is None for v in stored):
            if node.optional:
                return None
            if default:
                value = _default_value(default)
                encoded: list[Any] = []
                try:
                    node.encode_into(value, encoded)
                    baseline[at : at + node.width] = encoded
                except ValueEncodingError:
                    pass
                return value
        assert node.vo_class is not None
        defaults = {f.name: _default_of(f) for f in dataclasses.fields(node.vo_class)}
        parts: dict[str, Any] = {}
        offset = at
        for child in node.children:
            parts[child.name] = self._read(
                child,
                row,
                offset,
                f"{prop}_{child.name}",
                defaults[child.name],
                key,
                baseline,
                problems,
            )
            offset += child.width
        if problems:
            return None
        try:
            return node.vo_class(**parts)
        except Exception as exc:  # the value object's own validation
            why = f"{node.vo_class.__name__}({parts}) is refused: {exc}"
            problems.append(StoredValueError(self.mapping.label, key, prop, stored, why))
            return None
