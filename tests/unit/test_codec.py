"""The value codec: what can be stored comes back exactly; what cannot is refused up front.

Everything here runs without a server: ``encode`` is what the layer sends and
``decode`` what it builds from what the server returns. The same values make
the round trip through a real server in ``tests/integration/test_core_values.py``.
"""

from __future__ import annotations

import enum
import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from infrastructure.persistence import MappingError, Registry, ValueEncodingError
from infrastructure.persistence.codec import INT64_MAX, INT64_MIN, codec_for
from tests.values import Money, Priority


class Colour(enum.StrEnum):
    RED = "red"
    GREEN = "green"


class Status(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class Address:
    street: str
    city: str
    postcode: str | None = None


@dataclass(frozen=True)
class Location:
    address: Address
    floor: int | None = None


KEY = uuid.UUID("12345678-1234-5678-1234-567812345678")
PLUS_0530 = timezone(timedelta(hours=5, minutes=30))
MINUS_0345 = timezone(-timedelta(hours=3, minutes=45))


ROUND_TRIPS: list[tuple[Any, Any]] = [
    (str, ""),
    (str, "héllo ✓ 日本"),
    (str, "quotes ' \" and \\ backslash\nnewline"),
    (int, 0),
    (int, -17),
    (int, INT64_MAX),
    (int, INT64_MIN),
    (float, 0.1),
    (float, -2.5),
    (float, 1e300),
    (float, 123456789012345.0),
    (float, 0.0),
    (bool, True),
    (bool, False),
    (int | None, None),
    (str | None, "set"),
    (list[int], [1, 2, 3]),
    (list[str], []),
    (tuple[str, ...], ("a", "b")),
    (list[list[int]], [[1, 2], [3], []]),
    (list[Decimal], [Decimal("1.10"), Decimal("2")]),
    (list[uuid.UUID], [KEY, uuid.UUID(int=0)]),
    (datetime, datetime(2024, 2, 29, 13, 45, 7, 123456)),
    (datetime, datetime(2024, 2, 29, 13, 45, 7)),
    (datetime, datetime(2024, 2, 29, 13, 45, 7, 1, tzinfo=UTC)),
    (datetime, datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=PLUS_0530)),
    (datetime, datetime(2000, 1, 1, 0, 0, 0, 500000, tzinfo=MINUS_0345)),
    (date, date(2024, 2, 29)),
    (date, date(1, 1, 1)),
    (Decimal, Decimal("1.10")),
    (Decimal, Decimal("-0.000")),
    (Decimal, Decimal("1E+3")),
    (Decimal, Decimal("123456789012345678901234567890.123456789")),
    (uuid.UUID, KEY),
    (Colour, Colour.GREEN),
    (Priority, Priority.HIGH),
    (Status, Status.CLOSED),
    (Colour | None, None),
]


def _same(a: Any, b: Any) -> bool:
    """Equal, of the same type, and with the same visible form (Decimal exponent, offset)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, datetime):
        return a == b and a.utcoffset() == b.utcoffset() and a.isoformat() == b.isoformat()
    return bool(a == b) and str(a) == str(b)


@pytest.mark.parametrize(("annotation", "value"), ROUND_TRIPS, ids=repr)
def test_supported_value_round_trips_exactly(annotation: Any, value: Any) -> None:
    codec = codec_for(annotation, "Sample.field")
    decoded = codec.decode(codec.encode(value))
    assert _same(decoded, value), f"{value!r} came back as {decoded!r}"


def test_decimal_keeps_its_exponent() -> None:
    codec = codec_for(Decimal, "Sample.price")
    assert str(codec.decode(codec.encode(Decimal("1.10")))) == "1.10"
    assert str(codec.decode(codec.encode(Decimal("1.1")))) == "1.1"


def test_aware_datetime_keeps_its_offset_and_microseconds() -> None:
    codec = codec_for(datetime, "Sample.at")
    value = datetime(2024, 6, 1, 8, 0, 0, 654321, tzinfo=PLUS_0530)
    decoded = codec.decode(codec.encode(value))
    assert decoded.utcoffset() == timedelta(hours=5, minutes=30)
    assert decoded.microsecond == 654321
    assert decoded == value


def test_naive_datetime_stays_naive() -> None:
    codec = codec_for(datetime, "Sample.at")
    decoded = codec.decode(codec.encode(datetime(2024, 6, 1, 8, 0)))
    assert decoded.tzinfo is None


def test_str_subclass_is_stored_as_plain_text() -> None:
    encoded = codec_for(str, "Sample.name").encode(Colour.RED)
    assert type(encoded) is str
    assert encoded == "red"


def test_int_is_accepted_for_a_float_field() -> None:
    codec = codec_for(float, "Sample.ratio")
    assert codec.decode(codec.encode(3)) == 3.0


def test_any_field_accepts_primitives_and_lists_of_them() -> None:
    codec = codec_for(Any, "Sample.extra")
    for value in (None, True, 7, 2.5, "text", [1, "a", [2.5]]):
        assert codec.decode(codec.encode(value)) == value


REFUSED: list[tuple[Any, Any, str]] = [
    (float, math.nan, "NaN"),
    (float, math.inf, "NaN and infinities"),
    (float, -math.inf, "NaN and infinities"),
    (float, 0.1 + 0.2, "15 significant digits"),
    (float, 1 / 3, "15 significant digits"),
    (float, 2**60, "15 significant digits"),
    (int, INT64_MAX + 1, "64-bit"),
    (int, INT64_MIN - 1, "64-bit"),
    (str, "a\x00b", "NUL"),
    (list[int], [1, None], "cannot hold None"),
    (list[str], ["a", None], "cannot hold None"),
    (Any, [1, None], "cannot hold None"),
    (Any, math.nan, "NaN"),
    (Any, {"a": 1}, "annotate the field"),
    (int, True, "expected int"),
    (int, 1.5, "expected int"),
    (int, "1", "expected int"),
    (int, None, "expected int"),
    (float, True, "expected float"),
    (float, "1.5", "expected float"),
    (float, Decimal("1.5"), "expected float"),
    (bool, 1, "expected bool"),
    (str, 1, "expected str"),
    (str, None, "expected str"),
    (str, b"bytes", "expected str"),
    (Decimal, 1.1, "expected Decimal"),
    (Decimal, Decimal("NaN"), "NaN"),
    (Decimal, Decimal("Infinity"), "NaN"),
    (uuid.UUID, str(KEY), "expected UUID"),
    (datetime, date(2024, 1, 1), "expected datetime"),
    (datetime, "2024-01-01T00:00:00", "expected datetime"),
    (date, datetime(2024, 1, 1), "expected date"),
    (Colour, "red", "expected Colour"),
    (Priority, 1, "expected Priority"),
    (list[int], (1, "2"), "expected int"),
    (list[int], "123", "expected list[int]"),
    (list[list[int]], [[1], [None]], "cannot hold None"),
]


@pytest.mark.parametrize(("annotation", "value", "reason"), REFUSED, ids=repr)
def test_value_that_cannot_be_stored_exactly_is_refused(
    annotation: Any, value: Any, reason: str
) -> None:
    codec = codec_for(annotation, "Sample.field")
    with pytest.raises(ValueEncodingError) as caught:
        codec.encode(value)
    assert reason in str(caught.value)


def test_optional_field_still_checks_a_present_value() -> None:
    codec = codec_for(int | None, "Sample.age")
    with pytest.raises(ValueEncodingError, match="64-bit"):
        codec.encode(2**64)


@pytest.mark.parametrize(
    "annotation",
    [dict[str, int], set[int], bytes, int | str, tuple[int, None], list[int | None], object],
    ids=repr,
)
def test_unstorable_annotation_is_refused_when_mapping(annotation: Any) -> None:
    with pytest.raises(MappingError, match=r"Sample\.field"):
        codec_for(annotation, "Sample.field")


def test_enum_with_values_other_than_str_or_int_cannot_be_mapped() -> None:
    class Ratio(enum.Enum):
        HALF = 0.5

    with pytest.raises(MappingError, match=r"Ratio\.HALF.*float"):
        codec_for(Ratio, "Sample.ratio")


def test_stored_value_that_is_no_enum_member_is_reported_on_load() -> None:
    codec = codec_for(Colour, "Sample.colour")
    with pytest.raises(ValueError, match="not a value of Colour"):
        codec.reader("blue")


# -- whole entities: errors name the entity, its key and the field ------------------


@dataclass
class Sample:
    id: uuid.UUID
    name: str = "x"
    count: int = 0
    ratio: float = 0.0
    flag: bool = False
    tags: list[str] = field(default_factory=list)
    grid: list[list[int]] = field(default_factory=list)
    at: datetime | None = None
    day: date | None = None
    price: Decimal = Decimal("0")
    colour: Colour = Colour.RED
    priority: Priority = Priority.LOW
    balance: Money = field(default_factory=lambda: Money(Decimal("0")))
    refund: Money | None = None
    location: Location | None = None
    note: str | None = None


@pytest.fixture
def sample_mapping() -> Any:
    return Registry().map(Sample, key="id")


def test_value_objects_are_flattened_into_one_property_per_leaf(sample_mapping: Any) -> None:
    props = sample_mapping.properties
    assert "balance_amount" in props
    assert "balance_currency" in props
    assert "refund_amount" in props
    assert "location_address_street" in props
    assert "location_address_postcode" in props
    assert "location_floor" in props
    assert "balance" not in props


def test_entity_with_every_supported_type_round_trips(sample_mapping: Any) -> None:
    entity = Sample(
        id=KEY,
        name="Zoë",
        count=INT64_MIN,
        ratio=0.1,
        flag=True,
        tags=["a", "b"],
        grid=[[1], [2, 3]],
        at=datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=PLUS_0530),
        day=date(2023, 12, 31),
        price=Decimal("1.10"),
        colour=Colour.GREEN,
        priority=Priority.HIGH,
        balance=Money(Decimal("12.50"), "USD"),
        refund=Money(Decimal("0.01")),
        location=Location(Address("Main St 1", "Berlin"), floor=None),
        note=None,
    )
    decoded = sample_mapping.decode(sample_mapping.encode(entity))
    assert decoded == entity
    assert str(decoded.price) == "1.10"
    assert str(decoded.balance.amount) == "12.50"
    assert decoded.at.utcoffset() == PLUS_0530.utcoffset(None)
    assert decoded.location.address.postcode is None


def test_missing_optional_value_object_comes_back_as_none(sample_mapping: Any) -> None:
    decoded = sample_mapping.decode(sample_mapping.encode(Sample(id=KEY)))
    assert decoded.refund is None
    assert decoded.location is None


@pytest.mark.parametrize(
    ("field_name", "value", "reason"),
    [
        ("ratio", math.nan, "NaN"),
        ("ratio", math.inf, "NaN and infinities"),
        ("ratio", 0.1 + 0.2, "15 significant digits"),
        ("count", 2**63, "64-bit"),
        ("count", True, "expected int"),
        ("name", "nul\x00", "NUL"),
        ("tags", ["ok", None], "cannot hold None"),
        ("grid", [[1, None]], "cannot hold None"),
        ("flag", "yes", "expected bool"),
        ("price", 1.1, "expected Decimal"),
        ("at", "2024-01-01", "expected datetime"),
        ("colour", "red", "expected Colour"),
        ("balance", None, "expected Money, got None"),
        ("balance", {"amount": Decimal("1")}, "expected Money"),
        ("balance", Money(1.5), "expected Decimal"),  # type: ignore[arg-type]
        ("refund", Address("a", "b"), "expected Money"),
    ],
)
def test_refused_value_names_entity_key_and_field(
    sample_mapping: Any, field_name: str, value: Any, reason: str
) -> None:
    entity = Sample(id=KEY)
    setattr(entity, field_name, value)
    with pytest.raises(ValueEncodingError) as caught:
        sample_mapping.encode(entity)
    message = str(caught.value)
    assert f"Sample[{KEY!r}].{field_name}" in message
    assert reason in message
    assert "nothing was written" in message


def test_refused_key_names_the_entity_type(sample_mapping: Any) -> None:
    with pytest.raises(ValueEncodingError, match=r"Sample key: expected UUID"):
        sample_mapping.encode_key("not-a-uuid")
