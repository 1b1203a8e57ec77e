"""Repository reads and the identity map, against the real server, sync and async alike."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

import pytest

from domain.model import Account, Money, Person
from infrastructure.persistence import (
    EntityNotFoundError,
    IdentityConflictError,
    MappingError,
    ValueEncodingError,
)

if TYPE_CHECKING:
    from tests.integration.conftest import Harness

AGES = {"Ann": 30, "Bob": 25, "Cid": 35, "Dee": 25, "Eve": None}


@pytest.fixture
async def people(harness: Harness) -> dict[str, Person]:
    """Five stored people; the query log starts empty after them."""
    stored = {
        name: Person.register(name, f"{name.lower()}@example.com", age)
        for name, age in AGES.items()
    }
    async with harness.unit() as uow:
        for person in stored.values():
            uow.people.add(person)
    harness.log.clear()
    return stored


# -- one object per key --------------------------------------------------------------------


async def test_identity_map_holds_across_repositories_and_methods(
    harness: Harness, people: dict[str, Person]
) -> None:
    ann = people["Ann"]
    async with harness.unit() as uow:
        first = await uow.people.get(ann.id)
        same = [
            await uow.people.get(ann.id),
            await uow.people.get_or_none(ann.id),
            await uow.get(Person, ann.id),
            await uow.repository(Person).get(ann.id),
            (await uow.people.get_many([ann.id]))[0],
            (await uow.people.find_by(name="Ann"))[0],
            await uow.people.find_one_by(email="ann@example.com"),
            next(p for p in await uow.people.list() if p.id == ann.id),
            next(p for p in await uow.repository(Person).find_by(age=30) if p.id == ann.id),
        ]
        assert all(entity is first for entity in same)


async def test_reads_return_the_tracked_object_with_its_local_edits(
    harness: Harness, people: dict[str, Person]
) -> None:
    async with harness.unit() as uow:
        ann = await uow.people.get(people["Ann"].id)
        ann.age = 31
        (found,) = await uow.people.find_by(name="Ann")  # matches what is stored
        assert found is ann
        assert found.age == 31  # local edits win over the re-read row


async def test_units_do_not_share_objects(harness: Harness, people: dict[str, Person]) -> None:
    async with harness.unit() as one, harness.unit() as two:
        assert await one.people.get(people["Ann"].id) is not await two.people.get(people["Ann"].id)


async def test_an_added_entity_is_found_by_key_without_a_read(harness: Harness) -> None:
    person = Person.register("New", "new@example.com")
    async with harness.unit() as uow:
        uow.people.add(person)
        assert await uow.people.get(person.id) is person
        assert await uow.people.exists(person.id)
    assert harness.log.reads == []


# -- get ----------------------------------------------------------------------------------


async def test_get_names_the_missing_key(harness: Harness, people: dict[str, Person]) -> None:
    missing = uuid.uuid4()
    async with harness.unit() as uow:
        with pytest.raises(EntityNotFoundError) as caught:
            await uow.people.get(missing)
        assert str(caught.value) == f"no Person with key {missing!r}"
        assert caught.value.keys == [missing]
        assert await uow.people.get_or_none(missing) is None


async def test_get_of_an_entity_deleted_in_the_unit_finds_nothing(
    harness: Harness, people: dict[str, Person]
) -> None:
    async with harness.unit() as uow:
        bob = await uow.people.get(people["Bob"].id)
        uow.people.remove(bob)
        with pytest.raises(EntityNotFoundError):
            await uow.people.get(bob.id)
        assert await uow.people.get_or_none(bob.id) is None
        await uow.rollback()


async def test_get_with_a_key_of_the_wrong_type_is_refused(
    harness: Harness, people: dict[str, Person]
) -> None:
    async with harness.unit() as uow:
        with pytest.raises(ValueEncodingError, match="Person key: expected UUID"):
            await uow.people.get(str(people["Ann"].id))
    assert harness.log.reads == []


# -- get_many -----------------------------------------------------------------------------


async def test_get_many_is_one_round_trip_and_keeps_the_order(
    harness: Harness, people: dict[str, Person]
) -> None:
    order = ["Eve", "Ann", "Dee", "Ann", "Cid"]
    async with harness.unit() as uow:
        found = await uow.people.get_many([people[name].id for name in order])
        assert [p.name for p in found] == order
        assert found[1] is found[3]
        assert len(harness.log.reads) == 1
        again = await uow.people.get_many([people["Cid"].id, people["Eve"].id])
        assert again == [found[4], found[0]]
        assert len(harness.log.reads) == 1  # all known: no round trip at all


async def test_get_many_reads_only_the_keys_it_does_not_hold(
    harness: Harness, people: dict[str, Person]
) -> None:
    async with harness.unit() as uow:
        ann = await uow.people.get(people["Ann"].id)
        harness.log.clear()
        found = await uow.people.get_many([people["Bob"].id, ann.id])
        assert found[1] is ann
        (read,) = harness.log.reads
        assert read.params["keys"] == [str(people["Bob"].id)]


class TaggedUUID(uuid.UUID):
    """A key of a subclass of the key's class: it must load as a plain UUID."""


async def test_get_many_loads_each_key_as_the_class_the_field_declares(
    harness: Harness, people: dict[str, Person]
) -> None:
    ann, bob = people["Ann"].id, people["Bob"].id
    async with harness.unit() as uow:
        found = await uow.people.get_many([ann, TaggedUUID(str(bob))])
        assert [p.id for p in found] == [ann, bob]
        assert [type(p.id) for p in found] == [uuid.UUID, uuid.UUID]
        assert await uow.people.get(bob) is found[1]  # filed under the key, whatever its form
        found[0].age = 41
    async with harness.unit() as uow:
        assert (await uow.people.get(ann)).age == 41


async def test_get_many_names_every_missing_key(
    harness: Harness, people: dict[str, Person]
) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    async with harness.unit() as uow:
        with pytest.raises(EntityNotFoundError) as caught:
            await uow.people.get_many([first, people["Ann"].id, second])
        assert caught.value.keys == [first, second]
        assert str(caught.value) == f"no Person with keys {first!r}, {second!r}"
        assert len(harness.log.reads) == 1


async def test_get_many_counts_keys_deleted_in_the_unit_as_missing(
    harness: Harness, people: dict[str, Person]
) -> None:
    async with harness.unit() as uow:
        uow.people.remove(await uow.people.get(people["Bob"].id))
        with pytest.raises(EntityNotFoundError) as caught:
            await uow.people.get_many([people["Ann"].id, people["Bob"].id])
        assert caught.value.keys == [people["Bob"].id]
        await uow.rollback()


async def test_get_many_of_nothing_is_nothing(harness: Harness) -> None:
    async with harness.unit() as uow:
        assert await uow.people.get_many([]) == []
    assert harness.log.sent == []


# -- find_by, list, count, exists -------------------------------------------------------------


async def test_find_by_orders_limits_and_skips(harness: Harness, people: dict[str, Person]) -> None:
    async with harness.unit() as uow:
        by_name = await uow.people.list(order_by="name")
        assert [p.name for p in by_name] == ["Ann", "Bob", "Cid", "Dee", "Eve"]
        page = await uow.people.list(order_by=["age", "name"], limit=2, offset=1)
        assert [p.name for p in page] == ["Dee", "Ann"]
        young = await uow.people.find_by(age=25, order_by="-name")
        assert [p.name for p in young] == ["Dee", "Bob"]
        assert await uow.people.find_by(age=25, order_by="name", offset=2) == []
        assert await uow.people.find_by(age=25, limit=0) == []


async def test_a_missing_value_sorts_as_the_largest(
    harness: Harness, people: dict[str, Person]
) -> None:
    # Cypher's rule: null after every value ascending, before every value descending.
    async with harness.unit() as uow:
        assert [p.name for p in await uow.people.list(order_by=["-age", "name"])] == [
            "Eve",
            "Cid",
            "Ann",
            "Bob",
            "Dee",
        ]
        assert [p.name for p in await uow.people.list(order_by=["age", "name"])] == [
            "Bob",
            "Dee",
            "Ann",
            "Cid",
            "Eve",
        ]


async def test_find_by_combines_criteria_and_none_matches_unset(
    harness: Harness, people: dict[str, Person]
) -> None:
    async with harness.unit() as uow:
        assert [p.name for p in await uow.people.find_by(age=None)] == ["Eve"]
        (bob,) = await uow.people.find_by(age=25, email="bob@example.com")
        assert bob.name == "Bob"
        assert await uow.people.find_by(name="Nobody") == []
        assert await uow.people.find_one_by(name="Nobody") is None
        assert (await uow.people.find_one_by(name="Cid")).age == 35  # type: ignore[union-attr]


async def test_count_sees_the_units_pending_changes_without_writing(
    harness: Harness, people: dict[str, Person]
) -> None:
    async with harness.unit() as uow:
        assert await uow.people.count() == 5
        assert await uow.people.count(age=25) == 2
        assert await uow.people.count(age=None) == 1
        uow.people.add(Person.register("Pending", "p@example.com", 25))
        assert await uow.people.count(age=25) == 3
        uow.people.remove(await uow.people.get(people["Bob"].id))
        assert await uow.people.count(age=25) == 2
        (await uow.people.get(people["Ann"].id)).age = 25
        assert await uow.people.count(age=25) == 3
        assert await uow.people.count() == 5
        await uow.rollback()
        assert await uow.people.count(age=25) == 2
    assert harness.log.writes == []


async def test_find_by_sees_the_units_pending_changes_without_writing(
    harness: Harness, people: dict[str, Person]
) -> None:
    async with harness.unit() as uow:
        pending = Person.register("Pat", "pat@example.com", 25)
        uow.people.add(pending)
        uow.people.remove(await uow.people.get(people["Bob"].id))
        (await uow.people.get(people["Dee"].id)).age = 26  # no longer matches
        (await uow.people.get(people["Eve"].id)).age = 25  # now matches
        found = await uow.people.find_by(age=25, order_by="name")
        assert [p.name for p in found] == ["Eve", "Pat"]
        assert found[1] is pending
        await uow.rollback()
    assert harness.log.writes == []


@pytest.mark.parametrize(
    ("order_by", "limit", "offset"),
    [("name", None, None), (["-age", "name"], 3, 1), (["age", "-name"], 2, 2), ("-name", 1, 0)],
)
async def test_a_query_with_pending_changes_answers_as_after_their_commit(
    harness: Harness,
    people: dict[str, Person],
    order_by: str | list[str],
    limit: int | None,
    offset: int | None,
) -> None:
    async def change(uow: object) -> None:
        uow.people.add(Person.register("Abe", "abe@example.com", 28))  # type: ignore[attr-defined]
        uow.people.add(Person.register("Zed", "zed@example.com", None))  # type: ignore[attr-defined]
        uow.people.remove(await uow.people.get(people["Cid"].id))  # type: ignore[attr-defined]
        (await uow.people.get(people["Bob"].id)).age = 40  # type: ignore[attr-defined]
        (await uow.people.get(people["Ann"].id)).age = None  # type: ignore[attr-defined]
        (await uow.people.get(people["Eve"].id)).name = "Ava"  # type: ignore[attr-defined]

    async with harness.unit() as uow:
        await change(uow)
        before = await uow.people.list(order_by=order_by, limit=limit, offset=offset)
        seen_pending = [p.name for p in before]
        await uow.commit()
        after = await uow.people.list(order_by=order_by, limit=limit, offset=offset)
        assert seen_pending == [p.name for p in after]


async def test_value_objects_are_queried_by_their_flattened_fields(harness: Harness) -> None:
    owner = uuid.uuid4()
    euros, dollars = Account.open(owner), Account.open(owner, "USD")
    euros.deposit(Money.of("1.10"))
    async with harness.unit() as uow:
        uow.accounts.add(euros)
        uow.accounts.add(dollars)
    async with harness.unit() as uow:
        assert [a.id for a in await uow.accounts.find_by(balance_currency="USD")] == [dollars.id]
        assert [
            a.id for a in await uow.accounts.find_by(owner_id=owner, balance_currency="EUR")
        ] == [euros.id]
        assert await uow.accounts.count(owner_id=owner) == 2


# -- bad queries fail before anything is sent ---------------------------------------------------


async def test_bad_criteria_fail_clearly_before_any_query(
    harness: Harness, people: dict[str, Person]
) -> None:
    async with harness.unit() as uow:
        with pytest.raises(MappingError, match="Person has no stored scalar field 'nick'"):
            await uow.people.find_by(nick="x")
        with pytest.raises(MappingError, match="no stored scalar field 'events'"):
            await uow.people.count(events=[])
        with pytest.raises(MappingError, match=r"Person\.id \(UUID\) is stored as text"):
            await uow.people.list(order_by="-id")
        with pytest.raises(MappingError, match=r"no stored scalar field 'name DESC, n\.email'"):
            await uow.people.list(order_by="name DESC, n.email")
        with pytest.raises(ValueEncodingError, match=r"Person\.age criterion: expected int"):
            await uow.people.find_by(age="30")
        with pytest.raises(ValueError, match="limit must be a non-negative int"):
            await uow.people.list(limit=-1)
        with pytest.raises(ValueError, match="offset must be a non-negative int"):
            await uow.people.list(offset=True)
    assert harness.log.sent == []


async def test_repository_refuses_an_entity_of_another_type(harness: Harness) -> None:
    async with harness.unit() as uow:
        with pytest.raises(TypeError, match="Account given to the repository of Person"):
            uow.people.add(Account.open(uuid.uuid4()))


async def test_a_second_object_under_a_loaded_key_is_refused(
    harness: Harness, people: dict[str, Person]
) -> None:
    ann = people["Ann"]
    async with harness.unit() as uow:
        await uow.people.get(ann.id)
        with pytest.raises(IdentityConflictError, match=rf"Person\[{re.escape(repr(ann.id))}\]"):
            uow.people.add(Person(ann.id, "Twin", "twin@example.com"))
    assert harness.log.writes == []
