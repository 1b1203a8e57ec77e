"""The commit planner: a change set in, one query text and its parameters out. No server."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from domain.model import Account, Money, Person, Transfer
from infrastructure.bank import bank_registry
from infrastructure.persistence import Registry
from infrastructure.persistence.changes import ChangeSet
from infrastructure.persistence.planner import CommitPlan, plan_commit, stale_keys, stale_probe
from infrastructure.persistence.state import UnitState
from tests.integration.graph_support import Person as GraphPerson
from tests.integration.graph_support import graph_registry

E = TypeVar("E")


@pytest.fixture
def unit() -> UnitState:
    return UnitState(bank_registry())


def load(unit: UnitState, entity: E, version: int = 1) -> E:
    """Track ``entity`` as if a read had returned it at ``version``; returns the tracked copy."""
    mapping = unit.registry.mapping_for(type(entity))
    loaded: list[E] = unit.load_rows(mapping, [(*mapping.encode(entity), version)])
    return loaded[0]


def person(name: str = "Ann", age: int | None = 30) -> Person:
    return Person(uuid.uuid4(), name, f"{name.lower()}@example.com", age)


def account(amount: str = "10.00") -> Account:
    return Account(uuid.uuid4(), uuid.uuid4(), Money(Decimal(amount)))


def transfer() -> Transfer:
    return Transfer(
        uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), Money(Decimal("1")), datetime.now(UTC)
    )


PERSON_PROPS = bank_registry().mapping_for(Person).properties


def plan(unit: UnitState) -> CommitPlan:
    planned = plan_commit(unit.changes())
    assert planned is not None
    return planned


def first(text: str, needle: str) -> int:
    at = text.find(needle)
    assert at >= 0, f"{needle!r} not in query"
    return at


def last(text: str, needle: str) -> int:
    at = text.rfind(needle)
    assert at >= 0, f"{needle!r} not in query"
    return at


# -- nothing to do -----------------------------------------------------------------


def test_empty_change_set_plans_no_query() -> None:
    assert plan_commit(ChangeSet()) is None


def test_unchanged_loaded_entities_plan_no_query(unit: UnitState) -> None:
    load(unit, person())
    load(unit, account())
    assert not unit.changes()
    assert plan_commit(unit.changes()) is None


# -- creates -------------------------------------------------------------------------


def test_creates_are_one_block_per_label_whatever_the_row_count(unit: UnitState) -> None:
    people = [person(f"P{i}") for i in range(3)]
    accounts = [account(), account()]
    for entity in (*people, *accounts):
        unit.add(entity)
    planned = plan(unit)
    assert planned.query.count("CREATE (n:Person {") == 1
    assert planned.query.count("CREATE (n:Account {") == 1
    key = PERSON_PROPS.index("id")
    assert [row[key] for row in planned.params["create_Person"]] == [str(p.id) for p in people]
    assert len(planned.params["create_Account"]) == 2


def test_created_rows_carry_every_property_and_start_at_version_one(unit: UnitState) -> None:
    ann = person("Ann", None)
    unit.add(ann)
    unit.add(transfer())
    planned = plan(unit)
    (row,) = planned.params["create_Person"]
    stored = dict(zip(PERSON_PROPS, row, strict=True))
    assert stored == {"id": str(ann.id), "name": "Ann", "email": "ann@example.com", "age": None}
    create = planned.query[first(planned.query, "CREATE (n:Person {") :]
    create = create[: create.index("})")]
    assert create.endswith(", version: 1")  # every create starts at version one
    assert [f"{p}: row[{i}]" in create for i, p in enumerate(PERSON_PROPS)] == [True] * 4
    transfer_create = planned.query[first(planned.query, "CREATE (n:Transfer {") :]
    assert "version" not in transfer_create[: transfer_create.index("})")]  # not versioned


def test_created_keys_are_listed_to_name_duplicates_later(unit: UnitState) -> None:
    a, b = person("A"), person("B")
    unit.add(a)
    unit.add(b)
    ((mapping, keys),) = plan(unit).created
    assert mapping.name == "Person"
    assert keys == (str(a.id), str(b.id))


# -- same shape, same text -------------------------------------------------------------


def _mixed_unit(people: int, accounts_changed: int, deletes: int) -> UnitState:
    unit = UnitState(bank_registry())
    for i in range(people):
        unit.add(person(f"N{i}"))
    for _ in range(accounts_changed):
        load(unit, account()).balance = Money(Decimal("99.99"))
    for _ in range(deletes):
        unit.delete(load(unit, person("Gone")))
    return unit


def test_same_shape_gives_identical_text_whatever_the_values_and_counts() -> None:
    small = plan(_mixed_unit(people=1, accounts_changed=1, deletes=1))
    large = plan(_mixed_unit(people=7, accounts_changed=3, deletes=2))
    assert small.query == large.query
    assert small.params != large.params


def test_a_different_shape_gives_a_different_text() -> None:
    with_deletes = plan(_mixed_unit(people=1, accounts_changed=1, deletes=1))
    without = plan(_mixed_unit(people=1, accounts_changed=1, deletes=0))
    assert with_deletes.query != without.query


def test_blocks_follow_label_order_not_insertion_order() -> None:
    one = UnitState(bank_registry())
    one.add(person())
    one.add(account())
    other = UnitState(bank_registry())
    other.add(account())
    other.add(person())
    assert plan(one).query == plan(other).query
    text = plan(one).query
    assert first(text, "CREATE (n:Account {") < first(text, "CREATE (n:Person {")


# -- updates ---------------------------------------------------------------------------


def test_update_sends_only_the_changed_properties(unit: UnitState) -> None:
    ann = load(unit, person("Ann", 30), version=4)
    ann.age = 31
    planned = plan(unit)
    assert planned.params["update_Person"] == [{"k": str(ann.id), "v": 4, "p": {"age": 31}}]
    assert "create_Person" not in planned.params


def test_update_of_a_value_object_sends_only_the_changed_leaf(unit: UnitState) -> None:
    acc = load(unit, account("10.00"))
    acc.balance = Money(Decimal("12.50"), "EUR")
    (row,) = plan(unit).params["update_Account"]
    assert row["p"] == {"balance_amount": "12.50"}


def test_setting_a_field_to_none_sends_a_null_that_removes_the_property(unit: UnitState) -> None:
    ann = load(unit, person("Ann", 30))
    ann.age = None
    (row,) = plan(unit).params["update_Person"]
    assert row["p"] == {"age": None}


def test_versioned_update_matches_the_version_read_and_bumps_it(unit: UnitState) -> None:
    ann = load(unit, person(), version=7)
    ann.name = "Changed"
    planned = plan(unit)
    text = planned.query
    block = text[first(text, "$update_Person") : first(text, "AS update_Person")]
    assert "WHERE coalesce(n.version, 0) = row.v" in block
    assert "n.version = row.v + 1" in block
    ((batch),) = planned.checked
    assert batch.operation == "update"
    assert batch.rows == ((str(ann.id), 7),)


def test_every_update_and_delete_block_is_counted_by_the_guard(unit: UnitState) -> None:
    for _ in range(3):
        load(unit, account()).balance = Money(Decimal("1"))
    unit.delete(load(unit, person()))
    unit.delete(load(unit, person()))
    planned = plan(unit)
    text = planned.query
    guard = text[first(text, "WITH ") :]
    assert "1 / (CASE WHEN" in guard
    assert "update_Account = $expected[0]" in guard
    assert "size(doomed_Person) = $expected[1]" in guard
    assert planned.params["expected"] == [3, 2]


def test_unversioned_update_has_no_version_match_but_is_still_counted(unit: UnitState) -> None:
    t = load(unit, transfer(), version=0)
    t.amount = Money(Decimal("2"))
    planned = plan(unit)
    text = planned.query
    block = text[first(text, "$update_Transfer") : first(text, "AS update_Transfer")]
    assert "version" not in block
    assert "update_Transfer = $expected[0]" in text  # a vanished node still fails the commit
    assert planned.params["expected"] == [1]


def test_creates_are_guarded_against_keys_already_stored(unit: UnitState) -> None:
    unit.add(person())
    planned = plan(unit)
    text = planned.query
    # Counted before the create, wanted 0: no duplicate even without the key constraint.
    assert "MATCH (e:Person {id: row[0]}) RETURN count(e) AS taken_Person" in text
    assert text.index("taken_Person }") < text.index("CREATE (n:Person")
    assert "taken_Person = $expected[0]" in text
    assert planned.params["expected"] == [0]


# -- deletes -----------------------------------------------------------------------


def test_deletes_come_last(unit: UnitState) -> None:
    unit.add(person("New"))
    unit.add(account())
    load(unit, person("Old")).name = "Renamed"
    unit.delete(load(unit, account()))
    unit.delete(load(unit, transfer(), version=0))
    text = plan(unit).query
    first_delete = first(text, "DETACH DELETE")
    assert last(text, "CREATE (n:") < first_delete
    assert last(text, "SET n += row.p") < first_delete
    assert last(text, "1 / (CASE WHEN") < first_delete
    assert text.count("DETACH DELETE") == 2
    assert text.rstrip().endswith("RETURN 1")


def test_deletes_are_checked_at_the_version_read_before_the_guard(unit: UnitState) -> None:
    gone = load(unit, person(), version=3)
    unit.delete(gone)
    planned = plan(unit)
    assert planned.params["delete_Person"] == [[str(gone.id), 3]]
    text = planned.query
    check = text[: first(text, "AS doomed_Person")]
    assert "WHERE coalesce(n.version, 0) = row[1]" in check[last(check, "CALL") :]
    assert first(text, "doomed_Person") < first(text, "1 / (CASE WHEN")
    ((batch),) = planned.checked
    assert (batch.operation, batch.rows) == ("delete", ((str(gone.id), 3),))


def test_deleting_an_entity_added_in_the_same_unit_plans_nothing(unit: UnitState) -> None:
    p = person()
    unit.add(p)
    unit.delete(p)
    assert plan_commit(unit.changes()) is None


# -- values never become query text ------------------------------------------------------

NASTY = [
    "x'}) DETACH DELETE n //",
    '"}) MATCH (m) DELETE m RETURN 1 //',
    "`Person` {",
    "$evil }) RETURN x",
    "Robert'); MATCH (n) DETACH DELETE n; --",
]


def test_values_travel_as_parameters_never_as_query_text(unit: UnitState) -> None:
    for i, text in enumerate(NASTY):
        p = Person(uuid.uuid4(), text, f"{text}@x", i)
        unit.add(p)
        loaded = load(unit, person())
        loaded.name = text
        loaded.email = text + "!"
        unit.delete(load(unit, Person(uuid.uuid4(), text, text, None)))
    planned = plan(unit)
    for text in NASTY:
        assert text not in planned.query
        assert text[:12] not in planned.query
    sent = repr(planned.params)
    for text in NASTY:
        assert repr(text)[1:-1] in sent


def test_names_in_the_query_are_only_mapped_labels_and_properties(unit: UnitState) -> None:
    unit.add(person("A"))
    load(unit, account()).balance = Money(Decimal("3"))
    unit.delete(load(unit, transfer(), version=0))
    text = plan(unit).query
    registry = unit.registry
    labels = {m.label for m in registry}
    properties = {p for m in registry for p in m.properties} | {"version"}
    assert set(re.findall(r"\(n:(\w+)", text)) <= labels
    assert set(re.findall(r"\bn\.(\w+)", text)) <= properties
    assert "'" not in text  # no literal at all: every value is a parameter
    assert '"' not in text


# -- explaining a conflict ---------------------------------------------------------------


def test_stale_keys_are_the_rows_gone_or_at_another_version(unit: UnitState) -> None:
    kept, moved, gone = (load(unit, person(), version=2) for _ in range(3))
    for p in (kept, moved, gone):
        p.age = 99
    (batch,) = plan(unit).checked
    query, params = stale_probe(batch)
    assert "OPTIONAL MATCH (n:Person" in query
    assert [row["k"] for row in params["rows"]] == [str(p.id) for p in (kept, moved, gone)]
    probe_rows: list[list[Any]] = [
        [str(kept.id), True, 2],
        [str(moved.id), True, 3],
        [str(gone.id), False, 0],
    ]
    assert stale_keys(batch, probe_rows) == [moved.id, gone.id]


def test_stale_keys_of_an_unversioned_batch_are_only_the_vanished(unit: UnitState) -> None:
    here, gone = load(unit, transfer(), version=0), load(unit, transfer(), version=0)
    for t in (here, gone):
        t.amount = Money(Decimal("5"))
    (batch,) = plan(unit).checked
    rows: list[list[Any]] = [[str(here.id), True, 0], [str(gone.id), False, 0]]
    assert stale_keys(batch, rows) == [gone.id]


# -- unique values and the sign of zero ---------------------------------------------------


def graph_unit() -> UnitState:
    return UnitState(graph_registry())


def test_unique_values_an_update_changes_are_cleared_before_any_create() -> None:
    unit = graph_unit()
    ann = load(unit, GraphPerson("ann", "Ann", email="a@x"), version=3)
    bob = load(unit, GraphPerson("bob", "Bob", email="b@x"), version=1)
    ann.email, bob.email = "b@x", "a@x"
    bob.name = "Robert"
    unit.add(GraphPerson("cat", "Cat", email="c@x"))
    planned = plan(unit)
    rows = planned.params["free_Person"]
    assert rows == [
        {"k": "ann", "v": 3, "z": {"email": None}},
        {"k": "bob", "v": 1, "z": {"email": None}},
    ]
    text = planned.query
    block = text[first(text, "$free_Person") : first(text, "AS free_Person")]
    assert "WHERE coalesce(n.version, 0) = row.v" in block
    assert "SET n += row.z" in block
    assert first(text, "$free_Person") < first(text, "$create_Person")
    assert first(text, "$create_Person") < first(text, "$update_Person")
    assert "free_Person" not in text[first(text, "WITH ") :]  # not counted by the guard


def test_no_clearing_block_when_no_unique_value_moves() -> None:
    unit = graph_unit()
    ann = load(unit, GraphPerson("ann", "Ann", email="a@x"))
    ann.name = "Anne"
    assert "free_Person" not in plan(unit).params


def test_a_deleted_entitys_unique_values_are_cleared_first() -> None:
    unit = graph_unit()
    unit.delete(load(unit, GraphPerson("ann", "Ann", email="a@x"), version=2))
    assert plan(unit).params["free_Person"] == [{"k": "ann", "v": 2, "z": {"email": None}}]


def test_a_change_of_the_sign_of_zero_is_cleared_then_set() -> None:
    @dataclass
    class Gauge:
        id: str
        level: float
        other: float = 1.0

    registry = Registry()
    registry.map(Gauge, key="id")
    unit = UnitState(registry)
    gauge = load(unit, Gauge("g", 0.0), version=0)
    gauge.level = -0.0
    planned = plan(unit)
    (row,) = planned.params["update_Gauge"]
    assert row["p"] == {"level": -0.0}
    assert row["z"] == {"level": None}
    assert "SET n += row.z SET n += row.p" in planned.query
    gauge.level, gauge.other = 0.0, 2.0
    (row,) = plan(unit).params["update_Gauge"]
    assert "z" not in row
