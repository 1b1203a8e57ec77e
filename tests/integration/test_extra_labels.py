"""Extra labels: every node of a mapping carries them, however the layer writes it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from infrastructure.persistence import MappingError, Registry


@dataclass
class Doc:
    id: str
    title: str
    version: int = 0


@dataclass
class Note:
    id: str
    text: str


def labelled(harness) -> list[tuple[str, list[str]]]:
    rows = harness.graph.ro_query("MATCH (n) RETURN n.id, labels(n) ORDER BY n.id").result_set
    return [(key, sorted(labels)) for key, labels in rows]


def entity_registry() -> Registry:
    registry = Registry()
    registry.map(Doc, key="id", version="version", labels=["Entity", "Searchable"])
    registry.map(Note, key="id", labels=["Entity"])
    return registry


async def test_created_and_upserted_nodes_carry_the_extra_labels(harness):
    registry = harness.prepare(entity_registry())
    harness.graph.query("CREATE (:Doc {id: 'old', title: 'stored by another client'})")
    async with harness.unit(registry) as uow:
        uow.add(Doc("d1", "added"))
        uow.add(Note("n1", "added"))
        uow.repository(Doc).upsert_many([Doc("old", "upserted"), Doc("d2", "upserted")])
    assert labelled(harness) == [
        ("d1", ["Doc", "Entity", "Searchable"]),
        ("d2", ["Doc", "Entity", "Searchable"]),
        ("n1", ["Entity", "Note"]),
        ("old", ["Doc", "Entity", "Searchable"]),
    ]
    shared = harness.graph.ro_query("MATCH (n:Entity) RETURN count(n)").result_set
    assert shared == [[4]]  # one label over both types: what one shared index would serve
    async with harness.unit(registry) as uow:  # reads match on the mapping's own label
        assert [d.id for d in await uow.repository(Doc).find(order_by="id")] == [
            "d1",
            "d2",
            "old",
        ]
        assert [n.id for n in await uow.repository(Note).find()] == ["n1"]


def test_a_label_of_one_mapping_cannot_be_an_extra_label_of_another():
    registry = Registry()
    registry.map(Note, key="id")
    with pytest.raises(MappingError, match="'Note' is the label of one"):
        registry.map(Doc, key="id", labels=["Note"])
    with pytest.raises(MappingError, match="a list of labels"):
        Registry().map(Doc, key="id", labels="Entity")
    with pytest.raises(MappingError, match="extra label of Doc"):
        Registry().map(Doc, key="id", labels=["Bad Label"])
