"""Class hierarchies on the server: the labels written, the constraint on the root label,
the commit's key matches on its index, custom queries and nodes other clients wrote."""

from __future__ import annotations

import pytest
from redis import exceptions as redis_errors

from infrastructure.persistence import DuplicateKeyError, describe_schema
from tests.contract.test_hierarchy_contract import (
    SEEDED,
    Customer,
    Employee,
    Manager,
    Person,
    described,
    hierarchy_registry,
)


def labelled(harness) -> list[tuple[str, list[str]]]:
    rows = harness.graph.ro_query("MATCH (n) RETURN n.id, labels(n) ORDER BY n.id").result_set
    return [(key, sorted(labels)) for key, labels in rows]


async def seed(harness, registry) -> None:
    async with harness.unit(registry) as uow:
        uow.add(Person("p", "Pat", age=50))
        uow.add(Employee("e", "Eve", age=30, company="acme"))
        uow.add(Manager("m", "Max", age=40, company="acme", reports=3))
        uow.add(Customer("c", "Cy", age=20, tier="gold"))


async def test_every_write_stores_the_labels_of_the_whole_lineage(harness):
    registry = harness.prepare(hierarchy_registry())
    await seed(harness, registry)
    async with harness.unit(registry) as uow:
        uow.repository(Person).upsert(Manager("n", "Nia"))
        uow.repository(Employee).upsert(Employee("e", "Eve", age=31, company="acme"))
    assert labelled(harness) == [
        ("c", ["Customer", "Person"]),
        ("e", ["Employee", "Person"]),
        ("m", ["Employee", "Manager", "Person"]),
        ("n", ["Employee", "Manager", "Person"]),
        ("p", ["Person"]),
    ]


async def test_the_key_constraint_lives_on_the_root_label_and_holds_for_other_clients(harness):
    registry = harness.prepare(hierarchy_registry())
    report = describe_schema(harness.graph, registry)
    assert [str(i) for i in report.declared] == ["UNIQUE (:Person).email", "UNIQUE (:Person).id"]
    assert report.missing == []
    subclass_labels = {"Employee", "Manager", "Customer"}
    assert [i for i in report.undeclared if i.label in subclass_labels] == []
    await seed(harness, registry)
    with pytest.raises(redis_errors.ResponseError, match=r"(?i)unique"):
        harness.graph.query("CREATE (:Person:Customer {id: 'e', name: 'A twin'})")
    assert harness.count("Person") == 4


async def test_a_key_refused_by_the_constraint_names_the_entity(harness):
    registry = harness.prepare(hierarchy_registry())
    await seed(harness, registry)
    uow = harness.unit(registry)
    uow.add(Customer("m", "Twin"))
    with pytest.raises(DuplicateKeyError, match=r"Customer\['m'\]"):
        await uow.commit()
    await uow.close()
    assert harness.count("Customer") == 1


async def test_commits_match_subclass_keys_on_the_root_labels_index(harness):
    registry = harness.prepare(hierarchy_registry())
    await seed(harness, registry)
    async with harness.unit(registry) as uow:
        (await uow.repository(Person).get("m")).reports = 4
        harness.log.clear()
    query = harness.log.writes[0].query
    assert "MATCH (n:Person:Manager {id: row.k})" in query
    plan = str(harness.graph.explain("MATCH (n:Person:Manager {id: $k}) RETURN n", {"k": "m"}))
    assert "Node By Index Scan | (n:Person)" in plan


async def test_custom_queries_load_each_node_as_its_own_class(harness):
    registry = harness.prepare(hierarchy_registry())
    await seed(harness, registry)
    async with harness.unit(registry) as uow:
        found = await uow.repository(Person).query_entities(
            "MATCH (n:Person) RETURN n ORDER BY n.id"
        )
        assert described(found) == SEEDED
        assert found[2] is await uow.repository(Employee).get("m")
        assert found[2].reports == 3


async def test_undecodable_checks_each_node_as_its_own_class(harness):
    registry = harness.prepare(hierarchy_registry())
    await seed(harness, registry)
    harness.graph.query("CREATE (:Person:Employee:Manager {id: 'bad', name: 'B', reports: 'x'})")
    async with harness.unit(registry) as uow:
        problems = await uow.repository(Person).undecodable()
    assert [(p.label, p.key, p.property, p.value) for p in problems] == [
        ("Manager", "bad", "reports", "x")
    ]
