"""Data the layer did not write itself: nodes from before a field existed, values other
clients wrote natively, values that fit no field. Written with the raw client."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from infrastructure.persistence import Registry, StoredValueError
from tests.values import Money

if TYPE_CHECKING:
    from tests.integration.conftest import Harness


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


FIVE = uuid.UUID(int=5)


def _tags() -> list[str]:
    return ["new"]


@dataclass
class Item:
    """Every supported type, each field added after the stored nodes were written."""

    id: str
    name: str
    text: str = "x"
    count: int = 7
    ratio: float = 0.5
    flag: bool = True
    price: Decimal = Decimal("1.50")
    ref: uuid.UUID = FIVE
    day: date = date(2020, 1, 2)
    at: datetime = datetime(2020, 1, 2, 3, 4, 5, 6)
    clock: time = time(1, 2, 3, 4)
    span: timedelta = timedelta(days=1, microseconds=3)
    colour: Colour = Colour.BLUE
    tags: list[str] = field(default_factory=_tags)
    pair: tuple[int, int] = (1, 2)
    codes: tuple[int, ...] = (3,)
    balance: Money = field(default_factory=lambda: Money(Decimal("0.00")))
    note: str | None = None
    version: int = 0


DEFAULTS = Item("_", "_")


@pytest.fixture
def items(harness: Harness) -> Registry:
    registry = Registry()
    registry.map(Item, key="id", version="version")
    return harness.prepare(registry)


async def test_nodes_stored_before_a_field_existed_load_with_its_default(
    harness: Harness, items: Registry
) -> None:
    harness.graph.query("CREATE (:Item {id: 'old', name: 'Old', version: 1})")
    async with harness.unit(items) as uow:
        old = await uow.repository(Item).get("old")
        for name in Item.__dataclass_fields__:
            if name not in ("id", "name", "version"):
                assert getattr(old, name) == getattr(DEFAULTS, name), name
                assert type(getattr(old, name)) is type(getattr(DEFAULTS, name)), name
        assert old.tags is not DEFAULTS.tags  # a factory's fresh value
        assert not uow.has_pending_changes
        harness.log.clear()
    assert harness.log.writes == []  # a read-only unit writes nothing
    assert harness.stored("Item", "old") == {"id": "old", "name": "Old", "version": 1}


async def test_an_edit_of_an_old_node_writes_only_what_changed(
    harness: Harness, items: Registry
) -> None:
    harness.graph.query("CREATE (:Item {id: 'old', name: 'Old', version: 1})")
    async with harness.unit(items) as uow:
        old = await uow.repository(Item).get("old")
        old.name = "Renamed"
        old.tags.append("more")
        old.balance = Money(Decimal("2.00"))
    async with harness.unit(items) as uow:
        again = await uow.repository(Item).get("old")
    assert again.name == "Renamed"
    assert again.version == 2
    assert again.tags == ["new", "more"]
    assert again.balance == Money(Decimal("2.00"))
    assert again.count == 7  # still the default
    assert harness.stored("Item", "old") == {
        "id": "old",
        "name": "Renamed",
        "version": 2,
        "tags": ["new", "more"],
        "balance_amount": "2.00",  # the currency is unchanged: still its default, unstored
    }


@dataclass
class Strict:
    id: str
    required: str


@dataclass
class Stamped:
    id: str
    stamp: datetime | None = None


async def test_a_missing_property_without_default_raises_a_typed_error(harness: Harness) -> None:
    registry = harness.prepare(Registry())
    registry.map(Strict, key="id")
    harness.graph.query("CREATE (:Strict {id: 's1'})")
    async with harness.unit(registry) as uow:
        with pytest.raises(StoredValueError) as caught:
            await uow.repository(Strict).get("s1")
    error = caught.value
    assert (error.label, error.key, error.property, error.value) == (
        "Strict",
        "s1",
        "required",
        None,
    )
    assert "no default" in str(error)


@pytest.mark.parametrize(
    ("prop", "cypher", "shown"),
    [
        ("price", "'lots'", "'lots'"),
        ("ref", "'not-a-uuid'", "'not-a-uuid'"),
        ("day", "'yesterday'", "'yesterday'"),
        ("at", "42", "42"),
        ("colour", "'green'", "'green'"),
        ("count", "'seven'", "'seven'"),
        ("balance_amount", "true", "True"),
        ("pair", "[1, 2, 3]", "[1, 2, 3]"),
        ("text", "date('2024-01-01')", "datetime.date(2024, 1, 1)"),
    ],
)
async def test_a_value_that_fits_no_field_raises_one_error_naming_the_node(
    harness: Harness, items: Registry, prop: str, cypher: str, shown: str
) -> None:
    harness.graph.query(
        f"CREATE (:Item {{id: 'good', name: 'Good'}}), (:Item {{id: 'bad', name: 'Bad', {prop}: {cypher}}})"
    )
    async with harness.unit(items) as uow:
        repo = uow.repository(Item)
        assert (await repo.get("good")).name == "Good"
        with pytest.raises(StoredValueError) as caught:
            await repo.get("bad")
        with pytest.raises(StoredValueError):
            await repo.list()
        problems = await repo.undecodable()
    error = caught.value
    assert (error.label, error.key, error.property) == ("Item", "bad", prop)
    assert f"property {prop!r} holds {shown}" in str(error)
    assert [(p.key, p.property) for p in problems] == [("bad", prop)]


async def test_native_temporal_values_written_by_another_client_read_exactly(
    harness: Harness, items: Registry
) -> None:
    harness.graph.query(
        "CREATE (:Item {id: 'n', name: 'Native', day: date('2025-06-29'), "
        "at: localdatetime('2025-06-29T13:45:07'), clock: localtime('13:45:07'), "
        "span: duration('P1DT2H3M4S')})"
    )
    async with harness.unit(items) as uow:
        item = await uow.repository(Item).get("n")
        assert item.day == date(2025, 6, 29)
        assert item.at == datetime(2025, 6, 29, 13, 45, 7)
        assert item.at.tzinfo is None
        assert item.clock == time(13, 45, 7)
        assert item.span == timedelta(days=1, hours=2, minutes=3, seconds=4)
        assert not uow.has_pending_changes
        item.name = "Edited"  # an edit of another field leaves the native values alone
    types = harness.graph.ro_query(
        "MATCH (n:Item {id: 'n'}) RETURN n.name, typeOf(n.day), typeOf(n.at), typeOf(n.clock), "
        "typeOf(n.span)"
    ).result_set
    assert types == [["Edited", "Date", "Datetime", "Time", "Duration"]]
    async with harness.unit(items) as uow:
        item = await uow.repository(Item).get("n")
        item.at = datetime(2026, 1, 1, 0, 0, 0, 5)  # an edit of the value itself: exact text
    async with harness.unit(items) as uow:
        again = await uow.repository(Item).get("n")
    assert again.at == datetime(2026, 1, 1, 0, 0, 0, 5)
    assert again.day == date(2025, 6, 29)


@dataclass
class Doc:
    id: str
    embedding: list[float] = field(default_factory=list)
    title: str = ""


async def test_a_vector_in_a_float_list_reads_as_float32_and_is_not_written_back(
    harness: Harness,
) -> None:
    registry = Registry()
    registry.map(Doc, key="id")
    harness.prepare(registry)
    harness.graph.query("CREATE (:Doc {id: 'd', embedding: vecf32([0.1, 0.2, 3.0]), title: 't'})")
    async with harness.unit(registry) as uow:
        doc = await uow.repository(Doc).get("d")
        assert doc.embedding == [0.1, 0.2, 3.0]  # the float32 values, shortest
        assert not uow.has_pending_changes
        harness.log.clear()
    assert harness.log.writes == []
    async with harness.unit(registry) as uow:
        doc = await uow.repository(Doc).get("d")
        doc.title = "other"
    kind = harness.graph.ro_query("MATCH (n:Doc) RETURN typeOf(n.embedding), n.title").result_set
    assert kind == [["Vectorf32", "other"]]


async def test_layer_written_values_read_the_same_through_the_raw_client(
    harness: Harness,
) -> None:
    registry = Registry()
    registry.map(Stamped, key="id")
    harness.prepare(registry)
    async with harness.unit(registry) as uow:
        uow.add(Stamped("s", datetime(2025, 6, 29, 13, 45, 0, 123456)))
    rows = harness.graph.ro_query("MATCH (n:Stamped) RETURN n.stamp").result_set
    # The exact text form keeps the microseconds; the server's own type would drop them.
    assert rows[0][0] == "2025-06-29T13:45:00.123456"
