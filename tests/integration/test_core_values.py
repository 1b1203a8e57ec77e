"""Every supported value type makes the round trip through a real server exactly."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from infrastructure.persistence import Registry
from infrastructure.persistence.codec import INT64_MAX, INT64_MIN
from tests.values import Money, Priority

if TYPE_CHECKING:
    from tests.integration.conftest import Harness


class Colour(enum.StrEnum):
    RED = "red"
    GREEN = "green"


@dataclass(frozen=True)
class Address:
    street: str
    postcode: str | None = None


@dataclass
class Sample:
    id: uuid.UUID
    text: str = ""
    count: int = 0
    ratio: float = 0.0
    flag: bool = False
    tags: list[str] = field(default_factory=list)
    codes: tuple[int, ...] = ()
    grid: list[list[int]] = field(default_factory=list)
    at: datetime | None = None
    day: date | None = None
    price: Decimal = Decimal("0")
    keys: list[uuid.UUID] = field(default_factory=list)
    colour: Colour = Colour.RED
    priority: Priority = Priority.LOW
    balance: Money = field(default_factory=lambda: Money(Decimal("0")))
    refund: Money | None = None
    address: Address | None = None
    extra: Any = None
    version: int = 0


PLUS_0530 = timezone(timedelta(hours=5, minutes=30))

SAMPLES = [
    Sample(
        id=uuid.uuid4(),
        text="héllo ✓ 'quoted' \"double\" \\ back\nline",
        count=INT64_MAX,
        ratio=0.1,
        flag=True,
        tags=["a", "", "b"],
        codes=(3, 1, 2),
        grid=[[1, 2], [], [3]],
        at=datetime(2024, 2, 29, 13, 45, 7, 123456),
        day=date(2024, 2, 29),
        price=Decimal("1.10"),
        keys=[uuid.UUID(int=1), uuid.UUID(int=2)],
        colour=Colour.GREEN,
        priority=Priority.HIGH,
        balance=Money(Decimal("12.50"), "USD"),
        refund=Money(Decimal("-0.000")),
        address=Address("Main St 1"),
        extra=[1, "two", 3.5],
    ),
    Sample(
        id=uuid.uuid4(),
        count=INT64_MIN,
        ratio=1e300,
        at=datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=PLUS_0530),
        day=date(1, 1, 1),
        price=Decimal("123456789012345678901234567890.123456789"),
        extra="text",
    ),
    Sample(
        id=uuid.uuid4(),
        ratio=123456789012345.0,
        at=datetime(2000, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        price=Decimal("1E+3"),
        address=Address("Side St", "12345"),
        extra=7,
    ),
    Sample(id=uuid.uuid4(), ratio=-2.5e-300, extra=True),
]


@pytest.fixture
def samples(harness: Harness) -> Registry:
    registry = Registry()
    registry.map(Sample, key="id", version="version")
    return harness.prepare(registry)


def same(a: Any, b: Any) -> bool:
    """Equal, of the same types all the way down, with the same text form."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, datetime):
        return a == b and a.utcoffset() == b.utcoffset()
    if hasattr(a, "__dataclass_fields__"):
        return all(same(getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__)
    return bool(a == b) and str(a) == str(b)


async def test_every_supported_value_round_trips_through_the_server(
    harness: Harness, samples: Registry
) -> None:
    async with harness.unit(samples) as uow:
        for sample in SAMPLES:
            uow.add(sample)
    async with harness.unit(samples) as uow:
        loaded = await uow.repository(Sample).get_many([s.id for s in SAMPLES])
    for original, back in zip(SAMPLES, loaded, strict=True):
        assert back is not original
        for name in Sample.__dataclass_fields__:
            assert same(getattr(back, name), getattr(original, name)), (
                f"{name}: {getattr(original, name)!r} came back as {getattr(back, name)!r}"
            )


async def test_an_edit_of_each_type_round_trips(harness: Harness, samples: Registry) -> None:
    sample = Sample(id=uuid.uuid4())
    async with harness.unit(samples) as uow:
        uow.add(sample)
    async with harness.unit(samples) as uow:
        loaded = await uow.repository(Sample).get(sample.id)
        loaded.text = "edited"
        loaded.ratio = 2.75
        loaded.tags.append("new")
        loaded.at = datetime(2030, 1, 1, 12, 0, 0, 5, tzinfo=PLUS_0530)
        loaded.price = Decimal("0.10")
        loaded.refund = Money(Decimal("3.30"))
        loaded.address = None
        loaded.colour = Colour.GREEN
    async with harness.unit(samples) as uow:
        back = await uow.repository(Sample).get(sample.id)
    assert (back.text, back.ratio, back.tags) == ("edited", 2.75, ["new"])
    assert same(back.at, datetime(2030, 1, 1, 12, 0, 0, 5, tzinfo=PLUS_0530))
    assert str(back.price) == "0.10"
    assert back.refund == Money(Decimal("3.30"))
    assert back.address is None
    assert back.colour is Colour.GREEN
    assert back.version == 2


async def test_typed_values_can_be_queried(harness: Harness, samples: Registry) -> None:
    async with harness.unit(samples) as uow:
        for sample in SAMPLES:
            uow.add(sample)
    first, second, third, _ = SAMPLES
    async with harness.unit(samples) as uow:
        repo = uow.repository(Sample)
        assert [s.id for s in await repo.find_by(colour=Colour.GREEN)] == [first.id]
        assert [s.id for s in await repo.find_by(priority=Priority.HIGH)] == [first.id]
        assert [s.id for s in await repo.find_by(day=date(1, 1, 1))] == [second.id]
        assert [s.id for s in await repo.find_by(at=second.at)] == [second.id]
        assert [s.id for s in await repo.find_by(price=Decimal("1E+3"))] == [third.id]
        assert [s.id for s in await repo.find_by(balance_currency="USD")] == [first.id]
        assert [s.id for s in await repo.find_by(address_postcode="12345")] == [third.id]
        assert await repo.count(flag=True) == 1


@dataclass
class Event:
    id: str
    at: datetime
    day: date
    priority: Priority


async def test_naive_datetimes_dates_and_int_enums_sort_in_their_own_order(
    harness: Harness,
) -> None:
    registry = Registry()
    registry.map(Event, key="id")
    harness.prepare(registry)
    events = [
        Event("e1", datetime(2024, 1, 1, 9, 0, 0, 1), date(999, 5, 1), Priority.HIGH),
        Event("e2", datetime(2024, 1, 1, 9, 0), date(2024, 1, 1), Priority.LOW),
        Event("e3", datetime(2023, 12, 31, 23, 59, 59, 999999), date(10, 1, 1), Priority.HIGH),
        Event("e4", datetime(987, 6, 5, 4, 3, 2), date(2024, 1, 2), Priority.LOW),
    ]
    async with harness.unit(registry) as uow:
        for event in events:
            uow.add(event)
    async with harness.unit(registry) as uow:
        repo = uow.repository(Event)
        by_time = await repo.list(order_by="at")
        assert [e.id for e in by_time] == [e.id for e in sorted(events, key=lambda e: e.at)]
        by_day = await repo.list(order_by="-day")
        assert [e.id for e in by_day] == [
            e.id for e in sorted(events, key=lambda e: e.day, reverse=True)
        ]
        by_priority = await repo.list(order_by=["priority", "id"])
        assert [e.id for e in by_priority] == ["e2", "e4", "e1", "e3"]
