"""Nodes the layer did not write (older nodes, other clients), on the fakes and on FalkorDB.

The same node is written with the raw falkordb client on the server and with
``FakeStore.put`` (values as the client returns them) on the fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from infrastructure.persistence import (
    Registry,
    StoredValueError,
    ensure_key_constraints,
)
from infrastructure.persistence.readers import StoredVector
from infrastructure.server.cypher import AsyncFastGraph
from tests.units import FOUR_WAYS, Units, units_of


@dataclass
class Gadget:
    id: str
    name: str
    price: Decimal = Decimal("9.99")
    made: date = date(2000, 1, 1)
    at: datetime | None = None
    span: timedelta = timedelta(0)
    weights: list[float] = field(default_factory=list)
    version: int = 0


@dataclass
class RawBackend(Units):
    write: Callable[[str, str, dict[str, Any]], None] = (
        print  # (key, cypher properties, fake values)
    )


@pytest.fixture(params=FOUR_WAYS)
def rbe(request: pytest.FixtureRequest) -> RawBackend:
    registry = Registry()
    registry.map(Gadget, key="id", version="version")
    units = units_of(
        request,
        registry,
        prepare=ensure_key_constraints,
        handle=lambda graph, is_async: AsyncFastGraph(graph) if is_async else graph,
    )
    store, graph = units.store, units.graph

    def put(key: str, cypher: str, values: dict[str, Any]) -> None:
        assert store is not None
        store.put("Gadget", key, {"id": key, **values})

    def create(key: str, cypher: str, values: dict[str, Any]) -> None:
        graph.query(f"CREATE (:Gadget {{id: $id{', ' + cypher if cypher else ''}}})", {"id": key})

    write = put if store is not None else create
    return RawBackend(units.name, units.is_async, units.new_unit, store, graph, write)


async def test_an_older_node_loads_with_defaults_and_stays_clean(rbe: RawBackend) -> None:
    rbe.write("g1", "name: 'Old'", {"name": "Old"})
    async with rbe.unit() as uow:
        gadget = await rbe.io(uow.repository(Gadget).get("g1"))
        assert (gadget.price, gadget.made, gadget.span) == (
            Decimal("9.99"),
            date(2000, 1, 1),
            timedelta(0),
        )
        assert gadget.weights == []
        assert gadget.at is None
        assert not uow.has_pending_changes


async def test_a_missing_required_property_raises_the_typed_error(rbe: RawBackend) -> None:
    rbe.write("g1", "price: '1'", {"price": "1"})
    async with rbe.unit() as uow:
        with pytest.raises(StoredValueError) as caught:
            await rbe.io(uow.repository(Gadget).get("g1"))
    assert (caught.value.key, caught.value.property, caught.value.value) == ("g1", "name", None)


async def test_an_undecodable_value_is_named_and_listed(rbe: RawBackend) -> None:
    rbe.write("ok", "name: 'Fine'", {"name": "Fine"})
    rbe.write("bad", "name: 'Bad', price: 'cheap'", {"name": "Bad", "price": "cheap"})
    async with rbe.unit() as uow:
        repo = uow.repository(Gadget)
        with pytest.raises(StoredValueError, match="property 'price' holds 'cheap'"):
            await rbe.io(repo.find_by(name="Bad"))
        problems = await rbe.io(repo.undecodable())
    assert [(p.label, p.key, p.property, p.value) for p in problems] == [
        ("Gadget", "bad", "price", "cheap")
    ]


async def test_native_values_read_exactly_and_a_read_only_unit_writes_nothing(
    rbe: RawBackend,
) -> None:
    rbe.write(
        "n",
        "name: 'N', made: date('2025-06-29'), at: localdatetime('2025-06-29T13:45:00'), "
        "span: duration('PT90S'), weights: vecf32([0.1, 0.5])",
        {
            "name": "N",
            "made": date(2025, 6, 29),
            "at": datetime(2025, 6, 29, 13, 45),
            "span": timedelta(seconds=90),
            "weights": StoredVector([0.10000000149011612, 0.5]),
        },
    )
    async with rbe.unit() as uow:
        gadget = await rbe.io(uow.repository(Gadget).get("n"))
        assert gadget.made == date(2025, 6, 29)
        assert gadget.at == datetime(2025, 6, 29, 13, 45)
        assert gadget.span == timedelta(seconds=90)
        assert gadget.weights == [0.1, 0.5]
        assert not uow.has_pending_changes
    async with rbe.unit() as uow:
        again = await rbe.io(uow.repository(Gadget).get("n"))
        assert again.version == 0  # nothing was written: the version never moved
        again.name = "Edited"
    async with rbe.unit() as uow:
        edited = await rbe.io(uow.repository(Gadget).get("n"))
    assert (edited.name, edited.version, edited.weights) == ("Edited", 1, [0.1, 0.5])
