"""A commit is one atomic query: when any part of it fails, nothing of it is written.

Each test takes a full picture of the graph (every node with every property,
every edge) before the failing commit and compares it afterwards.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from domain.model import Account, Money, Person, Transfer
from infrastructure.persistence import (
    CommitError,
    ConcurrencyError,
    DuplicateKeyError,
    MappingError,
    Registry,
    ValueEncodingError,
)

if TYPE_CHECKING:
    from tests.integration.conftest import Harness


def picture(harness: Harness) -> tuple[list[Any], list[Any]]:
    return harness.nodes(), harness.edges()


@pytest.fixture
async def bank(harness: Harness) -> dict[str, Any]:
    """Three people, two funded accounts, one transfer; an edge Cat -KNOWS-> Ann."""
    ann = Person.register("Ann", "ann@example.com", 30)
    bob = Person.register("Bob", "bob@example.com", 40)
    cat = Person.register("Cat", "cat@example.com", 50)
    a1, a2 = Account.open(ann.id), Account.open(bob.id)
    a1.deposit(Money.of("100.00"))
    a2.deposit(Money.of("50.00"))
    transfer = Transfer.between(a1, a2, Money.of("10.00"))
    async with harness.unit() as uow:
        for entity in (ann, bob, cat, a1, a2, transfer):
            uow.add(entity)
    harness.graph.query(
        "MATCH (c:Person {id: $c}), (a:Person {id: $a}) CREATE (c)-[:KNOWS]->(a)",
        {"c": str(cat.id), "a": str(ann.id)},
    )
    harness.log.clear()
    return {"ann": ann, "bob": bob, "cat": cat, "a1": a1, "a2": a2, "transfer": transfer}


def add_unique_constraint(harness: Harness, label: str, prop: str) -> None:
    harness.graph.create_node_unique_constraint(label, prop)
    for _ in range(500):
        states = {
            (c["label"], tuple(c["properties"])): c["status"]
            for c in harness.graph.list_constraints()
        }
        if states.get((label, (prop,))) == "OPERATIONAL":
            return
        time.sleep(0.01)
    raise AssertionError(f"constraint on {label}.{prop} never became operational")


# -- unique constraints -----------------------------------------------------------------------


async def test_a_unique_violation_in_the_middle_of_a_commit_writes_nothing(
    harness: Harness, bank: dict[str, Any]
) -> None:
    add_unique_constraint(harness, "Person", "email")
    before = picture(harness)
    async with harness.unit() as uow:
        newcomer = Person.register("New", "new@example.com")
        uow.people.add(newcomer)  # creates come first ...
        uow.accounts.add(Account.open(newcomer.id))
        bob = await uow.people.get(bank["bob"].id)
        bob.email = "ann@example.com"  # ... this update violates the constraint ...
        (await uow.accounts.get(bank["a1"].id)).deposit(Money.of("1.00"))
        uow.people.remove(await uow.people.get(bank["cat"].id))  # ... deletes come last
        uow.transfers.remove(await uow.transfers.get(bank["transfer"].id))
        with pytest.raises(DuplicateKeyError, match="nothing was written"):
            await uow.commit()
        await uow.rollback()
    assert picture(harness) == before
    assert len(harness.log.writes) == 1


async def test_a_duplicate_key_among_creates_updates_and_deletes_writes_nothing(
    harness: Harness, bank: dict[str, Any]
) -> None:
    before = picture(harness)
    duplicate = Person(bank["ann"].id, "Impostor", "imp@example.com")

    async def work() -> None:
        async with harness.unit() as uow:
            uow.people.add(Person.register("Fresh", "fresh@example.com"))
            uow.people.add(duplicate)
            (await uow.people.get(bank["bob"].id)).age = 41
            uow.people.remove(await uow.people.get(bank["cat"].id))

    with pytest.raises(DuplicateKeyError) as caught:
        await work()
    assert f"Person[{bank['ann'].id!r}] already exists" in str(caught.value)
    assert "nothing was written" in str(caught.value)
    # the deleted node (with its edge) is back exactly, not recreated
    assert picture(harness) == before
    knows = [edge for edge in harness.edges() if edge[0] == "KNOWS"]  # transfers have edges too
    assert knows == [("KNOWS", str(bank["cat"].id), str(bank["ann"].id))]


async def test_duplicate_keys_of_several_types_are_all_named(
    harness: Harness, bank: dict[str, Any]
) -> None:
    before = picture(harness)

    async def work() -> None:
        async with harness.unit() as uow:
            uow.people.add(Person(bank["bob"].id, "B2", "b2@example.com"))
            uow.accounts.add(Account(bank["a2"].id, bank["bob"].id, Money.of("0")))

    with pytest.raises(DuplicateKeyError) as caught:
        await work()
    message = str(caught.value)
    assert f"Person[{bank['bob'].id!r}]" in message
    assert f"Account[{bank['a2'].id!r}]" in message
    assert picture(harness) == before


# -- optimistic concurrency ----------------------------------------------------------------------


async def test_a_stale_update_raises_naming_type_and_key_and_writes_nothing(
    harness: Harness, bank: dict[str, Any]
) -> None:
    a1 = bank["a1"]
    unrelated = Person.register("Unrelated", "u@example.com")
    async with harness.unit() as slow:
        mine = await slow.accounts.get(a1.id)
        other_account = await slow.accounts.get(bank["a2"].id)
        async with harness.unit() as fast:
            (await fast.accounts.get(a1.id)).deposit(Money.of("5.00"))
        before = picture(harness)
        mine.deposit(Money.of("1.00"))
        other_account.deposit(Money.of("1.00"))  # not stale: must not be named
        slow.people.add(unrelated)
        with pytest.raises(ConcurrencyError) as caught:
            await slow.commit()
        assert caught.value.stale == [("Account", a1.id)]
        assert f"Account[{a1.id!r}]" in str(caught.value)
        assert "nothing was written" in str(caught.value)
        await slow.rollback()
    assert picture(harness) == before
    assert harness.stored("Person", str(unrelated.id)) is None
    assert harness.stored("Account", str(a1.id))["balance_amount"] == "95.00"  # type: ignore[index]


async def test_updating_an_entity_another_unit_deleted_is_a_conflict(
    harness: Harness, bank: dict[str, Any]
) -> None:
    async with harness.unit() as slow:
        bob = await slow.people.get(bank["bob"].id)
        async with harness.unit() as fast:
            fast.people.remove(await fast.people.get(bank["bob"].id))
        before = picture(harness)
        bob.age = 41
        slow.people.add(Person.register("Unrelated", "u@example.com"))
        with pytest.raises(ConcurrencyError) as caught:
            await slow.commit()
        assert caught.value.stale == [("Person", bob.id)]
        await slow.rollback()
    assert picture(harness) == before


async def test_deleting_an_entity_another_unit_changed_is_a_conflict(
    harness: Harness, bank: dict[str, Any]
) -> None:
    async with harness.unit() as slow:
        cat = await slow.people.get(bank["cat"].id)
        async with harness.unit() as fast:
            (await fast.people.get(bank["cat"].id)).age = 51
        before = picture(harness)
        slow.people.remove(cat)
        with pytest.raises(ConcurrencyError) as caught:
            await slow.commit()
        assert caught.value.stale == [("Person", cat.id)]
        await slow.rollback()
    assert picture(harness) == before
    assert harness.stored("Person", str(cat.id))["age"] == 51  # type: ignore[index]


async def test_unversioned_entity_deleted_by_another_unit_is_a_conflict(
    harness: Harness, bank: dict[str, Any]
) -> None:
    transfer = bank["transfer"]
    async with harness.unit() as slow:
        mine = await slow.transfers.get(transfer.id)
        async with harness.unit() as fast:
            fast.transfers.remove(await fast.transfers.get(transfer.id))
        mine.amount = Money.of("11.00")
        with pytest.raises(ConcurrencyError) as caught:
            await slow.commit()
        assert caught.value.stale == [("Transfer", transfer.id)]
        await slow.rollback()
    assert harness.count("Transfer") == 0


async def test_a_failed_with_block_commit_closes_the_unit_and_the_next_unit_works(
    harness: Harness, bank: dict[str, Any]
) -> None:
    slow = harness.unit()

    async def overtaken() -> None:
        async with slow:
            bob = await slow.people.get(bank["bob"].id)
            async with harness.unit() as fast:
                (await fast.people.get(bank["bob"].id)).age = 41
            bob.age = 42

    with pytest.raises(ConcurrencyError):
        await overtaken()
    assert not slow.is_active
    async with harness.unit() as retry:
        (await retry.people.get(bank["bob"].id)).age = 42
    assert harness.stored("Person", str(bank["bob"].id))["age"] == 42  # type: ignore[index]


async def test_commit_errors_share_one_base(harness: Harness) -> None:
    assert issubclass(ConcurrencyError, CommitError)
    assert issubclass(DuplicateKeyError, CommitError)


# -- bad values and mappings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("age", math.nan, "expected int"),
        ("age", 2**63, "64-bit"),
        ("age", True, "expected int"),
        ("name", "nul\x00", "NUL"),
        ("email", None, "expected str"),
    ],
)
async def test_an_unstorable_value_names_the_field_and_writes_nothing(
    harness: Harness, bank: dict[str, Any], field: str, value: Any, reason: str
) -> None:
    before = picture(harness)
    bad = Person.register("Bad", "bad@example.com")
    setattr(bad, field, value)

    async def work() -> None:
        async with harness.unit() as uow:
            uow.people.add(Person.register("Fine", "fine@example.com"))
            (await uow.people.get(bank["ann"].id)).age = 31
            uow.people.add(bad)

    with pytest.raises(ValueEncodingError) as caught:
        await work()
    message = str(caught.value)
    assert f"Person[{bad.id!r}].{field}" in message
    assert reason in message
    assert picture(harness) == before
    assert harness.log.writes == []


async def test_an_unstorable_float_is_refused_before_sending(harness: Harness) -> None:
    @dataclass
    class Reading:
        id: str
        value: float

    registry = Registry()
    registry.map(Reading, key="id")
    harness.prepare(registry)

    async def store(value: float) -> None:
        async with harness.unit(registry) as uow:
            uow.add(Reading("r1", value))

    for value in (math.inf, 0.1 + 0.2):
        with pytest.raises(ValueEncodingError, match=r"Reading\['r1'\]\.value"):
            await store(value)
    assert harness.count() == 0
    assert harness.log.writes == []


async def test_an_unmapped_entity_is_refused_at_add_and_the_block_writes_nothing(
    harness: Harness,
) -> None:
    @dataclass
    class Stranger:
        id: int

    async def work() -> None:
        async with harness.unit() as uow:
            uow.add(Person.register("Fine", "fine@example.com"))
            uow.add(Stranger(1))

    with pytest.raises(MappingError, match="'Stranger' is not mapped"):
        await work()
    assert harness.count() == 0
    assert harness.log.writes == []
