"""Type-directed conversion between Python field values and FalkorDB property values.

Each mapped field gets a ``ScalarCodec`` chosen from its annotation once, at
mapping time. ``encode`` validates and converts a Python value to something
FalkorDB stores and returns unchanged; ``decode`` turns it back. A value that
cannot come back exactly is refused with ``ValueEncodingError`` before any
query is sent.

Facts this is built on (measured on FalkorDB 4.16):
- integers outside int64 are silently clamped by the server;
- doubles come back formatted with 15 significant digits, so a float that
  needs 16 or 17 digits (``0.1 + 0.2``) cannot round-trip;
- NaN, infinities and strings holding NUL cannot be sent as parameters;
- a list property cannot hold null; maps cannot be properties at all;
- temporal values lose microseconds and time zones, so ``datetime``,
  ``date`` and ``time`` are stored as ISO-8601 text (naive ones sort
  correctly as text) and ``timedelta`` as whole microseconds.

Values other clients wrote natively (``date()``, ``localtime()``,
``localdatetime()``, ``duration()``, ``vecf32()``) hold whole seconds or
float32 items, which these types represent exactly: each codec's ``read``
accepts them (``decode`` only takes the layer's own stored form, checked
inline by ``check``; everything else goes through ``read``, which raises on
a value that fits nothing).
"""

from __future__ import annotations

import dataclasses
import enum
import math
import types
import typing
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from .errors import MappingError, ValueEncodingError
from .readers import (
    StoredVector,
    float32_shortest,
    read_bool,
    read_date,
    read_datetime,
    read_decimal,
    read_float,
    read_int,
    read_str,
    read_time,
    read_timedelta,
    read_uuid,
)
from .readers import not_stored as _not

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

Encoder = Callable[[Any], Any]
Decoder = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class ScalarCodec:
    """How one property is stored: ``encode`` validates and converts, ``decode`` restores."""

    type_name: str
    encode: Encoder
    decode: Decoder
    orderable: bool = True  # whether ordering the stored form orders the values
    mutable: bool = False  # decoded values can change in place (lists): snapshots copy them
    # Whether two values of the type that are == always store the same way (not so for
    # Decimal("1.5") == Decimal("1.50"), 0.0 == -0.0, or datetimes in other time zones).
    exact_eq: bool = False
    # A Python condition on ``{v}`` under which ``encode`` returns the value unchanged:
    # generated encoders test it inline and call ``encode`` only when it fails.
    passes: str | None = None
    # A Python condition on a stored ``{v}`` under which ``decode`` applies: the layer's own
    # stored form. Generated decoders test it inline; a value failing it goes to ``read``.
    check: str | None = None
    # Decodes any stored form a value of the type may have (written natively by another
    # client, say); raises TypeError or ValueError for a value that fits none.
    read: Decoder | None = None

    @property
    def reader(self) -> Decoder:
        """``read``, or ``decode`` where the type has one stored form only."""
        return self.read or self.decode

    # How a snapshot copies a mutable value (default: ``copy_lists``, which walks nested lists).
    copier: Callable[[Any], Any] | None = None

    @property
    def plain(self) -> bool:
        """Whether stored values come back unchanged (no decoding needed)."""
        return self.decode is _identity


def _identity(value: Any) -> Any:
    return value


def _refuse(value: Any, expected: str, why: str = "") -> ValueEncodingError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    reason = f": {why}" if why else ""
    return ValueEncodingError(f"expected {expected}, got {type(value).__name__} {shown}{reason}")


def encode_str(value: Any) -> str:
    if type(value) is not str:
        if isinstance(value, str):  # str subclasses (e.g. a StrEnum member) become plain text
            value = str.__str__(value)
        else:
            raise _refuse(value, "str")
    if "\x00" in value:
        raise _refuse(value, "str", "NUL characters cannot be stored")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _refuse(value, "str", "it holds a lone surrogate, which is not UTF-8") from None
    text: str = value
    return text


def encode_int(value: Any) -> int:
    if type(value) is not int:
        if isinstance(value, int) and not isinstance(value, bool):
            value = int(value)
        else:
            raise _refuse(value, "int")
    if not INT64_MIN <= value <= INT64_MAX:
        raise _refuse(value, "int", "outside the 64-bit range the server stores")
    number: int = value
    return number


def encode_float(value: Any) -> float:
    if type(value) is not float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = float(value)
        else:
            raise _refuse(value, "float")
    if not math.isfinite(value):
        raise _refuse(value, "float", "NaN and infinities cannot be stored")
    if float(f"{value:.15g}") != value:
        raise _refuse(
            value,
            "float",
            "needs more than the 15 significant digits the server returns; "
            "round it, or use Decimal for exact values",
        )
    real: float = value
    return real


def encode_bool(value: Any) -> bool:
    if type(value) is not bool:
        raise _refuse(value, "bool")
    return value


def encode_decimal(value: Any) -> str:
    if not isinstance(value, Decimal):
        raise _refuse(value, "Decimal")
    if not value.is_finite():
        raise _refuse(value, "Decimal", "NaN and infinities cannot be stored")
    return str(value)


def encode_uuid(value: Any) -> str:
    if not isinstance(value, uuid.UUID):
        raise _refuse(value, "UUID")
    return str(value)


_UUID_NEW = object.__new__
_UUID_SET = object.__setattr__
_UUID_UNKNOWN = uuid.SafeUUID.unknown  # an enum member read once (each read runs a descriptor)


def decode_uuid(value: Any) -> uuid.UUID:
    """``uuid.UUID(value)`` for the canonical text this codec stores, about 3x faster."""
    if (
        type(value) is str
        and len(value) == 36
        and value[8] == value[13] == value[18] == value[23] == "-"
    ):
        try:
            number = int(value.replace("-", ""), 16)
        except ValueError:
            return uuid.UUID(value)
        result = _UUID_NEW(uuid.UUID)
        _UUID_SET(result, "int", number)
        _UUID_SET(result, "is_safe", _UUID_UNKNOWN)
        return result
    return uuid.UUID(value)


def _to_microsecond(value: Any, kind: type[datetime] | type[time]) -> str:
    """ISO-8601 text of a datetime or time, to the microsecond (offset kept)."""
    if not isinstance(value, kind):
        raise _refuse(value, kind.__name__)
    text: str = value.isoformat(timespec="microseconds")
    return text


def encode_datetime(value: Any) -> str:
    return _to_microsecond(value, datetime)


def decode_datetime(value: Any) -> datetime:
    return datetime.fromisoformat(value)


def encode_date(value: Any) -> str:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise _refuse(value, "date")
    return value.isoformat()


def decode_date(value: Any) -> date:
    return date.fromisoformat(value)


def encode_time(value: Any) -> str:
    return _to_microsecond(value, time)


def decode_time(value: Any) -> time:
    return time.fromisoformat(value)


_MICROSECOND = timedelta(microseconds=1)


def encode_timedelta(value: Any) -> int:
    if not isinstance(value, timedelta):
        raise _refuse(value, "timedelta")
    micros = value // _MICROSECOND
    if not INT64_MIN <= micros <= INT64_MAX:
        raise _refuse(value, "timedelta", "outside the 64-bit microseconds the server stores")
    return micros


def decode_timedelta(value: Any) -> timedelta:
    return timedelta(microseconds=value)


_SCALARS: dict[type, ScalarCodec] = {
    str: ScalarCodec(
        "str",
        encode_str,
        _identity,
        exact_eq=True,
        passes="type({v}) is str and {v}.isascii() and '\\x00' not in {v}",
        check="type({v}) is str",
        read=read_str,
    ),
    int: ScalarCodec(
        "int",
        encode_int,
        _identity,
        exact_eq=True,
        passes=f"type({{v}}) is int and {INT64_MIN} <= {{v}} <= {INT64_MAX}",
        check="type({v}) is int",
        read=read_int,
    ),
    float: ScalarCodec(
        "float", encode_float, _identity, check="type({v}) is float", read=read_float
    ),
    bool: ScalarCodec(
        "bool",
        encode_bool,
        _identity,
        exact_eq=True,
        passes="type({v}) is bool",
        check="type({v}) is bool",
        read=read_bool,
    ),
    Decimal: ScalarCodec(
        "Decimal",
        encode_decimal,
        Decimal,
        orderable=False,
        check="type({v}) is str",
        read=read_decimal,
    ),
    uuid.UUID: ScalarCodec(
        "UUID",
        encode_uuid,
        decode_uuid,
        orderable=False,
        exact_eq=True,
        check="type({v}) is str",
        read=read_uuid,
    ),
    datetime: ScalarCodec(
        "datetime", encode_datetime, decode_datetime, check="type({v}) is str", read=read_datetime
    ),
    date: ScalarCodec(
        "date",
        encode_date,
        decode_date,
        exact_eq=True,
        check="type({v}) is str",
        read=read_date,
    ),
    time: ScalarCodec("time", encode_time, decode_time, check="type({v}) is str", read=read_time),
    timedelta: ScalarCodec(
        "timedelta",
        encode_timedelta,
        decode_timedelta,
        exact_eq=True,
        check="type({v}) is int",
        read=read_timedelta,
    ),
}


def encode_any(value: Any) -> Any:
    """Encode a value whose field has no usable annotation (``Any``): primitives only."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return encode_int(value)
    if isinstance(value, float):
        return encode_float(value)
    if isinstance(value, str):
        return encode_str(value)
    if isinstance(value, list | tuple):
        return [_list_item(encode_any, item) for item in value]
    raise _refuse(
        value, "str, int, float, bool, None or a list of them", "annotate the field to store it"
    )


def encode_value(value: Any) -> Any:
    """Encode a value by its own type (query parameters have no annotation)."""
    if value is None or isinstance(value, bool | int | float | str):
        return encode_any(value)
    if isinstance(value, enum.Enum):
        return encode_value(value.value)
    for kind in (datetime, date, time, timedelta, Decimal, uuid.UUID):
        if isinstance(value, kind):
            return _SCALARS[kind].encode(value)
    raise _refuse(
        value,
        "a storable value (str, int, float, bool, None, Decimal, UUID, date, datetime, time, "
        "timedelta, Enum)",
    )


def _list_item(encode: Encoder, item: Any) -> Any:
    if item is None:
        raise _refuse(item, "a list item", "a list property cannot hold None")
    return encode(item)


def _enum_codec(cls: type[enum.Enum]) -> ScalarCodec:
    by_value = {member.value: member for member in cls}
    for member in cls:
        if type(member.value) not in (str, int):
            raise MappingError(
                f"enum {cls.__name__}.{member.name} has a {type(member.value).__name__} value; "
                "only str and int enum values can be stored"
            )

    def encode(value: Any) -> Any:
        if not isinstance(value, cls):
            raise _refuse(value, cls.__name__)
        return value.value

    def decode(value: Any) -> Any:
        try:
            return by_value[value]
        except (KeyError, TypeError):
            raise ValueError(
                f"it is not a value of {cls.__name__} ({', '.join(repr(v) for v in by_value)})"
            ) from None

    return ScalarCodec(cls.__name__, encode, decode, exact_eq=True)


def _list_codec(item: ScalarCodec, as_tuple: bool) -> ScalarCodec:
    item_encode, item_decode = item.encode, item.decode
    kind = tuple if as_tuple else list

    def encode(value: Any) -> list[Any]:
        if not isinstance(value, list | tuple):
            raise _refuse(value, f"{kind.__name__}[{item.type_name}]")
        return [_list_item(item_encode, v) for v in value]

    def decode(value: Any) -> Any:
        return kind(item_decode(v) for v in value)

    item_read = item.reader
    vector_items = item.type_name == "float"

    def read(value: Any) -> Any:
        if not isinstance(value, list):
            raise _not(value, f"{kind.__name__}[{item.type_name}]")
        if vector_items and type(value) is StoredVector:
            # float32 items read as the shortest floats naming them: 0.1, not
            # 0.10000000149011612 (which no float property could store back).
            return kind(float32_shortest(v) for v in value)
        if any(v is None for v in value):
            raise ValueError("a list item is null")
        return kind(item_read(v) for v in value)

    # A list of plain items only needs copying (nested lists included).
    decoder = copy_lists if item.plain and not as_tuple else decode
    return ScalarCodec(
        f"{kind.__name__}[{item.type_name}]",
        encode,
        decoder,
        orderable=False,
        mutable=not as_tuple or item.mutable,
        exact_eq=item.exact_eq,
        check="type({v}) is list",
        read=read,
    )


def _fixed_tuple_codec(items: tuple[ScalarCodec, ...]) -> ScalarCodec:
    """``tuple[int, str]`` and the like: a list property of exactly that shape."""
    name = f"tuple[{', '.join(i.type_name for i in items)}]"
    size = len(items)

    def encode(value: Any) -> list[Any]:
        if not isinstance(value, tuple | list) or len(value) != size:
            raise _refuse(value, name)
        return [_list_item(i.encode, v) for i, v in zip(items, value, strict=True)]

    def decode(value: Any) -> Any:
        if len(value) != size:
            raise ValueError(f"it holds {len(value)} items, not {size}")
        return tuple(i.decode(v) for i, v in zip(items, value, strict=True))

    def read(value: Any) -> Any:
        if not isinstance(value, list) or len(value) != size:
            raise TypeError(f"it is not a list of {size} items")
        return tuple(i.reader(v) for i, v in zip(items, value, strict=True))

    return ScalarCodec(
        name,
        encode,
        decode,
        orderable=False,
        mutable=any(i.mutable for i in items),
        exact_eq=all(i.exact_eq for i in items),
        check="type({v}) is list",
        read=read,
    )


def same_stored(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """Whether two rows of stored values are the same, -0.0 and 0.0 told apart.

    ``==`` holds ``-0.0 == 0.0``; the server stores and returns the sign, so
    an edit from one to the other is a change to write.
    """
    if a != b:
        return False
    for x, y in zip(a, b, strict=True):  # only a float (alone or in a list) has a signed zero
        if (type(x) is float or type(x) is list) and zero_signs_differ(x, y):
            return False
    return True


def zero_signs_differ(a: Any, b: Any) -> bool:
    if type(a) is float:
        return a == 0.0 and math.copysign(1.0, a) != math.copysign(1.0, b)
    if type(a) is list:
        return any(map(zero_signs_differ, a, b))
    return False


def copy_lists(value: Any) -> Any:
    """``value`` with every list in it copied (lists nest; other values are immutable)."""
    return [copy_lists(v) for v in value] if isinstance(value, list) else value


def _optional(inner: ScalarCodec) -> ScalarCodec:
    inner_encode, inner_decode = inner.encode, inner.decode

    def encode(value: Any) -> Any:
        return None if value is None else inner_encode(value)

    def decode(value: Any) -> Any:
        return None if value is None else inner_decode(value)

    inner_read = inner.reader

    def read(value: Any) -> Any:
        return None if value is None else inner_read(value)

    return ScalarCodec(
        f"{inner.type_name} | None",
        encode,
        _identity if inner.plain else decode,  # a plain codec returns None unchanged too
        inner.orderable,
        inner.mutable,
        inner.exact_eq,
        f"{{v}} is None or ({inner.passes})" if inner.passes else None,
        f"{{v}} is None or ({inner.check})" if inner.check else None,
        read,
    )


_UNIQUE_MAX_BYTES = 4096
_ASCII_SPACE = " \t\n\r\x0b\x0c"


def _unique_text(value: str) -> None:
    # FalkorDB 4.16 crashes (SIGSEGV in EnforceUniqueEntity) when a unique
    # constraint meets an empty string, one starting or ending with ASCII white
    # space, one holding a control character, or one over 4096 UTF-8 bytes.
    if not value or value[0] in _ASCII_SPACE or value[-1] in _ASCII_SPACE:
        raise _refuse(value, "a unique str", "empty, or starting or ending with white space")
    if not value.isprintable() and any(c < " " or c == "\x7f" for c in value):
        raise _refuse(value, "a unique str", "it holds a control character")
    if len(value) > _UNIQUE_MAX_BYTES // 4 and len(value.encode("utf-8")) > _UNIQUE_MAX_BYTES:
        raise _refuse(value, "a unique str", f"longer than {_UNIQUE_MAX_BYTES} UTF-8 bytes")


def unique_safe(codec: ScalarCodec) -> ScalarCodec:
    """``codec`` for a property under a unique constraint (a key, say).

    Text the server cannot index safely is refused before it is sent; other
    types pass unchanged.
    """
    inner = codec.encode

    def encode(value: Any) -> Any:
        encoded = inner(value)
        if type(encoded) is str:
            _unique_text(encoded)
        return encoded

    return dataclasses.replace(codec, encode=encode, passes=None)


def split_optional(annotation: Any, where: str = "") -> tuple[Any, bool]:
    """Return ``(T, True)`` for ``T | None`` / ``Optional[T]``, else ``(annotation, False)``.

    ``where`` (``"Person.age"``) prefixes the error for any other union.
    """
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(annotation)) == 2:
            return args[0], True
        prefix = f"{where}: " if where else ""
        raise MappingError(
            f"{prefix}union type {annotation!r} cannot be stored; use one type or T | None"
        )
    return annotation, False


def _bare_codec(annotation: Any, where: str) -> ScalarCodec:
    if annotation is Any:
        return ScalarCodec("Any", encode_any, _identity, orderable=False)
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return _enum_codec(annotation)
    origin = typing.get_origin(annotation)
    if origin in (list, tuple):
        args = typing.get_args(annotation)
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if not args or args == ((),):
                raise MappingError(f"{where}: an empty tuple type cannot be stored")
            items = []
            for arg in args:
                item, optional = split_optional(arg, where)
                if optional:
                    raise MappingError(
                        f"{where}: a list property cannot hold None ({annotation!r})"
                    )
                items.append(_bare_codec(item, where))
            return _fixed_tuple_codec(tuple(items))
        item_type = args[0] if args else Any
        item_type, optional = split_optional(item_type, where)
        if optional:
            raise MappingError(f"{where}: a list property cannot hold None ({annotation!r})")
        return _list_codec(_bare_codec(item_type, where), as_tuple=origin is tuple)
    raise MappingError(
        f"{where}: type {annotation!r} cannot be stored; supported: str, int, float, bool, "
        "Decimal, UUID, date, datetime, time, timedelta, Enum, list/tuple of those, tuple[T, U] "
        "of those, frozen dataclasses of those, and T | None"
    )


def codec_for(annotation: Any, where: str) -> ScalarCodec:
    """Choose the codec for a field annotation; raises ``MappingError`` if none fits."""
    inner, optional = split_optional(annotation, where)
    codec = _bare_codec(inner, where)
    # A required field's encoder refuses None by itself ("expected str, got NoneType").
    return _optional(codec) if optional else codec


def is_value_object(annotation: Any, where: str = "") -> bool:
    """A frozen dataclass type: stored flattened into one property per field."""
    inner, _ = split_optional(annotation, where)
    params = getattr(inner, "__dataclass_params__", None)
    return (
        isinstance(inner, type)
        and dataclasses.is_dataclass(inner)
        and params is not None
        and bool(params.frozen)
    )
