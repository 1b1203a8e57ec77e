"""Declaring a class hierarchy: what a subclass mapping inherits, and what it refuses."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from infrastructure.persistence import MappingError, Registry, Vector, to_many
from infrastructure.persistence.bulk_plan import foreign_labels
from infrastructure.persistence.loading import row_values
from infrastructure.persistence.reads import by_key, projection
from infrastructure.persistence.schema import SchemaItem, declared_schema


@dataclass
class Person:
    id: str
    name: str
    friends: list[Person] = field(default_factory=list)
    note: str = ""
    version: int = 0


@dataclass
class Employee(Person):
    company: str = ""


@dataclass
class Manager(Employee):
    reports: int = 0


@dataclass
class Customer(Person):
    tier: str = ""


@dataclass
class Unrelated:
    id: str


def registry() -> Registry:
    r = Registry()
    r.map(
        Person,
        key="id",
        version="version",
        exclude=["note"],
        labels=["Entity"],
        relationships={"friends": to_many(Person, "KNOWS")},
    )
    r.map(Employee, labels=["Staff"])
    r.map(Manager)
    r.map(Customer)
    return r


def test_a_subclass_inherits_key_version_exclusions_relationships_and_labels():
    r = registry()
    person, manager = r.mapping_for(Person), r.mapping_for(Manager)
    assert manager.parent is r.mapping_for(Employee)
    assert manager.root is person
    assert manager.identity_cls is Person
    assert (manager.key_field, manager.version_property) == ("id", "version")
    assert manager.properties == ("id", "name", "company", "reports")  # note stays excluded
    assert manager.relationships["friends"] is person.relationships["friends"]
    assert manager.node_labels == "Person:Employee:Manager:Entity:Staff"
    assert manager.match_labels == "Person:Manager"
    assert person.descendants == [r.mapping_for(c) for c in (Employee, Manager, Customer)]
    assert person.family.extra == ("company", "reports", "tier")


def test_the_key_constraint_of_a_hierarchy_is_on_its_root_label_only():
    uniques = [i for i in declared_schema(registry()) if i.kind == "UNIQUE"]
    assert uniques == [SchemaItem("UNIQUE", "NODE", "Person", "id")]


def test_a_row_read_through_the_base_loads_as_the_deepest_known_class():
    r = registry()
    person = r.mapping_for(Person)
    # properties, version, [labels, company, reports, tier]
    row = ["m", "Max", 3, [["Person", "Employee", "Manager", "Intern"], "acme", 4, None]]
    concrete, values = row_values(person, row)
    assert concrete is r.mapping_for(Manager)
    assert values == ("m", "Max", "acme", 4)
    plain = row_values(person, ["p", "Pat", 1, [["Person", "Other"], None, None, None]])
    assert plain == (person, ("p", "Pat"))
    assert projection(person).endswith("[labels(n), n.company, n.reports, n.tier]")
    assert projection(r.mapping_for(Manager)) == "n.id, n.name, n.company, n.reports, " + (
        "coalesce(n.version, 0)"
    )


def test_a_subclass_reads_by_key_on_the_root_label_and_its_own():
    read = by_key(registry().mapping_for(Employee), "e")
    assert read.query.startswith("MATCH (n:Person:Employee {id: $key})")


def test_another_class_of_the_hierarchy_is_named_by_labels():
    r = registry()
    assert foreign_labels(r.mapping_for(Employee), "e") == "NOT e:Employee OR e:Manager"
    assert foreign_labels(r.mapping_for(Person), "e") == "e:Employee OR e:Manager OR e:Customer"
    assert foreign_labels(r.mapping_for(Manager), "e") == "NOT e:Manager"


def test_a_subclass_keeps_its_bases_key_and_version():
    r = Registry()
    r.map(Person, key="id", version="version", exclude=["note", "friends"])
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
    r.map(Person, key="id", exclude=["note"], relationships={"friends": to_many(Person, "KNOWS")})
    with pytest.raises(MappingError, match="already used"):
        r.map(Employee, label="Person")
