"""Declaring a class hierarchy: what a subclass mapping inherits, and what it refuses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from infrastructure.fakes import FakeStore, FakeUnitOfWork
from infrastructure.persistence import MappingError, Registry, Vector
from infrastructure.persistence.bulk_plan import foreign_labels
from infrastructure.persistence.loading import row_values
from infrastructure.persistence.reads import by_key, projection
from infrastructure.persistence.schema import SchemaItem, declared_schema
from tests.contract.test_hierarchy_contract import (
    Customer,
    Employee,
    Manager,
    Person,
    friends,
    hierarchy_registry,
)
from tests.mappings import registry_of


@dataclass
class Unrelated:
    id: str


def labelled_registry() -> Registry:
    """The hierarchy with exclusions and extra labels, inherited by the subclasses."""
    inherited = {"exclude": ["email"], "labels": ["Entity"]}
    r = registry_of(Person, relationships={"friends": friends()}, **inherited)
    r.map(Employee, labels=["Staff"])
    r.map(Manager, exclude=["team"])
    r.map(Customer)
    return r


def test_a_subclass_inherits_key_version_exclusions_relationships_and_labels():
    r = labelled_registry()
    person, manager = r.mapping_for(Person), r.mapping_for(Manager)
    assert manager.parent is r.mapping_for(Employee)
    assert manager.root is person
    assert manager.identity_cls is Person
    assert (manager.key_field, manager.version_property) == ("id", "version")
    assert manager.properties == ("id", "name", "age", "company", "reports")  # no email
    assert manager.relationships["friends"] is person.relationships["friends"]
    assert manager.node_labels == "Person:Employee:Manager:Entity:Staff"
    assert manager.match_labels == "Person:Manager"
    assert person.descendants == [r.mapping_for(c) for c in (Employee, Manager, Customer)]
    assert person.family.extra == ("company", "reports", "tier")


def test_the_constraints_of_a_hierarchy_are_on_its_root_label_only():
    uniques = [i for i in declared_schema(hierarchy_registry()) if i.kind == "UNIQUE"]
    assert uniques == [
        SchemaItem("UNIQUE", "NODE", "Person", "email"),
        SchemaItem("UNIQUE", "NODE", "Person", "id"),
    ]
    assert hierarchy_registry().mapping_for(Manager).unique_label("email") == "Person"


def test_a_row_read_through_the_base_loads_as_the_deepest_known_class():
    r = hierarchy_registry()
    person = r.mapping_for(Person)
    family = person.family
    assert family.kind_of(["Person", "Employee", "Manager", "Intern"]) == 1
    assert family.concrete(1) is r.mapping_for(Manager)  # the deepest first
    assert family.kind_of(["Person", "Other"]) == 0
    # properties, version, kind, company, reports, tier
    concrete, values = row_values(person, ["m", "Max", 4, None, 3, 1, "acme", 4, None])
    assert concrete is r.mapping_for(Manager)
    assert values == ("m", "Max", 4, None, "acme", 4)
    plain = row_values(person, ["p", "Pat", 5, None, 1, 0, None, None, None])
    assert plain == (person, ("p", "Pat", 5, None))
    kind = "CASE WHEN n:Manager THEN 1 WHEN n:Employee THEN 2 WHEN n:Customer THEN 3 ELSE 0 END"
    assert projection(person).endswith(f"{kind}, n.company, n.reports, n.tier")
    assert projection(r.mapping_for(Manager)).endswith("n.reports, coalesce(n.version, 0)")


def test_a_subclass_reads_by_key_on_the_root_label_and_its_own():
    read = by_key(hierarchy_registry().mapping_for(Employee), "e")
    assert read.query.startswith("MATCH (n:Person:Employee {id: $key})")


def test_another_class_of_the_hierarchy_is_named_by_labels():
    r = hierarchy_registry()
    assert foreign_labels(r.mapping_for(Employee), "e") == "NOT e:Employee OR e:Manager"
    assert foreign_labels(r.mapping_for(Person), "e") == "e:Employee OR e:Manager OR e:Customer"
    assert foreign_labels(r.mapping_for(Manager), "e") == "NOT e:Manager"


def test_a_subclass_keeps_its_bases_key_and_version():
    r = Registry()
    r.map(Person, key="id", version="version", exclude=["friends"])
    with pytest.raises(MappingError, match="keeps its base's key"):
        r.map(Employee, key="name")
    with pytest.raises(MappingError, match="keeps its base's version"):
        r.map(Employee, version="other")
    assert Employee not in r
    r.map(Employee, key="id", version="version")  # naming the same ones is fine
    assert r.mapping_for(Employee).parent is r.mapping_for(Person)


def test_a_root_still_names_its_key():
    with pytest.raises(MappingError, match="name its key field"):
        Registry().map(Unrelated)


def test_vectors_and_full_text_are_refused_in_a_hierarchy():
    @dataclass
    class Doc:
        id: str
        text: str = ""
        embedding: list[float] = field(default_factory=list)

    @dataclass
    class Memo(Doc):
        to: str = ""

    r = Registry()
    r.map(Doc, key="id", vectors={"embedding": Vector(3)})
    with pytest.raises(MappingError, match="not supported in a class hierarchy"):
        r.map(Memo)
    r2 = Registry()
    r2.map(Doc, key="id", exclude=["embedding"])
    with pytest.raises(MappingError, match="not supported in a class hierarchy"):
        r2.map(Memo, fulltext=["text"])


def test_a_subclass_label_must_be_its_own():
    r = Registry()
    r.map(Person, key="id", exclude=["friends"])
    with pytest.raises(MappingError, match="already used"):
        r.map(Employee, label="Person")


def test_a_relationship_the_classes_share_loads_lazily_in_one_read_for_all():
    registry, store = hierarchy_registry(), FakeStore()
    with FakeUnitOfWork(store, registry) as uow:
        pat, eve, max_ = Person("p", "Pat"), Employee("e", "Eve"), Manager("m", "Max")
        for entity in (pat, eve, max_):
            uow.add(entity)
        eve.friends, max_.friends, max_.team = [max_, pat], [pat], [eve]
    sent: list[str] = []

    class Counting(FakeUnitOfWork):
        def read(self, read: Any) -> Any:
            sent.append(read.query)
            return super().read(read)

    with Counting(store, registry) as uow:
        eve, max_, pat = uow.repository(Person).find(order_by="id")
        assert [p.id for p in eve.friends] == ["m", "p"]
        assert [p.id for p in max_.friends] == ["p"]
        assert pat.friends == []
        assert len(sent) == 2  # the find, then friends for all three classes at once
        assert max_.team == [eve]
        assert len(sent) == 3


def test_a_subclass_may_be_mapped_as_a_class_of_its_own():
    r = Registry()
    r.map(Person, key="id", exclude=["friends"])
    employee = r.map(Employee, key="id", exclude=["friends"], hierarchy=False)
    assert employee.parent is None
    assert (employee.identity_cls, employee.node_labels) == (Employee, "Employee")
    assert r.mapping_for(Person).descendants == []
