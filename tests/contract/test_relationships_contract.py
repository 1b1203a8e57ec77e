"""Relationships, checked on the fakes and on FalkorDB alike: edges follow the objects,
load eagerly or lazily, count as a change of their holder, obey the delete rules,
and are committed with everything else or not at all.

The domain is ``tests.integration.graph_support``'s: undirected friendships with
edge properties, the two ends of FOLLOWS, pets (cascade) and their owner (to-one),
an account's transfers (restrict). What is stored is compared through the layer's
own reads (``picture``), so the same assertion holds for every backend.
"""

from __future__ import annotations

from datetime import date

import pytest

from infrastructure.persistence import (
    ConcurrencyError,
    DanglingReferenceError,
    DeleteRestrictedError,
    DuplicateKeyError,
    RelationshipNotLoadedError,
    ValueEncodingError,
)
from tests.integration import graph_support as raw
from tests.integration.graph_support import (
    Account,
    Person,
    Pet,
    Transfer,
    befriend,
    friends_of,
)
from tests.units import stored as seed

ALL = ["friendships", "follows", "followers", "pets"]


def people(*ids: str) -> list[Person]:
    return [Person(i, i.title()) for i in ids]


def on_server(gbe):
    """What FalkorDB holds, read with the raw client (None on the fakes)."""
    return None if gbe.graph is None else raw.picture(gbe.graph)


def ids(entities) -> list[str]:
    return sorted(e.id for e in entities)


async def picture(gbe) -> dict:
    """Everything stored, through the layer: each entity with its version and relationships."""
    async with gbe.unit() as uow:
        found = await gbe.io(uow.repository(Person).list(load=ALL))
        pets = await gbe.io(uow.repository(Pet).list(load=["owner"]))
        accounts = await gbe.io(uow.repository(Account).list(load=["transfers"]))
        transfers = await gbe.io(uow.repository(Transfer).list())
    return {
        "people": {
            p.id: (
                p.name,
                p.version,
                sorted((f.friend.id, f.since, f.note) for f in p.friendships),
                ids(p.follows),
                ids(p.followers),
                ids(p.pets),
            )
            for p in found
        },
        "pets": {p.id: (p.name, p.owner.id if p.owner else None) for p in pets},
        "accounts": {a.id: (a.balance, ids(a.transfers)) for a in accounts},
        "transfers": ids(transfers),
    }


# -- edges follow the objects ------------------------------------------------------------


async def test_adding_an_entity_stores_its_edges_and_the_new_entities_it_holds(gbe):
    ann, bob = people("ann", "bob")
    befriend(ann, bob, date(2021, 5, 6))
    ann.follows.append(bob)
    ann.pets.append(Pet("rex", "Rex"))
    await seed(gbe, ann)  # bob and rex are reached through ann's relationships
    if gbe.graph is not None:
        assert len(gbe.writes) == 1
        assert raw.stored_ids(gbe.graph, "Person") == ["ann", "bob"]
        assert raw.stored_ids(gbe.graph, "Pet") == ["rex"]
        assert raw.stored_edges(gbe.graph) == [
            ("FOLLOWS", "ann", "bob"),
            ("FRIEND", "ann", "bob"),
            ("OWNS", "ann", "rex"),
        ]
        assert raw.stored_edge_props(gbe.graph, "FRIEND") == {
            ("ann", "bob"): {"since": "2021-05-06"}
        }
    async with gbe.unit() as uow:
        repo = uow.repository(Person)
        bob2 = await gbe.io(repo.get("bob", load=ALL))
        ann2 = await gbe.io(repo.get("ann"))
        rex = await gbe.io(uow.repository(Pet).get("rex", load=["owner"]))
        assert [(f.friend, f.since, f.note) for f in bob2.friendships] == [
            (ann2, date(2021, 5, 6), None)
        ]
        assert bob2.friendships[0].friend is ann2
        assert bob2.followers == [ann2]
        assert bob2.followers[0] is ann2
        assert bob2.follows == []
        assert rex.owner is ann2
    assert (await picture(gbe))["people"]["ann"][1:] == (
        1,
        [("bob", date(2021, 5, 6), None)],
        ["bob"],
        [],
        ["rex"],
    )


async def test_appending_removing_and_reassigning_change_exactly_those_edges(gbe):
    ann, bob, cat, dan = people("ann", "bob", "cat", "dan")
    befriend(ann, bob)
    befriend(ann, cat)
    ann.follows.extend([bob, cat])
    await seed(gbe, ann, dan)
    async with gbe.unit() as uow:
        repo = uow.repository(Person)
        ann2 = await gbe.io(repo.get("ann", load=["friendships", "follows"]))
        cat2, dan2 = await gbe.io(repo.get_many(["cat", "dan"]))
        ann2.friendships = [f for f in ann2.friendships if f.friend.id != "bob"]
        befriend(ann2, dan2, date(2024, 1, 2))
        ann2.follows = [dan2, cat2]
    stored = (await picture(gbe))["people"]
    assert stored["ann"][2] == [("cat", date(2020, 1, 1), None), ("dan", date(2024, 1, 2), None)]
    assert stored["ann"][3] == ["cat", "dan"]
    assert stored["bob"][2:5] == ([], [], [])
    assert stored["dan"][2:5] == ([("ann", date(2024, 1, 2), None)], [], ["ann"])


async def test_editing_an_edge_property_is_seen_from_both_ends(gbe):
    ann, bob = people("ann", "bob")
    befriend(ann, bob, date(2020, 1, 1))
    ann.friendships[0].note = "school"
    await seed(gbe, ann)
    async with gbe.unit() as uow:
        ann2 = await gbe.io(uow.repository(Person).get("ann", load=["friendships"]))
        ann2.friendships[0].since = date(2022, 2, 2)
    async with gbe.unit() as uow:
        bob2 = await gbe.io(uow.repository(Person).get("bob", load=["friendships"]))
        assert [(f.since, f.note) for f in bob2.friendships] == [(date(2022, 2, 2), "school")]
        bob2.friendships[0].note = None  # removing an edge property
    stored = (await picture(gbe))["people"]
    assert stored["ann"][2] == [("bob", date(2022, 2, 2), None)]


async def test_a_relationship_change_moves_the_holders_version_only(gbe):
    ann, bob, cat = people("ann", "bob", "cat")
    await seed(gbe, ann, bob, cat)
    async with gbe.unit() as uow:
        ann2, bob2 = await gbe.io(uow.repository(Person).get_many(["ann", "bob"], load=ALL))
        ann2.follows.append(bob2)
        assert uow.has_pending_changes
    async with gbe.unit() as uow:
        everyone = await gbe.io(uow.repository(Person).list(load=ALL))
        everyone[0].follows = list(everyone[0].follows)  # the same targets: no change
        assert not uow.has_pending_changes
    assert {k: v[1] for k, v in (await picture(gbe))["people"].items()} == {
        "ann": 2,
        "bob": 1,
        "cat": 1,
    }


async def test_both_holders_of_an_undirected_edge_appending_store_it_once(gbe):
    ann, bob, cat, dan = people("ann", "bob", "cat", "dan")
    befriend(cat, dan)
    befriend(dan, cat)  # two new entities holding each other
    await seed(gbe, ann, bob, cat)
    if gbe.graph is not None:
        assert raw.undirected(gbe.graph, "FRIEND") == [("cat", "dan")]
    async with gbe.unit() as uow:
        ann2, bob2 = await gbe.io(
            uow.repository(Person).get_many(["ann", "bob"], load=["friendships"])
        )
        befriend(ann2, bob2)
        befriend(bob2, ann2)
    if gbe.graph is not None:
        assert raw.undirected(gbe.graph, "FRIEND") == [("ann", "bob"), ("cat", "dan")]
    async with gbe.unit() as uow:
        found = await gbe.io(uow.repository(Person).list(load=["friendships"]))
        assert {p.id: friends_of(p) for p in found} == {
            "ann": ["bob"],
            "bob": ["ann"],
            "cat": ["dan"],
            "dan": ["cat"],
        }


async def test_a_relationship_holding_a_target_twice_is_refused(gbe):
    ann, bob = people("ann", "bob")
    await seed(gbe, ann, bob)
    before, stored = await picture(gbe), on_server(gbe)
    gbe.writes.clear()

    async def follow_twice() -> None:
        async with gbe.unit() as uow:
            ann2, bob2 = await gbe.io(uow.repository(Person).get_many(["ann", "bob"], load=ALL))
            ann2.follows.extend([bob2, bob2])

    with pytest.raises(ValueEncodingError, match=r"Person\['bob'\] twice"):
        await follow_twice()
    assert gbe.writes == []
    assert (await picture(gbe), on_server(gbe)) == (before, stored)


async def test_linking_to_an_entity_deleted_in_the_same_unit_is_refused(gbe):
    ann, cat = people("ann", "cat")
    await seed(gbe, ann, cat)
    before, stored = await picture(gbe), on_server(gbe)
    gbe.writes.clear()

    async def befriend_the_deleted() -> None:
        async with gbe.unit() as uow:
            ann2, cat2 = await gbe.io(
                uow.repository(Person).get_many(["ann", "cat"], load=["friendships"])
            )
            uow.delete(cat2)
            befriend(ann2, cat2)

    with pytest.raises(DanglingReferenceError, match=r"Person\['ann'\]\.friendships.*'cat'"):
        await befriend_the_deleted()
    assert gbe.writes == []
    assert (await picture(gbe), on_server(gbe)) == (before, stored)


# -- concurrent units ------------------------------------------------------------------


@pytest.mark.parametrize("relationship", ["follows", "friendships"])
async def test_two_units_linking_the_same_pair_store_one_edge(gbe, relationship):
    """From one holder the second unit is refused (its aggregate changed meanwhile);
    from the two ends of an undirected relationship both commit."""
    await seed(gbe, *people("ann", "bob"))
    first, second = gbe.new_unit(), gbe.new_unit()
    a1, b1 = await gbe.io(first.repository(Person).get_many(["ann", "bob"], load=ALL))
    a2, b2 = await gbe.io(second.repository(Person).get_many(["ann", "bob"], load=ALL))
    if relationship == "follows":
        a1.follows.append(b1)
        a2.follows.append(b2)
    else:
        befriend(a1, b1)
        befriend(b2, a2)
    await gbe.io(first.commit())
    if relationship == "follows":
        with pytest.raises(ConcurrencyError, match=r"Person\['ann'\]"):
            await gbe.io(second.commit())
    else:
        await gbe.io(second.commit())
    await gbe.io(first.close())
    await gbe.io(second.close())
    if gbe.graph is not None:
        edge_type = "FOLLOWS" if relationship == "follows" else "FRIEND"
        assert raw.undirected(gbe.graph, edge_type) == [("ann", "bob")]
    stored = (await picture(gbe))["people"]
    if relationship == "follows":
        assert (stored["ann"][3], stored["bob"][4]) == (["bob"], ["ann"])
    else:
        assert [f[0] for f in stored["ann"][2]] == ["bob"]
        assert [f[0] for f in stored["bob"][2]] == ["ann"]


async def test_linking_to_a_target_another_unit_deleted_is_a_conflict(gbe):
    ann, bob = people("ann", "bob")
    rex = Pet("rex", "Rex")
    await seed(gbe, ann, bob, rex)
    linker = gbe.new_unit()
    ann1 = await gbe.io(linker.repository(Person).get("ann", load=ALL))
    ann1.follows.append(await gbe.io(linker.repository(Person).get("bob")))
    ann1.pets.append(await gbe.io(linker.repository(Pet).get("rex")))
    async with gbe.unit() as uow:
        uow.delete(await gbe.io(uow.repository(Pet).get("rex")))
    before = await picture(gbe)
    with pytest.raises(ConcurrencyError):
        await gbe.io(linker.commit())
    await gbe.io(linker.close())
    assert await picture(gbe) == before  # the FOLLOWS edge was not written either


async def test_editing_an_edge_another_unit_removed_is_a_conflict(gbe):
    ann, bob = people("ann", "bob")
    befriend(ann, bob)
    await seed(gbe, ann)
    editor = gbe.new_unit()
    bob1 = await gbe.io(editor.repository(Person).get("bob", load=["friendships"]))
    bob1.friendships[0].note = "late"
    async with gbe.unit() as uow:
        (await gbe.io(uow.repository(Person).get("ann", load=["friendships"]))).friendships = []
    before = await picture(gbe)
    with pytest.raises(ConcurrencyError):
        await gbe.io(editor.commit())
    await gbe.io(editor.close())
    assert await picture(gbe) == before


# -- loading ---------------------------------------------------------------------------


async def test_every_finder_loads_relationships_eagerly_in_the_same_read(gbe):
    ring = people(*(f"p{i}" for i in range(6)))
    for i, person in enumerate(ring):
        befriend(person, ring[(i + 1) % 6], date(2020, 1, i + 1))
        person.follows.append(ring[(i + 2) % 6])
    await seed(gbe, *ring)
    keys = [p.id for p in ring]
    finders = {
        "list": lambda r: r.list(load=ALL),
        "find_by": lambda r: r.find_by(load=ALL),
        "get_many": lambda r: r.get_many(keys, load=ALL),
        "page": lambda r: r.page(size=10, load=ALL),
        "keyset": lambda r: r.keyset(limit=10, load=ALL),
    }
    for name, finder in finders.items():
        async with gbe.unit() as uow:
            gbe.reads.clear()
            found = await gbe.io(finder(uow.repository(Person)))
            found = getattr(found, "items", found)
            reads = len(gbe.reads)
            shape = {
                p.id: (
                    friends_of(p),
                    ids(p.follows),
                    ids(p.followers),
                    [f.since for f in p.friendships],
                )
                for p in found
            }
        assert reads == (2 if name == "page" else 1), name  # a page also counts
        for i in range(6):
            before, after = f"p{(i - 1) % 6}", f"p{(i + 1) % 6}"
            assert shape[f"p{i}"][:3] == (
                sorted([before, after]),
                [f"p{(i + 2) % 6}"],
                [f"p{(i - 2) % 6}"],
            ), name


async def test_a_sync_unit_loads_a_relationship_on_first_access_for_the_whole_read(gbe):
    ring = people(*(f"p{i}" for i in range(5)))
    for i, person in enumerate(ring):
        person.follows.append(ring[(i + 1) % 5])
    await seed(gbe, *ring)
    async with gbe.unit() as uow:
        found = await gbe.io(uow.repository(Person).list())
        gbe.reads.clear()
        if gbe.is_async:
            with pytest.raises(RelationshipNotLoadedError, match="load=\\['follows'\\]"):
                _ = found[0].follows
            await gbe.io(uow.repository(Person).load_related(found, "follows"))
        followed = {p.id: ids(p.follows) for p in found}
        assert len(gbe.reads) == 1  # one read for all five, not one each
    assert followed == {f"p{i}": [f"p{(i + 1) % 5}"] for i in range(5)}
    with pytest.raises(RelationshipNotLoadedError, match="before its unit of work closed"):
        _ = found[0].pets


async def test_loaded_targets_are_the_units_objects_and_local_edits_win(gbe):
    ann, bob = people("ann", "bob")
    ann.follows.append(bob)
    await seed(gbe, ann)
    async with gbe.unit() as uow:
        repo = uow.repository(Person)
        bob2 = await gbe.io(repo.get("bob"))
        bob2.name = "Robert"
        ann2 = await gbe.io(repo.get("ann", load=["follows"]))
        assert ann2.follows[0] is bob2
        assert ann2.follows[0].name == "Robert"


# -- delete rules ----------------------------------------------------------------------


async def test_deleting_a_holder_detaches_its_edges_and_keeps_the_targets(gbe):
    ann, bob, cat = people("ann", "bob", "cat")
    befriend(ann, bob)
    ann.follows.append(bob)
    cat.follows.append(bob)
    await seed(gbe, ann, cat)
    gbe.writes.clear()
    async with gbe.unit() as uow:
        uow.delete(await gbe.io(uow.repository(Person).get("bob")))
    if gbe.graph is not None:
        assert len(gbe.writes) == 1
        assert raw.stored_ids(gbe.graph, "Person") == ["ann", "cat"]
        assert raw.stored_edges(gbe.graph) == []
    stored = (await picture(gbe))["people"]
    assert sorted(stored) == ["ann", "cat"]
    assert all(v[2:6] == ([], [], [], []) for v in stored.values())


async def test_cascade_deletes_the_targets_through_every_level(gbe):
    ann, bob = people("ann", "bob")
    ann.pets.extend([Pet("rex", "Rex"), Pet("tom", "Tom")])
    bob.pets.append(Pet("fido", "Fido"))
    await seed(gbe, ann, bob)
    async with gbe.unit() as uow:
        rex = await gbe.io(uow.repository(Pet).get("rex"))
        uow.delete(await gbe.io(uow.repository(Person).get("ann")))  # pets not loaded
        await gbe.io(uow.flush())
        assert await gbe.io(uow.repository(Pet).get_or_none("rex")) is None
        assert rex.name == "Rex"
    stored = await picture(gbe)
    assert sorted(stored["people"]) == ["bob"]
    assert stored["pets"] == {"fido": ("Fido", "bob")}


async def test_cascade_fails_when_a_target_was_attached_concurrently(gbe):
    ann = Person("ann", "Ann")
    ann.pets.append(Pet("rex", "Rex"))
    await seed(gbe, ann)
    deleting = gbe.new_unit()
    ann1 = await gbe.io(deleting.repository(Person).get("ann", load=["pets"]))
    async with gbe.unit() as other:
        ann2 = await gbe.io(other.repository(Person).get("ann", load=["pets"]))
        ann2.pets.append(Pet("tom", "Tom"))
    deleting.delete(ann1)
    before = await picture(gbe)
    with pytest.raises(ConcurrencyError):
        await gbe.io(deleting.commit())
    await gbe.io(deleting.close())
    assert await picture(gbe) == before
    if gbe.graph is not None:
        assert raw.stored_ids(gbe.graph, "Person") == ["ann"]
        assert raw.stored_ids(gbe.graph, "Pet") == ["rex", "tom"]
        assert raw.stored_edges(gbe.graph, "OWNS") == [
            ("OWNS", "ann", "rex"),
            ("OWNS", "ann", "tom"),
        ]


async def test_restrict_refuses_the_delete_naming_what_is_attached_and_writes_nothing(gbe):
    busy, idle, other = Account("busy"), Account("idle"), Account("other", 5)
    busy.transfers.extend([Transfer("t1", 10), Transfer("t2", 20)])
    await seed(gbe, busy, idle, other)
    before, stored = await picture(gbe), on_server(gbe)

    async def delete_busy() -> None:
        async with gbe.unit() as uow:
            accounts = uow.repository(Account)
            (await gbe.io(accounts.get("other"))).balance = 99
            uow.delete(await gbe.io(accounts.get("busy")))

    with pytest.raises(DeleteRestrictedError) as refused:
        await delete_busy()
    message = str(refused.value)
    assert "Account['busy']" in message
    assert "'transfers'" in message
    assert "Transfer['t1']" in message
    assert "Transfer['t2']" in message
    assert (await picture(gbe), on_server(gbe)) == (before, stored)
    async with gbe.unit() as uow:
        uow.delete(await gbe.io(uow.repository(Account).get("idle")))
    assert sorted((await picture(gbe))["accounts"]) == ["busy", "other"]
    if gbe.graph is not None:
        assert raw.stored_ids(gbe.graph, "Account") == ["busy", "other"]


# -- all or nothing --------------------------------------------------------------------


@pytest.mark.parametrize("duplicate", ["key", "unique email"])
async def test_edge_changes_are_undone_with_a_taken_key_elsewhere_in_the_commit(gbe, duplicate):
    ann, bob, cat, dan, gus, zed = people("ann", "bob", "cat", "dan", "gus", "zed")
    ann.email = "ann@example.com"
    befriend(ann, bob)
    ann.follows.append(cat)
    gus.pets.append(Pet("rex", "Rex"))
    befriend(gus, dan)
    await seed(gbe, ann, dan, gus, zed)
    before, stored = await picture(gbe), on_server(gbe)
    gbe.writes.clear()

    async def commit_everything() -> None:
        async with gbe.unit() as uow:
            repo = uow.repository(Person)
            ann2 = await gbe.io(repo.get("ann", load=["friendships", "follows"]))
            dan2, gus2 = await gbe.io(repo.get_many(["dan", "gus"]))
            ann2.friendships = []
            befriend(ann2, dan2)
            ann2.follows[0].name = "Renamed"
            uow.delete(gus2)
            uow.add(Person("eve", "Eve", email="eve@example.com"))
            if duplicate == "key":
                uow.add(Person("zed", "Second Zed"))
            else:
                uow.add(Person("fay", "Fay", email="ann@example.com"))

    with pytest.raises(DuplicateKeyError):
        await commit_everything()
    if gbe.graph is not None:
        assert len(gbe.writes) == 1  # one commit query, refused whole
    assert (await picture(gbe), on_server(gbe)) == (before, stored)


async def test_rollback_restores_relationships_and_edge_properties(gbe):
    ann, bob, cat, dan = people("ann", "bob", "cat", "dan")
    befriend(ann, bob, date(2020, 1, 1))
    ann.follows.append(cat)
    await seed(gbe, ann, dan)
    before, stored = await picture(gbe), on_server(gbe)
    gbe.writes.clear()
    async with gbe.unit() as uow:
        repo = uow.repository(Person)
        ann2 = await gbe.io(repo.get("ann", load=ALL))
        kept, kept_follows = list(ann2.friendships), list(ann2.follows)
        ann2.friendships[0].since = date(1999, 9, 9)
        befriend(ann2, await gbe.io(repo.get("dan")))
        ann2.follows.clear()
        ann2.pets.append(Pet("new", "New"))
        assert uow.has_pending_changes
        await gbe.io(uow.rollback())
        assert ann2.friendships == kept
        assert ann2.friendships[0] is kept[0]
        assert kept[0].since == date(2020, 1, 1)
        assert ids(ann2.follows) == ["cat"]
        assert ann2.follows[0] is kept_follows[0]
        assert ann2.pets == []
        assert not uow.has_pending_changes
    assert gbe.writes == []
    assert (await picture(gbe), on_server(gbe)) == (before, stored)


async def test_changing_a_unique_property_to_a_taken_value_writes_nothing(gbe):
    ann, bob = people("ann", "bob")
    ann.email, bob.email = "ann@example.com", "bob@example.com"
    await seed(gbe, ann, bob)
    before = await picture(gbe)

    async def take_anns_email() -> None:
        async with gbe.unit() as uow:
            repo = uow.repository(Person)
            (await gbe.io(repo.get("bob"))).email = "ann@example.com"
            (await gbe.io(repo.get("ann", load=["follows"]))).follows.append(
                await gbe.io(repo.get("bob"))
            )

    with pytest.raises(DuplicateKeyError, match="nothing was written"):
        await take_anns_email()
    assert await picture(gbe) == before
    async with gbe.unit() as uow:
        (await gbe.io(uow.repository(Person).get("ann"))).email = "ann@example.org"
        (await gbe.io(uow.repository(Person).get("bob"))).email = "ann@example.com"
    assert (await picture(gbe))["people"]["bob"][1] == 2
