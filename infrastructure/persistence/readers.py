"""How a stored value of each field type is read, whatever wrote it.

The codecs (``codec``) decode the layer's own stored form inline. Other
programs write the same graph with FalkorDB's native values: ``date()``,
``localtime()``, ``localdatetime()`` and ``duration()`` (whole seconds, no
time zone) and ``vecf32()`` vectors (float32 items). Every such value has
an exact counterpart in the field's type, so each reader here accepts the
layer's form and the native ones, and raises TypeError or ValueError for a
value that fits neither. They run only on the careful decoding path
(``mapping``), never on the hot one.
"""

from __future__ import annotations

import math
import struct
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar


class StoredVector(list[float]):
    """A ``vecf32`` value as read from the server: its items are float32 values."""


_F32 = struct.Struct("<f")


def float32_shortest(value: float) -> float:
    """The float with the fewest digits that is the same float32 as ``value``."""
    packed = _F32.pack(value)
    for digits in range(1, 10):
        shorter = float(f"{value:.{digits}g}")
        if _F32.pack(shorter) == packed:
            return shorter
    return value


def not_stored(value: Any, expected: str) -> TypeError:
    return TypeError(f"a {type(value).__name__} is not a stored {expected}")


T = TypeVar("T")


def exactly(kind: type[T]) -> Callable[[Any], T]:
    """A reader taking values of type ``kind`` itself only (a bool is no stored int)."""
    name = kind.__name__

    def read(value: Any) -> T:
        if type(value) is not kind:
            raise not_stored(value, name)
        same: T = value
        return same

    read.__name__ = read.__qualname__ = f"read_{name}"
    return read


read_str = exactly(str)
read_int = exactly(int)
read_bool = exactly(bool)


def read_float(value: Any) -> float:
    if type(value) is float:
        return value
    if type(value) is int and float(value) == value:  # 3 written where 3.0 was meant
        return float(value)
    raise not_stored(value, "float")


def read_decimal(value: Any) -> Decimal:
    if type(value) is str:
        try:
            number = Decimal(value)
        except ArithmeticError:
            raise ValueError("it is not a decimal number") from None
        if not number.is_finite():
            raise ValueError("NaN and infinities are not stored amounts")
        return number
    if type(value) is int:
        return Decimal(value)
    if type(value) is float and math.isfinite(value):
        return Decimal(repr(value))  # the double another client meant, as written
    raise not_stored(value, "Decimal")


def read_uuid(value: Any) -> uuid.UUID:
    if type(value) is not str:
        raise not_stored(value, "UUID")
    return uuid.UUID(value)


def read_datetime(value: Any) -> datetime:
    if type(value) is str:
        return datetime.fromisoformat(value)
    if type(value) is datetime:  # localdatetime(): whole seconds, no time zone
        # (the falkordb client's own parser reads them as UTC datetimes)
        return value.replace(tzinfo=None) if value.tzinfo is UTC else value
    raise not_stored(value, "datetime")


def read_date(value: Any) -> date:
    if type(value) is str:
        return date.fromisoformat(value)
    if type(value) is date:
        return value
    raise not_stored(value, "date")


def read_time(value: Any) -> time:
    if type(value) is str:
        return time.fromisoformat(value)
    if type(value) is time:  # localtime(): whole seconds
        return value
    raise not_stored(value, "time")


def read_timedelta(value: Any) -> timedelta:
    if type(value) is int:
        return timedelta(microseconds=value)
    if type(value) is timedelta:  # duration(): whole seconds
        return value
    if type(value).__name__ == "relativedelta":  # duration() as the falkordb client parses it
        return from_client(value)  # type: ignore[no-any-return]
    raise not_stored(value, "timedelta")


def from_client(value: Any) -> Any:
    """A property value the falkordb client parsed, as this layer's reads parse it.

    The client reads ``localdatetime`` values as UTC datetimes (FalkorDB
    temporal values have no time zone) and durations as ``relativedelta``.
    """
    if type(value) is datetime and value.tzinfo is UTC:
        return value.replace(tzinfo=None)
    if type(value).__name__ == "relativedelta":
        return timedelta(
            days=value.days, hours=value.hours, minutes=value.minutes, seconds=value.seconds
        )
    return value
