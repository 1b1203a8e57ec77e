"""Semantics at the edges, checked on the fakes and on FalkorDB alike.

Each test is one case a differential run (real unit, fake unit, plain model)
once answered differently; the answer asserted here is the documented one
(README, "Semantics at the edges").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest

from infrastructure.fakes import FakeStore, FakeUnitOfWork
from infrastructure.persistence import (
    ConcurrencyError,
    DeleteRestrictedError,
    DuplicateKeyError,
    F,
    MappingError,
    Registry,
    UnitOfWork,
    ensure_schema,
    to_many,
)
from tests.integration.graph_support import Account, Person, Pet, Transfer, befriend
from tests.units import stored as seed


def people(*ids: str) -> list[Person]:
    return [Person(i, i.title()) for i in ids]


def ids(entities) -> list[str]:
    return [e.id for e in entities]


# -- 1. text upper bounds over an indexed property --------------------------------------


async def test_text_upper_bounds_on_an_indexed_key_answer_the_right_rows(gbe):
    await seed(gbe, *people("a", "t1", "t2", "u"))
    async with gbe.unit() as uow:
        repo = uow.repository(Person)
        assert ids(await gbe.io(repo.find(F("id") <= "t1", order_by="id"))) == ["a", "t1"]
        assert ids(await gbe.io(repo.find(F("id") < "t1", order_by="id"))) == ["a"]
        assert ids(await gbe.io(repo.find(~(F("id") >= "t1"), order_by="id"))) == ["a"]
        assert ids(await gbe.io(repo.find(~(F("id") > "t1"), order_by="id"))) == ["a", "t1"]
        assert ids(await gbe.io(repo.find(F("id").between("a", "t1"), order_by="id"))) == [
            "a",
            "t1",
        ]
        assert ids(await gbe.io(repo.find(F("id") < "u", order_by="-id", limit=2))) == [
            "t2",
            "t1",
        ]
        assert await gbe.io(repo.count(F("id") <= "t1")) == 2
        assert await gbe.io(repo.count(F("id") < "t1")) == 1
        assert ids(await gbe.io(repo.find(F("id") > "t1", order_by="id"))) == ["t2", "u"]


async def test_keyset_pages_descending_over_a_text_key_visit_each_entity_once(gbe):
    keys = ["a", "b1", "b2", "t1", "t2", "ta", "u"]
    await seed(gbe, *people(*keys))
    seen: list[str] = []
    async with gbe.unit() as uow:
        repo = uow.repository(Person)
        cursor = None
        while True:
            page = await gbe.io(repo.keyset(order_by="-id", after=cursor, limit=2))
            seen.extend(ids(page.items))
            cursor = page.cursor
            if cursor is None:
                break
        page = await gbe.io(repo.page(F("id") <= "t2", order_by="id", number=2, size=2))
    assert seen == sorted(keys, reverse=True)
    assert ids(page.items) == ["b2", "t1"]
    assert page.total == 5


# -- 2. count and find answer from one rule -----------------------------------------------


async def answers(gbe, uow, where=None) -> tuple[int, list[str]]:
    repo = uow.repository(Person)
    found = await gbe.io(repo.find(where, order_by="id"))
    return await gbe.io(repo.count(where)), ids(found)


async def test_count_and_find_agree_on_a_new_object_under_a_stored_key(gbe):
    await seed(gbe, Person("ann", "Ann"))
    uow = gbe.new_unit()
    async with gbe.unit(uow):
        uow.add(Person("ann", "Other Ann"))
        assert await answers(gbe, uow) == (1, ["ann"])
        assert await answers(gbe, uow, F("name") == "Other Ann") == (1, ["ann"])
        assert await answers(gbe, uow, F("name") == "Ann") == (0, [])
        await gbe.io(uow.rollback())


async def test_count_and_find_agree_on_a_delete_of_an_entity_already_deleted(gbe):
    await seed(gbe, *people("ann", "bob"))
    uow = gbe.new_unit()
    async with gbe.unit(uow):
        ann = await gbe.io(uow.repository(Person).get("ann"))
        async with gbe.unit() as other:
            other.delete(await gbe.io(other.repository(Person).get("ann")))
        uow.delete(ann)
        assert await answers(gbe, uow) == (1, ["bob"])
        assert await answers(gbe, uow, F("id") == "ann") == (0, [])
        await gbe.io(uow.rollback())


async def test_count_and_find_agree_on_an_edit_of_an_entity_another_unit_changed(gbe):
    await seed(gbe, *people("ann", "bob"))
    uow = gbe.new_unit()
    async with gbe.unit(uow):
        ann = await gbe.io(uow.repository(Person).get("ann"))
        async with gbe.unit() as other:
            (await gbe.io(other.repository(Person).get("ann"))).name = "Anne"
            other.delete(await gbe.io(other.repository(Person).get("bob")))
        ann.age = 3
        assert await answers(gbe, uow) == (1, ["ann"])
        assert await answers(gbe, uow, F("name") == "Ann") == (1, ["ann"])
        assert await answers(gbe, uow, F("name") == "Anne") == (0, [])
        await gbe.io(uow.rollback())


# -- 6. the key of a new entity -------------------------------------------------------


async def test_changing_the_key_of_an_entity_added_in_the_unit_is_refused_like_a_loaded_one(gbe):
    uow = gbe.new_unit()
    ann = Person("ann", "Ann")
    uow.add(ann)
    ann.id = "zed"
    assert uow.has_pending_changes
    with pytest.raises(MappingError) as caught:
        await gbe.io(uow.flush())
    assert "Person['ann']" in str(caught.value)
    assert "'zed'" in str(caught.value)
    ann.id = "ann"  # put back: the unit commits it under the key it was added with
    await gbe.io(uow.commit())
    await gbe.io(uow.close())
    async with gbe.unit() as uow:
        repo = uow.repository(Person)
        assert ids(await gbe.io(repo.list())) == ["ann"]
        assert await gbe.io(repo.get_or_none("zed")) is None


# -- 4. the sign of zero --------------------------------------------------------------


@dataclass
class Reading:
    id: str
    value: float
    values: list[float]


@pytest.fixture(params=["fake", "falkordb"])
def local(request: pytest.FixtureRequest):
    """``local(registry)``: a factory of sync units of that registry, on the fakes or FalkorDB."""

    def units(registry: Registry):
        if request.param == "fake":
            store = FakeStore()
            return lambda: FakeUnitOfWork(store, registry)
        graph = request.getfixturevalue("graph")
        ensure_schema(graph, registry)
        return lambda: UnitOfWork(graph, registry)

    return units


@pytest.fixture
def readings(local):
    registry = Registry()
    registry.map(Reading, key="id")
    return local(registry)


def sign(value: float) -> float:
    return math.copysign(1.0, value)


def test_an_edit_between_zero_and_negative_zero_is_written(readings):
    with readings() as uow:
        uow.add(Reading("r", 0.0, [0.0, 1.0]))
    with readings() as uow:
        reading = uow.get(Reading, "r")
        reading.value = -0.0
        reading.values = [-0.0, 1.0]
        assert uow.has_pending_changes
    with readings() as uow:
        reading = uow.get(Reading, "r")
        assert [sign(reading.value), sign(reading.values[0])] == [-1.0, -1.0]
        assert uow.repository(Reading).count(F("value") == 0.0) == 1  # Cypher: -0.0 = 0.0
        reading.value = 0.0
        assert uow.has_pending_changes
    with readings() as uow:
        assert sign(uow.get(Reading, "r").value) == 1.0
        assert not uow.has_pending_changes


# -- 9. self-loops on an undirected relationship ---------------------------------------


@dataclass
class Item:
    id: str
    peers: list[Item] = field(default_factory=list, repr=False, compare=False)


@pytest.fixture
def items(local):
    registry = Registry()
    registry.map(
        Item,
        key="id",
        relationships={"peers": to_many(Item, "PEER", direction="both", on_delete="restrict")},
    )
    return local(registry)


def test_a_self_loop_on_an_undirected_relationship_is_one_edge_seen_once(items):
    with items() as uow:
        solo = Item("solo")
        solo.peers.append(solo)
        uow.add(solo)
        uow.add(Item("other"))
    with items() as uow:
        assert [p.id for p in uow.get(Item, "solo").peers] == ["solo"]
    first, second = items(), items()
    for unit in (first, second):  # both link the self-loop of "other"
        other = unit.get(Item, "other")
        other.peers.append(other)
    first.commit()
    second.commit()
    with items() as uow:
        assert [p.id for p in uow.get(Item, "other").peers] == ["other"]


def test_deleting_an_entity_whose_restrict_relationship_holds_only_itself_commits(items):
    with items() as uow:
        solo = Item("solo")
        solo.peers.append(solo)
        uow.add(solo)
    with items() as uow:
        uow.delete(uow.get(Item, "solo"))
    with items() as uow:
        assert uow.repository(Item).list() == []
        pair, other = Item("pair"), Item("other")
        pair.peers.extend([pair, other])
        uow.add(pair)
    for load in ([], ["peers"]):
        uow = items()
        uow.delete(uow.repository(Item).get("pair", load=load))
        with pytest.raises(DeleteRestrictedError) as refused:
            uow.commit()
        uow.close()
        assert "still holds Item['other']" in str(refused.value)
        assert "Item['pair'];" not in str(refused.value)


# -- 5 and 10. which error a refused commit raises ----------------------------------------


async def refused(gbe, uow, error):
    """The error ``uow``'s commit raises (it must raise ``error``); the unit is closed after."""
    with pytest.raises(error) as caught:
        await gbe.io(uow.commit())
    await gbe.io(uow.close())
    return caught.value


async def test_a_new_entity_under_a_taken_key_linked_in_the_same_commit_is_a_duplicate(gbe):
    await seed(gbe, *people("ann", "bob"))
    uow = gbe.new_unit()
    bob = await gbe.io(uow.repository(Person).get("bob"))
    twin = Person("ann", "Second Ann")
    twin.follows.append(bob)
    uow.add(twin)
    error = await refused(gbe, uow, DuplicateKeyError)
    assert "Person['ann']" in str(error)
    async with gbe.unit() as uow:
        assert (await gbe.io(uow.repository(Person).get("ann"))).name == "Ann"
        assert await gbe.io(uow.repository(Person).count()) == 2


@pytest.mark.parametrize("shape", ["plain", "edge with a None property", "edge", "delete"])
async def test_a_stale_commit_that_also_creates_a_taken_key_is_a_conflict(gbe, shape):
    await seed(gbe, *people("ann", "bob", "cat"))
    uow = gbe.new_unit()
    repo = uow.repository(Person)
    bob, cat = await gbe.io(repo.get_many(["bob", "cat"]))
    async with gbe.unit() as other:
        (await gbe.io(other.repository(Person).get("bob"))).age = 40
    bob.age = 41
    twin = Person("ann", "Second Ann")
    uow.add(twin)
    if shape == "edge with a None property":
        befriend(twin, cat)  # Friendship.note is None
    elif shape == "edge":
        twin.follows.append(cat)
    elif shape == "delete":
        uow.delete(cat)
    error = await refused(gbe, uow, ConcurrencyError)
    assert error.stale == [("Person", "bob")]


# -- 7. moving a unique value between entities in one commit ---------------------------


async def emails(gbe) -> dict[str, str | None]:
    async with gbe.unit() as uow:
        return {p.id: p.email for p in await gbe.io(uow.repository(Person).list())}


MOVES = {
    "swap two values": {"ann": "b@x", "bob": "a@x"},
    "move a value to an entity that gives up its own": {"ann": "c@x", "bob": "a@x"},
    "give a value to a new entity while its holder takes another": {
        "ann": "c@x",
        "bob": "b@x",
        "cat": "a@x",
    },
    "give a value to a new entity while its holder is deleted": {"bob": "b@x", "cat": "a@x"},
    "clear a value another entity takes": {"ann": None, "bob": "a@x"},
}


async def move(gbe, uow, how: str) -> None:
    ann, bob = await gbe.io(uow.repository(Person).get_many(["ann", "bob"]))
    if how == "swap two values":
        ann.email, bob.email = "b@x", "a@x"
    elif how == "move a value to an entity that gives up its own":
        ann.email, bob.email = "c@x", "a@x"
    elif how == "give a value to a new entity while its holder takes another":
        ann.email = "c@x"
        uow.add(Person("cat", "Cat", email="a@x"))
    elif how == "give a value to a new entity while its holder is deleted":
        uow.delete(ann)
        uow.add(Person("cat", "Cat", email="a@x"))
    else:
        ann.email, bob.email = None, "a@x"


@pytest.mark.parametrize("how", list(MOVES))
async def test_unique_values_hold_on_the_commits_end_state_so_moves_commit(gbe, how):
    await seed(gbe, Person("ann", "Ann", email="a@x"), Person("bob", "Bob", email="b@x"))
    async with gbe.unit() as uow:
        await move(gbe, uow, how)
    assert await emails(gbe) == MOVES[how]


@pytest.mark.parametrize("clash", ["two entities end with one value", "a new entity takes one"])
async def test_a_unique_value_held_twice_at_the_end_of_a_commit_is_refused(gbe, clash):
    await seed(gbe, Person("ann", "Ann", email="a@x"), Person("bob", "Bob", email="b@x"))
    before = await emails(gbe)
    uow = gbe.new_unit()
    ann, bob = await gbe.io(uow.repository(Person).get_many(["ann", "bob"]))
    if clash == "two entities end with one value":
        ann.email, bob.email = "c@x", "c@x"
    else:
        ann.email = "c@x"
        uow.add(Person("cat", "Cat", email="b@x"))
    error = await refused(gbe, uow, DuplicateKeyError)
    assert "unique" in str(error)
    assert await emails(gbe) == before


# -- 8. restrict over targets the commit removes -------------------------------------------


async def restricted_account(gbe) -> None:
    account = Account("acc")
    account.transfers.append(Transfer("t1", 10))
    await seed(gbe, account, *people("ann"))


async def delete_account_and_its_transfer(gbe, uow) -> None:
    account = await gbe.io(uow.repository(Account).get("acc", load=["transfers"]))
    uow.delete(account.transfers[0])
    account.transfers.clear()
    uow.delete(account)


async def test_a_stale_commit_deleting_a_restricted_holder_and_its_targets_is_a_conflict(gbe):
    await restricted_account(gbe)
    uow = gbe.new_unit()
    ann = await gbe.io(uow.repository(Person).get("ann"))
    async with gbe.unit() as other:
        (await gbe.io(other.repository(Person).get("ann"))).age = 1
    ann.age = 2
    await delete_account_and_its_transfer(gbe, uow)
    error = await refused(gbe, uow, ConcurrencyError)
    assert error.stale == [("Person", "ann")]


async def test_a_restrict_refusal_names_only_targets_the_commit_does_not_remove(gbe):
    await restricted_account(gbe)
    uow = gbe.new_unit()
    await delete_account_and_its_transfer(gbe, uow)
    async with gbe.unit() as other:
        late = await gbe.io(other.repository(Account).get("acc", load=["transfers"]))
        late.transfers.append(Transfer("t2", 20))
    error = await refused(gbe, uow, DeleteRestrictedError)
    assert "Transfer['t2']" in str(error)
    assert "t1" not in str(error)


# -- 3. a to-one over several stored edges ---------------------------------------------


async def owners_of_rex(gbe) -> dict[str, list[str]]:
    async with gbe.unit() as uow:
        people = await gbe.io(uow.repository(Person).list(load=["pets"]))
        return {p.id: ids(p.pets) for p in people}


async def test_a_to_one_over_two_stored_edges_shows_one_and_writes_nothing_until_changed(gbe):
    await seed(gbe, *people("ann", "bob", "cat"), Pet("rex", "Rex"))
    for owner in ("bob", "ann"):  # two owners of one pet, written by another client
        gbe.link_raw("OWNS", ("Person", owner), ("Pet", "rex"))
    both = {"ann": ["rex"], "bob": ["rex"], "cat": []}
    assert await owners_of_rex(gbe) == both
    for load in (["owner"], []):
        async with gbe.unit() as uow:
            rex = await gbe.io(uow.repository(Pet).get("rex", load=load))
            if not load:
                await gbe.io(uow.repository(Pet).load_related([rex], "owner"))
            assert rex.owner.id == "ann"  # the smallest stored key
            assert not uow.has_pending_changes
            rex.name = "Rex II"  # an edit of the pet itself leaves its edges alone
    assert await owners_of_rex(gbe) == both
    async with gbe.unit() as uow:
        rex = await gbe.io(uow.repository(Pet).get("rex", load=["owner"]))
        rex.owner = await gbe.io(uow.repository(Person).get("cat"))
        assert uow.has_pending_changes
    assert await owners_of_rex(gbe) == {"ann": [], "bob": [], "cat": ["rex"]}
