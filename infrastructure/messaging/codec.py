"""Domain events to JSON and back, directed by each event class's annotations.

Events are frozen dataclasses. ``EventRegistry`` knows them by name (the
class name unless given another) and converts each field by its declared
type, chosen once at registration:

- ``str``, ``int``, ``bool`` and finite ``float`` are JSON values;
- ``Decimal`` becomes a string (exact), ``UUID`` its canonical string,
  ``datetime`` and ``date`` ISO-8601 text (the offset, if any, is kept);
- an ``Enum`` its value; ``T | None`` null; ``list[T]`` and
  ``tuple[T, ...]`` arrays; a nested frozen dataclass an object.

The payload is compact JSON with sorted keys, so equal events give equal
text. Decoding checks every value against the annotation, and refuses
missing or unknown fields.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import types
import typing
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import EventEncodingError

Convert = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class FieldCodec:
    name: str
    type_name: str
    encode: Convert  # Python value -> JSON value
    decode: Convert  # JSON value -> Python value


class _Mismatch(Exception):
    """A value does not fit its annotation (turned into ``EventEncodingError`` with context)."""


def _check(kind: type | tuple[type, ...], value: Any, expected: str) -> None:
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _flatten(kind)):
        raise _Mismatch(f"expected {expected}, got {type(value).__name__} {value!r:.80}")


def _flatten(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _same(kind: type, expected: str) -> tuple[Convert, Convert]:
    def convert(value: Any) -> Any:
        _check(kind, value, expected)
        return value

    return convert, convert


def _float() -> tuple[Convert, Convert]:
    def encode(value: Any) -> float:
        _check((int, float), value, "float")
        if not math.isfinite(value):
            raise _Mismatch(f"expected a finite float, got {value!r}")
        return float(value)

    return encode, encode


def _textual(kind: type, expected: str, parse: Callable[[str], Any]) -> tuple[Convert, Convert]:
    def encode(value: Any) -> str:
        _check(kind, value, expected)
        if kind is date and isinstance(value, datetime):
            raise _Mismatch(f"expected a date, got the datetime {value!r}")
        if isinstance(value, Decimal) and not value.is_finite():
            raise _Mismatch(f"expected a finite Decimal, got {value!r}")
        return value.isoformat() if isinstance(value, date) else str(value)

    def decode(value: Any) -> Any:
        _check(str, value, f"{expected} text")
        try:
            return parse(value)
        except (ValueError, InvalidOperation):
            raise _Mismatch(f"{value!r:.80} is not a valid {expected}") from None

    return encode, decode


def _date(text: str) -> date:
    return date.fromisoformat(text)


def _enum(cls: type[enum.Enum]) -> tuple[Convert, Convert]:
    by_value = {member.value: member for member in cls}

    def encode(value: Any) -> Any:
        _check(cls, value, cls.__name__)
        return value.value

    def decode(value: Any) -> Any:
        try:
            return by_value[value]
        except (KeyError, TypeError):
            raise _Mismatch(f"{value!r:.80} is not a {cls.__name__} value") from None

    return encode, decode


def _optional(inner: tuple[Convert, Convert]) -> tuple[Convert, Convert]:
    encode_inner, decode_inner = inner
    return (
        lambda v: None if v is None else encode_inner(v),
        lambda v: None if v is None else decode_inner(v),
    )


def _sequence(item: tuple[Convert, Convert], kind: type) -> tuple[Convert, Convert]:
    encode_item, decode_item = item

    def encode(value: Any) -> list[Any]:
        _check((list, tuple), value, kind.__name__)
        return [encode_item(v) for v in value]

    def decode(value: Any) -> Any:
        _check(list, value, "a JSON array")
        return kind(decode_item(v) for v in value)

    return encode, decode


def _nested(cls: type, where: str) -> tuple[Convert, Convert]:
    fields = _field_codecs(cls, where)

    def encode(value: Any) -> dict[str, Any]:
        _check(cls, value, cls.__name__)
        return {f.name: f.encode(getattr(value, f.name)) for f in fields}

    def decode(value: Any) -> Any:
        _check(dict, value, f"a JSON object for {cls.__name__}")
        return _build(cls, fields, value)

    return encode, decode


_SIMPLE: dict[Any, Callable[[], tuple[Convert, Convert]]] = {
    str: lambda: _same(str, "str"),
    int: lambda: _same(int, "int"),
    bool: lambda: _same(bool, "bool"),
    float: _float,
    Decimal: lambda: _textual(Decimal, "Decimal", Decimal),
    uuid.UUID: lambda: _textual(uuid.UUID, "UUID", uuid.UUID),
    datetime: lambda: _textual(datetime, "datetime", datetime.fromisoformat),
    date: lambda: _textual(date, "date", _date),
}


def _converters(annotation: Any, where: str) -> tuple[Convert, Convert]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType:
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1 and len(args) == 2:
            return _optional(_converters(inner[0], where))
        raise EventEncodingError(f"{where}: union {annotation!r} is not supported; use T | None")
    if annotation in _SIMPLE:
        return _SIMPLE[annotation]()
    if origin is list and len(args) == 1:
        return _sequence(_converters(args[0], where), list)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return _sequence(_converters(args[0], where), tuple)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return _enum(annotation)
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return _nested(annotation, where)
    raise EventEncodingError(
        f"{where}: type {annotation!r} is not supported in events; use str, int, float, bool, "
        "Decimal, UUID, datetime, date, an Enum, T | None, list[T], tuple[T, ...] or a dataclass"
    )


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation)


def _field_codecs(cls: type, where: str) -> tuple[FieldCodec, ...]:
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        encode, decode = _converters(hints[f.name], f"{where}.{f.name}")
        out.append(FieldCodec(f.name, _type_name(hints[f.name]), encode, decode))
    return tuple(out)


def _build(cls: type, fields: tuple[FieldCodec, ...], data: dict[str, Any]) -> Any:
    known = {f.name for f in fields}
    unknown = sorted(set(data) - known)
    if unknown:
        raise _Mismatch(f"unknown fields {unknown} for {cls.__name__}")
    values = {}
    for f in fields:
        if f.name not in data:
            raise _Mismatch(f"missing field {f.name!r} of {cls.__name__}")
        try:
            values[f.name] = f.decode(data[f.name])
        except _Mismatch as exc:
            raise _Mismatch(f"{cls.__name__}.{f.name}: {exc}") from None
    return cls(**values)


@dataclass(frozen=True, slots=True)
class _EventType:
    name: str
    cls: type
    fields: tuple[FieldCodec, ...]


class EventRegistry:
    """Event classes by name, and their conversion to and from JSON text.

    ``register`` checks every field's annotation once, so an unsupported
    type fails at start-up, not at the first commit.
    """

    def __init__(self, classes: Iterable[type] = ()) -> None:
        self._by_class: dict[type, _EventType] = {}
        self._by_name: dict[str, _EventType] = {}
        for cls in classes:
            self.register(cls)

    @classmethod
    def of_subclasses(cls, base: type) -> EventRegistry:
        """A registry of every dataclass subclass of ``base`` (at any depth, base excluded)."""
        found: list[type] = []
        pending: list[type] = list(base.__subclasses__())
        while pending:
            sub = pending.pop(0)
            pending.extend(sub.__subclasses__())
            if dataclasses.is_dataclass(sub):
                found.append(sub)
        return cls(sorted(found, key=lambda c: c.__qualname__))

    def register(self, cls: type, *, name: str | None = None) -> None:
        """Know ``cls`` under ``name`` (default: its class name).

        Raises:
            EventEncodingError: ``cls`` is not a frozen dataclass, a field type
                is unsupported, or the name or class is already registered.
        """
        params = getattr(cls, "__dataclass_params__", None)
        if not (isinstance(cls, type) and params is not None and params.frozen):
            raise EventEncodingError(f"{cls!r} is not a frozen dataclass; events must be")
        name = name or cls.__name__
        if name in self._by_name:
            raise EventEncodingError(
                f"event name {name!r} is already used by {self._by_name[name].cls.__qualname__}"
            )
        if cls in self._by_class:
            raise EventEncodingError(f"{cls.__qualname__} is already registered")
        entry = _EventType(name, cls, _field_codecs(cls, cls.__name__))
        self._by_class[cls] = entry
        self._by_name[name] = entry

    def __contains__(self, cls: object) -> bool:
        return cls in self._by_class

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def encode(self, event: object) -> tuple[str, str]:
        """``(event type name, JSON payload)`` of ``event``.

        Raises:
            EventEncodingError: the class is not registered or a value does not
                fit its field (the message names the event and the field).
        """
        entry = self._by_class.get(type(event))
        if entry is None:
            raise EventEncodingError(
                f"{type(event).__qualname__} is not a registered event; "
                f"register it: events.register({type(event).__name__})"
            )
        data: dict[str, Any] = {}
        for f in entry.fields:
            try:
                data[f.name] = f.encode(getattr(event, f.name))
            except _Mismatch as exc:
                raise EventEncodingError(f"{entry.name}.{f.name}: {exc}") from None
        return entry.name, json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)

    def decode(self, name: str, payload: str) -> object:
        """The event stored as ``payload`` under type ``name``.

        Raises:
            EventEncodingError: the name is unknown, or the payload is not JSON
                or does not match the class's fields.
        """
        entry = self._by_name.get(name)
        if entry is None:
            raise EventEncodingError(
                f"unknown event type {name!r}; registered: {', '.join(self.names()) or 'none'}"
            )
        try:
            data = json.loads(payload)
        except (TypeError, ValueError) as exc:
            raise EventEncodingError(f"{name} payload is not JSON text: {exc}") from None
        if not isinstance(data, dict):
            raise EventEncodingError(f"{name} payload must be a JSON object, got {payload!r:.80}")
        try:
            return _build(entry.cls, entry.fields, data)
        except _Mismatch as exc:
            raise EventEncodingError(f"{name} payload: {exc}") from None
