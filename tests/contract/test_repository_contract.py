"""What a repository promises, checked on the fakes and on FalkorDB alike."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest

from domain.model import Account, Money, Person, Transfer
from infrastructure.persistence import (
    EntityNotFoundError,
    F,
    IdentityConflictError,
    MappingError,
    NotTrackedError,
    UnitClosedError,
    ValueEncodingError,
)
from tests.units import stored


async def test_a_committed_entity_loads_equal_but_as_a_new_object(be):
    (alice,) = await stored(be, Person.register("Alice", "alice@example.com", 30))
    async with be.unit() as uow:
        loaded = await be.io(uow.people.get(alice.id))
    assert loaded == alice
    assert loaded is not alice
    assert loaded.version == 1


async def test_get_of_an_unknown_key_names_type_and_key(be):
    missing = uuid4()
    async with be.unit() as uow:
        with pytest.raises(EntityNotFoundError) as caught:
            await be.io(uow.people.get(missing))
        assert await be.io(uow.people.get_or_none(missing)) is None
    assert "Person" in str(caught.value)
    assert str(missing) in str(caught.value)
    assert caught.value.keys == [missing]


async def test_get_many_keeps_the_order_asked_and_names_every_missing_key(be):
    a, b, c = (Person.register(n, f"{n}@example.com") for n in "abc")
    await stored(be, a, b, c)
    gone1, gone2 = uuid4(), uuid4()
    async with be.unit() as uow:
        found = await be.io(uow.people.get_many([c.id, a.id, b.id]))
        assert [p.name for p in found] == ["c", "a", "b"]
        with pytest.raises(EntityNotFoundError) as caught:
            await be.io(uow.people.get_many([a.id, gone1, gone2]))
    assert set(caught.value.keys) == {gone1, gone2}


async def test_one_object_per_key_whichever_method_loaded_it(be):
    alice = Person.register("Alice", "alice@example.com", 30)
    await stored(be, alice)
    async with be.unit() as uow:
        first = await be.io(uow.people.get(alice.id))
        assert await be.io(uow.people.get(alice.id)) is first
        assert (await be.io(uow.people.get_many([alice.id])))[0] is first
        assert (await be.io(uow.people.find_by(name="Alice")))[0] is first
        assert (await be.io(uow.people.list()))[0] is first


async def test_adding_a_second_object_under_a_tracked_key_is_refused(be):
    alice = Person.register("Alice", "alice@example.com")
    await stored(be, alice)
    async with be.unit() as uow:
        await be.io(uow.people.get(alice.id))
        twin = Person(alice.id, "Impostor", "x@example.com")
        with pytest.raises(IdentityConflictError):
            uow.people.add(twin)


async def test_exists_counts_pending_adds_and_deletes(be):
    alice, bob = Person.register("Alice", "a@example.com"), Person.register("Bob", "b@example.com")
    await stored(be, alice)
    async with be.unit() as uow:
        assert await be.io(uow.people.exists(alice.id))
        assert not await be.io(uow.people.exists(bob.id))
        uow.people.add(bob)
        assert await be.io(uow.people.exists(bob.id))
        uow.people.remove(await be.io(uow.people.get(alice.id)))
        assert not await be.io(uow.people.exists(alice.id))
        assert not await be.io(uow.people.get_or_none(alice.id))
        await be.io(uow.rollback())
        assert await be.io(uow.people.exists(alice.id))
        assert not await be.io(uow.people.exists(bob.id))


async def test_find_by_matches_stored_values_none_meaning_unset(be):
    people = [
        Person.register("Ann", "ann@example.com", 30),
        Person.register("Ben", "ben@example.com", 30),
        Person.register("Cid", "cid@example.com"),
    ]
    await stored(be, *people)
    async with be.unit() as uow:
        thirty = await be.io(uow.people.find_by(age=30))
        unknown = await be.io(uow.people.find_by(age=None))
        both = await be.io(uow.people.find_by(age=30, name="Ben"))
        nobody = await be.io(uow.people.find_by(name="ann"))
    assert {p.name for p in thirty} == {"Ann", "Ben"}
    assert [p.name for p in unknown] == ["Cid"]
    assert [p.name for p in both] == ["Ben"]
    assert nobody == []


async def test_find_by_a_value_object_property(be):
    owner = uuid4()
    euros, pounds = Account.open(owner, "EUR"), Account.open(owner, "GBP")
    await stored(be, euros, pounds)
    async with be.unit() as uow:
        found = await be.io(uow.accounts.find_by(balance_currency="GBP"))
        assert [a.id for a in found] == [pounds.id]
        assert await be.io(uow.accounts.count(owner_id=owner)) == 2


async def test_ordering_puts_unset_values_last_and_first_when_descending(be):
    people = [
        Person.register("bob", "b@example.com", 40),
        Person.register("Zoe", "z@example.com"),
        Person.register("alice", "a@example.com", 25),
        Person.register("Émile", "e@example.com", 33),
    ]
    await stored(be, *people)
    async with be.unit() as uow:
        by_age = await be.io(uow.people.list(order_by="age"))
        by_age_desc = await be.io(uow.people.list(order_by="-age"))
        by_name = await be.io(uow.people.list(order_by=["name"]))
    assert [p.age for p in by_age] == [25, 33, 40, None]
    assert [p.age for p in by_age_desc] == [None, 40, 33, 25]
    # Text sorts by code point: capitals first, accents after ASCII.
    assert [p.name for p in by_name] == ["Zoe", "alice", "bob", "Émile"]


async def test_paging_skips_then_limits(be):
    people = [Person.register(f"p{i}", f"p{i}@example.com", i) for i in range(6)]
    await stored(be, *people)
    async with be.unit() as uow:
        page = await be.io(uow.people.find_by(order_by="-age", limit=2, offset=1))
        rest = await be.io(uow.people.list(order_by="age", offset=4))
        one = await be.io(uow.people.find_one_by(age=3))
    assert [p.age for p in page] == [4, 3]
    assert [p.age for p in rest] == [4, 5]
    assert one is not None
    assert one.name == "p3"


async def test_queries_see_the_units_pending_changes(be):
    ann, ben, cid = (Person.register(n, f"{n}@example.com", 30) for n in ("Ann", "Ben", "Cid"))
    await stored(be, ann, ben, cid)
    async with be.unit() as uow:
        newcomer = Person.register("Dee", "dee@example.com", 30)
        uow.people.add(newcomer)
        (await be.io(uow.people.get(ann.id))).age = 31  # no longer matches
        uow.people.remove(await be.io(uow.people.get(ben.id)))
        found = await be.io(uow.people.find_by(age=30, order_by="name"))
        counted = await be.io(uow.people.count(age=30))
        first = await be.io(uow.people.find_by(age=30, order_by="-name", limit=1))
    assert [p.name for p in found] == ["Cid", "Dee"]
    assert found[1] is newcomer
    assert counted == 2
    assert first == [newcomer]


async def test_find_with_criteria(be):
    people = [
        Person.register("Ann", "ann@example.com", 17),
        Person.register("Abe", "abe@example.com", 30),
        Person.register("Bea", "bea@example.com", 45),
        Person.register("Al", "al@example.com"),
    ]
    await stored(be, *people)
    async with be.unit() as uow:
        adults_a = await be.io(uow.people.find((F("age") >= 18) & F("name").startswith("A")))
        either = await be.io(uow.people.find((F("age") < 18) | (F("age") > 40), order_by="age"))
        not_30 = await be.io(uow.people.find(~(F("age") == 30), order_by="name"))
        listed = await be.io(uow.people.find(F("name").is_in(["Al", "Bea"]), order_by="name"))
        unknown = await be.io(uow.people.count(F("age").is_null()))
    assert [p.name for p in adults_a] == ["Abe"]
    assert [p.name for p in either] == ["Ann", "Bea"]
    assert [p.name for p in not_30] == ["Ann", "Bea"]  # an unknown age is not "not 30"
    assert [p.name for p in listed] == ["Al", "Bea"]
    assert unknown == 1


async def test_page_gives_the_items_and_the_total(be):
    await stored(be, *(Person.register(f"p{i}", f"p{i}@example.com", i) for i in range(7)))
    async with be.unit() as uow:
        page = await be.io(uow.people.page(F("age") >= 1, order_by="age", number=2, size=4))
    assert [p.age for p in page.items] == [5, 6]
    assert (page.total, page.pages, page.number) == (6, 2, 2)


async def test_keyset_walks_every_entity_once_in_a_stable_order(be):
    ages = [3, None, 1, 3, 2, None, 3]
    await stored(
        be, *(Person.register(f"p{i}", f"p{i}@example.com", a) for i, a in enumerate(ages))
    )
    seen = []
    cursor = None
    async with be.unit() as uow:
        while True:
            part = await be.io(uow.people.keyset(order_by="-age", after=cursor, limit=3))
            seen.extend(part.items)
            cursor = part.cursor
            if cursor is None:
                break
    assert len({p.id for p in seen}) == len(ages)
    assert [p.age for p in seen] == [None, None, 3, 3, 3, 2, 1]


async def test_count_with_and_without_criteria(be):
    await stored(
        be,
        Person.register("A", "a@example.com", 1),
        Person.register("B", "b@example.com", 1),
        Person.register("C", "c@example.com", 2),
    )
    async with be.unit() as uow:
        assert await be.io(uow.people.count()) == 3
        assert await be.io(uow.people.count(age=1)) == 2
        assert await be.io(uow.people.count(age=99)) == 0


async def test_bad_criteria_fail_naming_what_was_wrong(be):
    async with be.unit() as uow:
        with pytest.raises(MappingError, match="nickname"):
            await be.io(uow.people.find_by(nickname="x"))
        with pytest.raises(ValueEncodingError, match=r"Person\.age"):
            await be.io(uow.people.find_by(age="thirty"))
        with pytest.raises(MappingError, match="id"):
            await be.io(uow.people.list(order_by="id"))  # UUIDs are stored as unsortable text
        with pytest.raises(ValueError, match="limit"):
            await be.io(uow.people.list(limit=-1))
        with pytest.raises(MappingError, match="shoe_size"):
            await be.io(uow.people.count(shoe_size=44))
        with pytest.raises(ValueEncodingError, match="UUID"):
            await be.io(uow.people.get("not-a-uuid"))


async def test_remove_deletes_at_commit_and_needs_a_tracked_entity(be):
    alice = Person.register("Alice", "alice@example.com")
    await stored(be, alice)
    async with be.unit() as uow:
        with pytest.raises(NotTrackedError, match="does not track"):
            uow.people.remove(Person.register("Stranger", "s@example.com"))
        uow.people.remove(await be.io(uow.people.get(alice.id)))
    async with be.unit() as uow:
        assert await be.io(uow.people.get_or_none(alice.id)) is None
        assert await be.io(uow.people.count()) == 0


async def test_a_repository_takes_only_its_own_type(be):
    async with be.unit() as uow:
        with pytest.raises(TypeError, match="Account"):
            uow.people.add(Account.open(uuid4()))


async def test_entities_of_every_mapped_type_round_trip(be):
    alice, bob = Person.register("Alice", "a@example.com"), Person.register("Bob", "b@example.com")
    source, target = Account.open(alice.id), Account.open(bob.id)
    source.deposit(Money.of("100.10"))
    transfer = Transfer.between(source, target, Money.of("0.10"))
    await stored(be, alice, bob, source, target, transfer)
    async with be.unit() as uow:
        assert await be.io(uow.transfers.get(transfer.id)) == transfer
        loaded = await be.io(uow.accounts.get_many([source.id, target.id]))
    assert [a.balance for a in loaded] == [Money(Decimal("100.00")), Money(Decimal("0.10"))]


async def test_a_closed_unit_refuses_reads_and_writes(be):
    async with be.unit() as uow:
        pass
    assert not uow.is_active
    with pytest.raises(UnitClosedError):
        await be.io(uow.people.get(uuid4()))
    with pytest.raises(UnitClosedError):
        await be.io(uow.people.find_by(name="x"))
    with pytest.raises(UnitClosedError):
        uow.people.add(Person.register("Late", "late@example.com"))
    with pytest.raises(UnitClosedError):
        await be.io(uow.commit())


async def test_get_of_a_tracked_key_answers_from_the_map_only_while_it_is_live(be):
    (alice,) = await stored(be, Person.register("Alice", "alice@example.com", 30))
    uow = be.new_unit()
    loaded = await be.io(uow.people.get(alice.id))
    assert await be.io(uow.people.get(alice.id)) is loaded
    uow.people.remove(loaded)
    with pytest.raises(EntityNotFoundError):
        await be.io(uow.people.get(alice.id))
    uow.people.add(loaded)  # un-deleted: the same object again
    assert await be.io(uow.people.get(alice.id)) is loaded
    await be.io(uow.close())
    with pytest.raises(UnitClosedError):
        await be.io(uow.people.get(alice.id))
