"""Class hierarchies, on the fakes and on FalkorDB alike.

``Employee(Person)`` mapped after ``Person`` is stored ``:Person:Employee``;
reads through ``Person`` load every node as the deepest mapped class its
labels name, through one identity map keyed on ``Person``; keys are unique
across the hierarchy; reads through a subclass see only it and its own
subclasses (README, "Class hierarchies").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from infrastructure.persistence import (
    DuplicateKeyError,
    EntityNotFoundError,
    F,
    IdentityConflictError,
    Registry,
    to_many,
)
from tests.contract.test_edges_contract import refused
from tests.mappings import registry_of
from tests.units import FOUR_WAYS, Units, stored, units_of


@dataclass
class Person:
    id: str
    name: str
    age: int | None = None
    friends: list[Person] = field(default_factory=list)
    email: str | None = None
    version: int = 0


@dataclass
class Employee(Person):
    company: str = ""


@dataclass
class Manager(Employee):
    reports: int = 0
    team: list[Employee] = field(default_factory=list)


@dataclass
class Customer(Person):
    tier: str = "basic"


def hierarchy_registry() -> Registry:
    """Person <- Employee <- Manager, and Customer <- Person: each mapped with no options
    but its own relationships (a subclass inherits the rest)."""
    registry = registry_of(Person, unique=["email"], relationships={"friends": friends()})
    registry.map(Employee)
    registry.map(Manager, relationships={"team": to_many(Employee, "MANAGES")})
    registry.map(Customer)
    return registry


def friends() -> Any:
    return to_many(Person, "KNOWS")


#: What ``seed`` stores, as ``described`` lists it in key order.
SEEDED = [("Customer", "c"), ("Employee", "e"), ("Manager", "m"), ("Person", "p")]


@pytest.fixture(params=FOUR_WAYS)
def hbe(request: pytest.FixtureRequest) -> Units:
    """Units of the hierarchy, on a graph with the schema (``ensure_schema``)."""
    return units_of(request, hierarchy_registry())


@pytest.fixture(params=FOUR_WAYS)
def bare(request: pytest.FixtureRequest) -> Units:
    """Units of the hierarchy on a graph without any constraint or index."""
    return units_of(request, hierarchy_registry(), prepare=lambda graph, registry: None)


def write_raw(units: Units, labels: list[str], props: dict[str, Any]) -> None:
    """Store a node as another client would (``labels``: the root's first)."""
    if units.store is not None:
        units.store.put(labels[0], props["id"], props, labels[1:])
        return
    units.graph.query(f"CREATE (n:{':'.join(labels)}) SET n += $props", {"props": props})


def link_raw(units: Units, a: tuple[str, str], b: tuple[str, str]) -> None:
    """A KNOWS edge another client writes, naming each node by a label and its key."""
    if units.store is not None:
        units.store.put_edge("KNOWS", a, b)
        return
    units.graph.query(
        f"MATCH (a:{a[0]} {{id: $a}}), (b:{b[0]} {{id: $b}}) CREATE (a)-[:KNOWS]->(b)",
        {"a": a[1], "b": b[1]},
    )


async def seed(units: Units) -> None:
    await stored(
        units,
        Person("p", "Pat", age=50),
        Employee("e", "Eve", age=30, company="acme"),
        Manager("m", "Max", age=40, company="acme", reports=3),
        Customer("c", "Cy", age=20, tier="gold"),
    )


def described(entities: list[Any]) -> list[tuple[str, str]]:
    return [(type(e).__name__, e.id) for e in entities]


async def test_the_base_repository_loads_every_node_as_its_own_class(hbe):
    await seed(hbe)
    async with hbe.unit() as uow:
        found = await hbe.io(uow.repository(Person).find(order_by="id"))
        assert described(found) == SEEDED
        manager = found[2]
        # Every field of the subclass is loaded, though read through the base.
        assert (manager.company, manager.reports, manager.age) == ("acme", 3, 40)
        assert found[0].tier == "gold"


async def test_one_key_is_one_object_whichever_repository_loads_it(hbe):
    await seed(hbe)
    async with hbe.unit() as uow:
        people, employees = uow.repository(Person), uow.repository(Employee)
        managers = uow.repository(Manager)
        through_base = await hbe.io(people.get("m"))
        assert through_base is await hbe.io(employees.get("m"))
        assert through_base is await hbe.io(managers.get("m"))
        first = await hbe.io(employees.find(order_by="id"))
        assert first[1] is through_base
        again = await hbe.io(people.get_many(["e", "m"]))
        assert again == first
        assert again[0] is first[0]


async def test_a_subclass_repository_sees_only_it_and_its_own_subclasses(hbe):
    await seed(hbe)
    async with hbe.unit() as uow:
        employees, managers = uow.repository(Employee), uow.repository(Manager)
        customers, people = uow.repository(Customer), uow.repository(Person)
        assert described(await hbe.io(employees.find(order_by="id"))) == [
            ("Employee", "e"),
            ("Manager", "m"),
        ]
        assert described(await hbe.io(managers.find())) == [("Manager", "m")]
        assert described(await hbe.io(customers.find())) == [("Customer", "c")]
        assert await hbe.io(people.count()) == 4
        assert await hbe.io(employees.count()) == 2
        assert await hbe.io(managers.count(F("reports") > 1)) == 1
        assert await hbe.io(employees.count(F("age") > 35)) == 1
        page = await hbe.io(employees.page(order_by="-age", number=1, size=1))
        assert (described(page.items), page.total) == ([("Manager", "m")], 2)
        # Keys of parents and siblings are not found through a subclass.
        assert await hbe.io(employees.get_or_none("p")) is None
        assert await hbe.io(employees.get_or_none("c")) is None
        assert not await hbe.io(managers.exists("e"))
        with pytest.raises(EntityNotFoundError):
            await hbe.io(employees.get_many(["e", "c"]))


async def test_a_parent_loaded_first_is_not_found_through_a_subclass(hbe):
    await seed(hbe)
    async with hbe.unit() as uow:
        pat = await hbe.io(uow.repository(Person).get("p"))
        assert type(pat) is Person
        assert await hbe.io(uow.repository(Employee).get_or_none("p")) is None
        with pytest.raises(EntityNotFoundError):
            await hbe.io(uow.repository(Customer).get("e"))


async def test_nodes_another_client_wrote_with_both_labels_load_as_the_subclass(hbe):
    write_raw(hbe, ["Person", "Employee"], {"id": "r1", "name": "Raw", "company": "x"})
    write_raw(hbe, ["Person", "Employee", "Manager"], {"id": "r2", "name": "Boss", "reports": 2})
    # A label no mapping declares: the deepest known class.
    write_raw(hbe, ["Person", "Employee", "Intern"], {"id": "r3", "name": "New"})
    write_raw(hbe, ["Person"], {"id": "r4", "name": "Plain"})
    async with hbe.unit() as uow:
        found = await hbe.io(uow.repository(Person).find(order_by="id"))  # r1, r2, r3, r4
        assert [type(p).__name__ for p in found] == ["Employee", "Manager", "Employee", "Person"]
        assert found[0].company == "x"
        assert found[1].reports == 2
        assert found[2].company == ""  # absent: the field's default
        assert await hbe.io(uow.repository(Employee).count()) == 3


async def test_edges_another_client_wrote_load_between_subclass_entities(hbe):
    await seed(hbe)
    link_raw(hbe, ("Employee", "e"), ("Manager", "m"))
    link_raw(hbe, ("Manager", "m"), ("Person", "c"))
    async with hbe.unit() as uow:
        eve, max_ = await hbe.io(uow.repository(Person).get_many(["e", "m"], load=["friends"]))
        assert eve.friends == [max_]
        assert described(max_.friends) == [("Customer", "c")]


async def test_changes_to_a_subclass_entity_loaded_through_the_base_are_committed(hbe):
    await seed(hbe)
    async with hbe.unit() as uow:
        max_ = await hbe.io(uow.repository(Person).get("m"))
        max_.reports = 7
        max_.name = "Maxine"
    async with hbe.unit() as uow:
        again = await hbe.io(uow.repository(Manager).get("m"))
        assert (again.name, again.reports, again.company, again.version) == (
            "Maxine",
            7,
            "acme",
            2,
        )


async def test_a_subclass_added_through_the_base_repository_is_stored_as_itself(hbe):
    async with hbe.unit() as uow:
        uow.repository(Person).add(Manager("n", "Nia", company="z", reports=1))
    async with hbe.unit() as uow:
        assert described(await hbe.io(uow.repository(Employee).find())) == [("Manager", "n")]
    with pytest.raises(TypeError):
        async with hbe.unit() as uow:
            uow.repository(Employee).add(Customer("x", "X"))


async def test_a_key_a_person_holds_is_refused_for_an_employee(hbe):
    await stored(hbe, Person("k", "Kim"))
    uow = hbe.new_unit()
    uow.add(Person("other", "Written with it"))
    uow.add(Employee("k", "Twin", company="acme"))
    error = await refused(hbe, uow, DuplicateKeyError)
    assert "Employee['k']" in str(error)
    async with hbe.unit() as uow:  # nothing of the commit was written
        found = await hbe.io(uow.repository(Person).find())
        assert described(found) == [("Person", "k")]


async def test_keys_are_unique_across_the_hierarchy_without_the_schema(bare):
    await stored(bare, Manager("k", "Kim"))
    for twin in (Person("k", "P"), Customer("k", "C"), Employee("k", "E")):
        uow = bare.new_unit()
        uow.add(twin)
        await refused(bare, uow, DuplicateKeyError)
    uow = bare.new_unit()
    uow.repository(Employee).upsert(Employee("k", "Upserted as an Employee"))
    await refused(bare, uow, DuplicateKeyError)
    async with bare.unit() as uow:
        found = await bare.io(uow.repository(Person).find())
        assert described(found) == [("Manager", "k")]
        assert found[0].name == "Kim"


async def test_one_unit_refuses_a_second_class_under_a_tracked_key(hbe):
    await seed(hbe)
    async with hbe.unit() as uow:
        await hbe.io(uow.repository(Person).get("p"))
        with pytest.raises(IdentityConflictError):
            uow.add(Employee("p", "Clash"))


async def test_a_subclass_entity_is_deleted_through_the_base_repository(hbe):
    await seed(hbe)
    async with hbe.unit() as uow:
        people = uow.repository(Person)
        people.remove(await hbe.io(people.get("e")))
    async with hbe.unit() as uow:
        assert described(await hbe.io(uow.repository(Employee).find())) == [("Manager", "m")]
        assert await hbe.io(uow.repository(Person).count()) == 3


async def test_relationships_hold_and_load_subclass_entities(hbe):
    await seed(hbe)
    async with hbe.unit() as uow:
        eve = await hbe.io(uow.repository(Employee).get("e", load=["friends"]))
        others = await hbe.io(uow.repository(Person).get_many(["m", "c", "p"]))
        eve.friends = others
    async with hbe.unit() as uow:
        eve = await hbe.io(uow.repository(Person).get("e", load=["friends"]))
        assert type(eve) is Employee
        assert sorted(described(eve.friends)) == [
            ("Customer", "c"),
            ("Manager", "m"),
            ("Person", "p"),
        ]
        assert eve.friends[0] is await hbe.io(uow.repository(Person).get(eve.friends[0].id))


async def test_upserts_write_each_class_and_refuse_a_key_of_another(hbe):
    await seed(hbe)
    async with hbe.unit() as uow:
        uow.repository(Employee).upsert(Employee("e", "Eve", age=31, company="acme"))
        uow.repository(Person).upsert(Manager("n", "Nia", reports=2))
    async with hbe.unit() as uow:
        eve = await hbe.io(uow.repository(Person).get("e"))
        nia = await hbe.io(uow.repository(Person).get("n"))
        assert (type(eve), eve.age, eve.version) == (Employee, 31, 2)
        assert (type(nia), nia.reports, nia.version) == (Manager, 2, 1)
    for wrong in (Employee("p", "Not an employee"), Person("e", "Not a plain person")):
        uow = hbe.new_unit()
        uow.repository(type(wrong)).upsert(wrong)
        uow.add(Person("z", "Written with it"))
        error = await refused(hbe, uow, DuplicateKeyError)
        assert "another class" in str(error)
    async with hbe.unit() as uow:
        assert await hbe.io(uow.repository(Person).count()) == 5
        assert type(await hbe.io(uow.repository(Person).get("p"))) is Person
        assert (await hbe.io(uow.repository(Person).get("e"))).name == "Eve"


async def test_set_based_changes_cover_the_base_or_only_the_subclass(hbe):
    await seed(hbe)
    async with hbe.unit() as uow:
        max_ = await hbe.io(uow.repository(Person).get("m"))
        everyone = uow.repository(Person).update_where(F("age") >= 0, age=F("age") + 1)
        staff = uow.repository(Employee).update_where(F("company") == "acme", company="ACME")
    assert (everyone.count, staff.count) == (4, 2)
    assert (max_.age, max_.company, max_.version) == (41, "ACME", 3)  # tracked: kept coherent
    async with hbe.unit() as uow:
        gone = uow.repository(Employee).delete_where(F("age") > 0)
    assert gone.count == 2
    async with hbe.unit() as uow:
        found = await hbe.io(uow.repository(Person).find(order_by="id"))
        assert [(type(p).__name__, p.age) for p in found] == [("Customer", 21), ("Person", 51)]


async def test_queries_through_the_base_see_pending_subclass_entities(hbe):
    await seed(hbe)
    async with hbe.unit() as uow:
        people, employees = uow.repository(Person), uow.repository(Employee)
        eve = await hbe.io(employees.get("e"))
        eve.age = 99
        uow.add(Manager("n", "Nia", age=60, company="z"))
        old = await hbe.io(people.find(F("age") > 55, order_by="-age"))
        assert described(old) == [("Employee", "e"), ("Manager", "n")]
        assert await hbe.io(people.count(F("age") > 55)) == 2
        assert await hbe.io(employees.count()) == 3
        assert described(await hbe.io(uow.repository(Customer).find(F("age") > 55))) == []


async def test_merge_and_refresh_keep_the_class_of_the_key(hbe):
    await seed(hbe)
    async with hbe.unit() as uow:
        kept = await hbe.io(uow.repository(Person).get("m"))
    detached = Manager("m", "Max", age=41, company="acme", reports=9, version=kept.version)
    async with hbe.unit() as uow:
        merged = await hbe.io(uow.merge(detached))
        assert merged is await hbe.io(uow.repository(Person).get("m"))
    async with hbe.unit() as uow:
        again = await hbe.io(uow.repository(Person).get("m"))
        assert (type(again), again.reports) == (Manager, 9)
        again.reports = 0
        await hbe.io(uow.refresh(again))
        assert again.reports == 9
        with pytest.raises(IdentityConflictError):
            await hbe.io(uow.merge(Customer("m", "Not a customer")))
    # Not loaded (it is no Employee): merged as new, and the commit refuses the key.
    uow = hbe.new_unit()
    await hbe.io(uow.merge(Employee("c", "Stored as a customer")))
    await refused(hbe, uow, DuplicateKeyError)


async def test_relationships_of_the_base_and_of_a_subclass_load_later(hbe):
    await seed(hbe)
    async with hbe.unit() as uow:
        eve = await hbe.io(uow.repository(Employee).get("e", load=["friends"]))
        max_ = await hbe.io(uow.repository(Manager).get("m", load=["team"]))
        eve.friends = [max_]
        max_.team = [eve]  # a relationship only Manager declares
    async with hbe.unit() as uow:
        found = await hbe.io(uow.repository(Person).find(order_by="id"))
        await hbe.io(uow.repository(Person).load_related(found, "friends"))
        managers = [p for p in found if isinstance(p, Manager)]
        await hbe.io(uow.repository(Manager).load_related(managers, "team"))
        by_id = {p.id: p for p in found}
        assert by_id["e"].friends == [by_id["m"]]
        assert by_id["e"].friends[0] is by_id["m"]
        assert by_id["c"].friends == []
        assert described(managers[0].team) == [("Employee", "e")]
        assert managers[0].team[0] is by_id["e"]


async def test_a_unique_property_of_the_base_is_unique_across_the_hierarchy(hbe):
    await stored(hbe, Person("p", "Pat", email="a@x"), Employee("e", "Eve", email="b@x"))
    uow = hbe.new_unit()
    uow.add(Manager("m", "Max", email="a@x"))
    await refused(hbe, uow, DuplicateKeyError)
    async with hbe.unit() as uow:  # a swap across classes commits
        pat = await hbe.io(uow.repository(Person).get("p"))
        eve = await hbe.io(uow.repository(Person).get("e"))
        pat.email, eve.email = eve.email, pat.email
    async with hbe.unit() as uow:
        found = await hbe.io(uow.repository(Person).find(order_by="id"))
        assert [(p.id, p.email) for p in found] == [("e", "a@x"), ("p", "b@x")]
