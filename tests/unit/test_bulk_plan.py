"""Upserts and set-based changes in the commit query, and their arithmetic. No server."""

from __future__ import annotations

from typing import Any

import pytest

from infrastructure.persistence import F, MappingError
from infrastructure.persistence.bulk_plan import plan_bulk
from infrastructure.persistence.planner import CommitPlan, plan_commit
from infrastructure.persistence.state import PendingFlush, UnitState
from tests.integration.graph_support import Account, Person, Transfer, graph_registry


@pytest.fixture
def unit() -> UnitState:
    return UnitState(graph_registry())


def planned(unit: UnitState) -> PendingFlush:
    prepare = unit.prepare_flush()
    with pytest.raises(StopIteration) as done:
        next(prepare)  # nothing to read: the exchange ends at once
    pending: PendingFlush = done.value.value
    assert pending is not None
    return pending


def repo(unit: UnitState, cls: type) -> Any:
    from infrastructure.persistence.repository import RepositoryBase

    return RepositoryBase(unit, unit.registry.mapping_for(cls))


def blocks(plan: CommitPlan) -> list[str]:
    return plan.query.split("\n")


def test_upserts_follow_the_guard_and_set_based_changes_follow_the_deletes(unit):
    deleted = unit.load_rows(unit.registry.mapping_for(Transfer), [("t0", 1, 0)])[0]
    unit.delete(deleted)
    repo(unit, Person).upsert(Person("a", "Ann"))
    repo(unit, Transfer).update_where(F("amount") > 1, amount=F("amount") - 1)
    repo(unit, Account).delete_where(F("balance") == 0)
    plan = planned(unit).plan
    text = blocks(plan)
    at = {
        kind: next(i for i, b in enumerate(text) if marker in b)
        for kind, marker in [
            ("guard", "WITH doomed_Transfer WHERE 1 /"),
            ("upsert", "MERGE (n:Person {id: row[0]})"),
            ("delete", "DETACH DELETE n RETURN count(*) AS done_Transfer"),
            ("update", "SET n.amount = n.amount - $bulk_1_s0"),
            ("restrict", "RETURN held AS bulk_2_held_0"),
            ("delete_where", "DETACH DELETE n RETURN count(k) AS bulk_2,"),
        ]
    }
    assert at["guard"] < at["upsert"] < at["delete"] < at["update"]
    assert at["update"] < at["restrict"] < at["delete_where"]
    assert text[-1] == "RETURN 1, upsert_Person, bulk_1, bulk_1_rows, bulk_2, bulk_2_rows"
    assert plan.params["upsert_Person"] == [("a", "Ann", None, None)]
    assert (plan.params["bulk_1_s0"], plan.params["bulk_1_c0"], plan.params["bulk_2_c0"]) == (
        1,
        1,
        0,
    )


def test_only_tracked_keys_come_back_from_a_set_based_change(unit):
    r = repo(unit, Person)
    r.update_where(F("age") > 1, age=2)
    text = plan_commit(unit.changes(), plan_bulk(tuple(unit.bulk), unit.identity))
    assert text is not None
    assert "[] AS bulk_0_rows" in text.query
    unit.load_rows(unit.registry.mapping_for(Person), [("a", "Ann", None, None, 1)])
    bulk = plan_bulk(tuple(unit.bulk), unit.identity)
    assert bulk is not None
    assert bulk.params["bulk_0_rows_w"] == ["a"]


def test_a_batch_writes_each_key_once_the_last_upsert_winning(unit):
    r = repo(unit, Person)
    r.upsert_many([Person("a", "one"), Person("b", "two"), Person("a", "three")])
    rows = planned(unit).plan.params["upsert_Person"]
    assert [(row[0], row[1]) for row in rows] == [("a", "three"), ("b", "two")]


@pytest.mark.parametrize(
    ("expr", "values", "result"),
    [
        (F("age") + 1, {"age": 2}, 3),
        (1 + F("age"), {"age": 2}, 3),
        (F("age") - 5, {"age": 2}, -3),
        (F("age") * 3, {"age": 2}, 6),
        (F("age") + 1, {}, None),  # null in, null out, as in Cypher
    ],
)
def test_arithmetic_evaluates_as_cypher_does(expr, values, result):
    assert expr.evaluate(values) == result


def test_arithmetic_is_checked_against_the_field_types(unit):
    r = repo(unit, Person)
    with pytest.raises(MappingError, match="operand"):
        r.update_where(F("age") > 1, age=F("age") + True)
    with pytest.raises(MappingError, match="str"):
        r.update_where(F("age") > 1, age=F("name") * 2)
    assert unit.bulk == []
