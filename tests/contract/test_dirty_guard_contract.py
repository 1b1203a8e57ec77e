"""Unversioned mappings lose no update: updates are guarded on the values the unit read.
On the fakes and on FalkorDB, sync and async."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from infrastructure.persistence import (
    ConcurrencyError,
    MappingError,
    Registry,
    ensure_key_constraints,
)
from tests.units import FOUR_WAYS, Units, units_of


@dataclass
class Counter:
    id: str
    hits: int = 0
    label: str = ""
    note: str | None = None


@dataclass
class Loose:
    id: str
    hits: int = 0


@pytest.fixture(params=FOUR_WAYS)
def units(request: pytest.FixtureRequest) -> Units:
    registry = Registry()
    registry.map(Counter, key="id")
    registry.map(Loose, key="id", concurrency=None)
    return units_of(request, registry, prepare=ensure_key_constraints)


async def current(units: Units, cls: type, key: str) -> Any:
    async with units.unit() as uow:
        return await units.io(uow.repository(cls).get(key))


async def two_readers(units: Units, entity: Any) -> tuple[Any, Any, Any, Any]:
    """``entity`` stored, then two open units and the copy of it each loaded."""
    async with units.unit() as uow:
        uow.add(entity)
    first, second = units.new_unit(), units.new_unit()
    mine = await units.io(first.repository(type(entity)).get(entity.id))
    theirs = await units.io(second.repository(type(entity)).get(entity.id))
    return first, mine, second, theirs


async def test_two_units_incrementing_one_unversioned_counter_lose_nothing(units: Units) -> None:
    first, mine, second, theirs = await two_readers(units, Counter("c"))
    theirs.hits += 1
    await units.io(second.commit())
    mine.hits += 1
    with pytest.raises(ConcurrencyError) as caught:
        await units.io(first.commit())
    assert caught.value.stale == [("Counter", "c")]
    await units.io(first.close())
    await units.io(second.close())
    assert (await current(units, Counter, "c")).hits == 1
    async with units.unit() as uow:  # rerun from fresh reads: 2
        (await units.io(uow.repository(Counter).get("c"))).hits += 1
    assert (await current(units, Counter, "c")).hits == 2


async def test_a_concurrent_change_of_another_property_is_no_conflict(units: Units) -> None:
    first, mine, second, theirs = await two_readers(units, Counter("c", note="n"))
    theirs.label = "theirs"
    theirs.note = None
    await units.io(second.commit())
    mine.hits = 5
    await units.io(first.commit())
    await units.io(first.close())
    await units.io(second.close())
    stored = await current(units, Counter, "c")
    assert (stored.hits, stored.label, stored.note) == (5, "theirs", None)


async def test_a_property_set_and_removed_concurrently_is_caught(units: Units) -> None:
    first, mine, second, theirs = await two_readers(units, Counter("c"))
    theirs.note = "set"  # was absent
    await units.io(second.commit())
    mine.note = "mine"
    with pytest.raises(ConcurrencyError):
        await units.io(first.commit())
    await units.io(first.close())
    await units.io(second.close())
    assert (await current(units, Counter, "c")).note == "set"


async def test_concurrency_none_lets_the_last_writer_win(units: Units) -> None:
    first, mine, second, theirs = await two_readers(units, Loose("l"))
    theirs.hits += 1
    await units.io(second.commit())
    mine.hits += 1
    await units.io(first.commit())  # no guard, by choice: one increment is lost
    await units.io(first.close())
    await units.io(second.close())
    assert (await current(units, Loose, "l")).hits == 1


def test_an_unknown_concurrency_mode_is_refused() -> None:
    with pytest.raises(MappingError, match="concurrency must be"):
        Registry().map(Counter, key="id", concurrency="optimistic")
