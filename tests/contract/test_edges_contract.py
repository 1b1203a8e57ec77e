"""Semantics at the edges, checked on the fakes and on FalkorDB alike.

Each test is one case a differential run (real unit, fake unit, plain model)
once answered differently; the answer asserted here is the documented one
(README, "Semantics at the edges").
"""

from __future__ import annotations

from infrastructure.persistence import F
from tests.integration.graph_support import Person


def people(*ids: str) -> list[Person]:
    return [Person(i, i.title()) for i in ids]


async def seed(gbe, *entities) -> None:
    async with gbe.unit() as uow:
        for entity in entities:
            uow.add(entity)


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
