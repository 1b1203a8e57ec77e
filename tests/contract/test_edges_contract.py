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
