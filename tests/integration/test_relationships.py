"""Relationships against the real server: edge tracking, delete rules, atomicity.

Every test taking ``harness`` runs twice, with the sync and the async unit
(see ``graph_support.open_unit``); the async unit cannot load on attribute
access, so these tests load relationships with ``load=`` before touching them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest

from infrastructure.persistence import (
    FlushedWorkError,
    Registry,
    ensure_schema,
    to_many,
)
from tests.integration.graph_support import (
    Account,
    Person,
    Pet,
    Transfer,
    befriend,
    friends_of,
    open_unit,
    picture,
    prepare,
    stored_edge_props,
    stored_edges,
    stored_ids,
    undirected,
)

if TYPE_CHECKING:
    from tests.integration.conftest import Harness

ALL = ["friendships", "follows", "followers", "pets"]


@pytest.fixture
def reg(harness: Harness) -> Registry:
    return prepare(harness.graph)


async def seed(harness: Harness, reg: Registry, *entities: object) -> None:
    async with open_unit(harness, reg) as uow:
        for entity in entities:
            uow.add(entity)
    harness.log.clear()


def people(*ids: str) -> list[Person]:
    return [Person(i, i.title()) for i in ids]


# -- edges follow the collections ---------------------------------------------------------


async def test_appending_and_removing_creates_and_deletes_exactly_those_edges(
    harness: Harness, reg: Registry
) -> None:
    ann, bob, cat, dan = people("ann", "bob", "cat", "dan")
    befriend(ann, bob)
    befriend(ann, cat)
    await seed(harness, reg, ann, dan)
    kept = harness.graph.ro_query(
        "MATCH (:Person {id: 'ann'})-[r:FRIEND]-(:Person {id: 'cat'}) RETURN id(r)"
    ).result_set
    async with open_unit(harness, reg) as uow:
        repo = uow.repository(Person)
        ann2 = await repo.get("ann", load=["friendships"])
        dan2 = await repo.get("dan")
        ann2.friendships = [f for f in ann2.friendships if f.friend.id != "bob"]
        befriend(ann2, dan2)
    [write] = harness.log.writes
    assert write.result.relationships_created == 1
    assert write.result.relationships_deleted == 1
    assert undirected(harness.graph, "FRIEND") == [("ann", "cat"), ("ann", "dan")]
    assert (
        harness.graph.ro_query(
            "MATCH (:Person {id: 'ann'})-[r:FRIEND]-(:Person {id: 'cat'}) RETURN id(r)"
        ).result_set
        == kept
    )  # the untouched edge is the same edge, not a rewritten one


async def test_reassigning_a_collection_is_diffed_against_what_was_stored(
    harness: Harness, reg: Registry
) -> None:
    ann, bob, cat, dan = people("ann", "bob", "cat", "dan")
    ann.follows.extend([bob, cat])
    await seed(harness, reg, ann, dan)
    async with open_unit(harness, reg) as uow:
        repo = uow.repository(Person)
        ann2 = await repo.get("ann", load=["follows"])
        cat2, dan2 = await repo.get_many(["cat", "dan"])
        ann2.follows = [dan2, cat2]
    [write] = harness.log.writes
    assert (write.result.relationships_created, write.result.relationships_deleted) == (1, 1)
    assert stored_edges(harness.graph, "FOLLOWS") == [
        ("FOLLOWS", "ann", "cat"),
        ("FOLLOWS", "ann", "dan"),
    ]


async def test_editing_an_edge_property_writes_only_that_property(
    harness: Harness, reg: Registry
) -> None:
    ann, bob = people("ann", "bob")
    befriend(ann, bob, date(2020, 1, 1))
    ann.friendships[0].note = "school"
    await seed(harness, reg, ann)
    async with open_unit(harness, reg) as uow:
        ann2 = await uow.repository(Person).get("ann", load=["friendships"])
        ann2.friendships[0].since = date(2022, 2, 2)
    [write] = harness.log.writes
    # The edge property, and the holder's version: a relationship change is a
    # change of the aggregate holding it.
    assert write.result.properties_set == 2
    assert write.result.relationships_created == write.result.relationships_deleted == 0
    assert stored_edge_props(harness.graph, "FRIEND") == {
        ("ann", "bob"): {"since": "2022-02-02", "note": "school"}
    }
    async with open_unit(harness, reg) as uow:
        bob2 = await uow.repository(Person).get("bob", load=["friendships"])
        assert [(f.since, f.note) for f in bob2.friendships] == [(date(2022, 2, 2), "school")]


async def test_loaded_relationships_left_unchanged_cost_no_write(
    harness: Harness, reg: Registry
) -> None:
    ann, bob, cat = people("ann", "bob", "cat")
    befriend(ann, bob)
    ann.follows.append(cat)
    ann.pets.append(Pet("rex", "Rex"))
    await seed(harness, reg, ann)
    async with open_unit(harness, reg) as uow:
        everyone = await uow.repository(Person).list(load=ALL)
        for person in everyone:
            _ = [f.friend.name for f in person.friendships], person.follows, person.pets
        ann2 = next(p for p in everyone if p.id == "ann")
        ann2.follows = list(ann2.follows)  # the same targets in a new list
        assert not uow.has_pending_changes
    assert harness.log.writes == []


async def test_reassigning_a_to_one_relationship_replaces_its_edge(
    harness: Harness, reg: Registry
) -> None:
    ann, bob = people("ann", "bob")
    ann.pets.append(Pet("rex", "Rex"))
    await seed(harness, reg, ann, bob)
    async with open_unit(harness, reg) as uow:
        rex = await uow.repository(Pet).get("rex", load=["owner"])
        rex.owner = await uow.repository(Person).get("bob")
    assert stored_edges(harness.graph, "OWNS") == [("OWNS", "bob", "rex")]
    async with open_unit(harness, reg) as uow:
        rex = await uow.repository(Pet).get("rex", load=["owner"])
        assert rex.owner is not None
        assert rex.owner.id == "bob"
        rex.owner = None
    assert stored_edges(harness.graph, "OWNS") == []
    assert stored_ids(harness.graph, "Pet") == ["rex"]


async def test_both_ends_of_the_same_edges_edited_alike_store_each_edge_once(
    harness: Harness, reg: Registry
) -> None:
    """``Person.pets`` and ``Pet.owner`` describe the same OWNS edges."""
    ann, bob = people("ann", "bob")
    ann.pets.append(Pet("rex", "Rex"))
    await seed(harness, reg, ann, bob)
    async with open_unit(harness, reg) as uow:
        ann2, bob2 = await uow.repository(Person).get_many(["ann", "bob"], load=["pets"])
        rex = await uow.repository(Pet).get("rex", load=["owner"])
        tom = Pet("tom", "Tom", owner=bob2)
        bob2.pets.extend([rex, tom])
        ann2.pets.remove(rex)
        rex.owner = bob2
    assert stored_edges(harness.graph, "OWNS") == [("OWNS", "bob", "rex"), ("OWNS", "bob", "tom")]


async def test_a_new_entity_appended_to_a_loaded_relationship_is_created_with_its_edge(
    harness: Harness, reg: Registry
) -> None:
    ann = Person("ann", "Ann")
    await seed(harness, reg, ann)
    async with open_unit(harness, reg) as uow:
        ann2 = await uow.repository(Person).get("ann", load=["pets", "friendships"])
        ann2.pets.append(Pet("rex", "Rex"))
        befriend(ann2, Person("new", "Newcomer"))
    assert len(harness.log.writes) == 1
    assert stored_ids(harness.graph, "Pet") == ["rex"]
    assert stored_ids(harness.graph, "Person") == ["ann", "new"]
    assert stored_edges(harness.graph) == [("FRIEND", "ann", "new"), ("OWNS", "ann", "rex")]


async def test_two_units_linking_the_same_pair_of_unversioned_entities_store_one_edge(
    harness: Harness, reg: Registry
) -> None:
    await seed(harness, reg, Account("acc"), Transfer("t1", 5))
    first, second = open_unit(harness, reg), open_unit(harness, reg)
    async with first, second:
        for uow in (first, second):
            account = await uow.repository(Account).get("acc", load=["transfers"])
            account.transfers.append(await uow.repository(Transfer).get("t1"))
        await first.commit()
        await second.commit()
    assert stored_edges(harness.graph, "SENT") == [("SENT", "acc", "t1")]


# -- rollback -------------------------------------------------------------------------------


async def edited_ann(uow: Any) -> tuple[Person, dict[str, Any]]:
    """Ann loaded with everything, then every kind of relationship edit applied."""
    repo = uow.repository(Person)
    ann = await repo.get("ann", load=ALL)
    original = {
        "friendships": list(ann.friendships),
        "follows": list(ann.follows),
        "since": ann.friendships[0].since,
    }
    dan = await repo.get("dan")
    ann.friendships[0].since = date(1999, 9, 9)
    befriend(ann, dan)
    ann.follows.remove(original["follows"][0])
    ann.pets.append(Pet("new", "New"))
    return ann, original


async def seed_ann(harness: Harness, reg: Registry) -> None:
    ann, bob, cat, dan = people("ann", "bob", "cat", "dan")
    befriend(ann, bob, date(2020, 1, 1))
    ann.follows.append(cat)
    await seed(harness, reg, ann, dan)


async def test_leaving_the_block_on_an_error_restores_relationships(
    harness: Harness, reg: Registry
) -> None:
    await seed_ann(harness, reg)
    before = picture(harness.graph)
    held: list[Any] = []

    async def abandon() -> None:
        async with open_unit(harness, reg) as uow:
            held.extend(await edited_ann(uow))
            raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError, match="changed my mind"):
        await abandon()
    ann, original = held
    assert friends_of(ann) == ["bob"]
    assert ann.friendships[0].since == date(2020, 1, 1)
    assert ann.follows == original["follows"]
    assert ann.pets == []
    assert harness.log.writes == []
    assert picture(harness.graph) == before


async def test_rollback_after_a_flush_restores_relationships_to_what_was_flushed(
    harness: Harness, reg: Registry
) -> None:
    await seed_ann(harness, reg)
    async with open_unit(harness, reg) as uow:
        repo = uow.repository(Person)
        ann = await repo.get("ann", load=["follows"])
        dan = await repo.get("dan")
        ann.follows.append(dan)
        await uow.flush()  # stored for good
        ann.follows.clear()
        with pytest.raises(FlushedWorkError):
            await uow.rollback()
        assert sorted(p.id for p in ann.follows) == ["cat", "dan"]
        assert not uow.has_pending_changes
    assert stored_edges(harness.graph, "FOLLOWS") == [
        ("FOLLOWS", "ann", "cat"),
        ("FOLLOWS", "ann", "dan"),
    ]


# -- delete rules ---------------------------------------------------------------------------


async def test_cascade_deletes_the_targets_loading_them_through_the_identity_map(
    harness: Harness, reg: Registry
) -> None:
    ann, bob = people("ann", "bob")
    ann.pets.extend([Pet("rex", "Rex"), Pet("tom", "Tom")])
    bob.pets.append(Pet("fido", "Fido"))
    await seed(harness, reg, ann, bob)
    async with open_unit(harness, reg) as uow:
        rex = await uow.repository(Pet).get("rex")
        ann2 = await uow.repository(Person).get("ann")  # pets not loaded
        uow.delete(ann2)
        await uow.flush()
        assert len(harness.log.writes) == 1
        assert await uow.repository(Pet).get_or_none("rex") is None
        assert await uow.repository(Pet).get_or_none("tom") is None
        assert rex.name == "Rex"  # the object the unit held was the one deleted
    assert stored_ids(harness.graph, "Person") == ["bob"]
    assert stored_ids(harness.graph, "Pet") == ["fido"]
    assert stored_edges(harness.graph) == [("OWNS", "bob", "fido")]


async def test_a_child_and_its_cascading_parent_deleted_in_one_unit(
    harness: Harness, reg: Registry
) -> None:
    ann = Person("ann", "Ann")
    ann.pets.extend([Pet("rex", "Rex"), Pet("tom", "Tom")])
    await seed(harness, reg, ann)
    async with open_unit(harness, reg) as uow:
        uow.delete(await uow.repository(Pet).get("rex"))
        uow.delete(await uow.repository(Person).get("ann"))  # pets not loaded yet
    assert stored_ids(harness.graph, "Person") == []
    assert stored_ids(harness.graph, "Pet") == []


async def test_a_relationship_loaded_after_its_target_was_deleted_shows_it_again_after_rollback(
    harness: Harness, reg: Registry
) -> None:
    ann = Person("ann", "Ann")
    ann.pets.extend([Pet("rex", "Rex"), Pet("tom", "Tom")])
    await seed(harness, reg, ann)
    async with open_unit(harness, reg) as uow:
        rex = await uow.repository(Pet).get("rex")
        uow.delete(rex)
        ann2 = await uow.repository(Person).get("ann", load=["pets"])
        assert [p.id for p in ann2.pets] == ["tom"]  # the unit deletes rex
        await uow.rollback()
        assert sorted(p.id for p in ann2.pets) == ["rex", "tom"]
        assert rex in ann2.pets
        assert not uow.has_pending_changes
    assert harness.log.writes == []


@dataclass
class Folder:
    id: str
    children: list[Folder] = field(default_factory=list, repr=False, compare=False)
    parent: Folder | None = field(default=None, repr=False, compare=False)


async def test_cascade_follows_every_level_and_survives_cycles(harness: Harness) -> None:
    folders = Registry()
    folders.map(
        Folder,
        key="id",
        # No ``parent`` to_one over the same edges: a folder here has two holders
        # (a cycle, and ``b`` held twice), which a to_one would refuse (CardinalityError).
        relationships={"children": to_many(Folder, "HOLDS", on_delete="cascade")},
        exclude=["parent"],
    )
    ensure_schema(harness.graph, folders)
    root, a, b, a1, a2, loop, other = (
        Folder(i) for i in ("root", "a", "b", "a1", "a2", "loop", "other")
    )
    root.children.extend([a, b])
    a.children.extend([a1, a2])
    a2.children.append(loop)
    loop.children.append(a)  # a cycle: a -> a2 -> loop -> a
    other.children.append(b)  # b is also held by a folder that stays
    async with open_unit(harness, folders) as uow:
        uow.add(root)
        uow.add(other)
    harness.log.clear()
    async with open_unit(harness, folders) as uow:
        uow.delete(await uow.repository(Folder).get("root"))
    assert len(harness.log.writes) == 1
    assert stored_ids(harness.graph, "Folder") == ["other"]
    assert stored_edges(harness.graph, "HOLDS") == []
