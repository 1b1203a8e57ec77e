"""The declared schema (keys, unique constraints, node and edge indexes) on a real graph."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from infrastructure.persistence import (
    DuplicateKeyError,
    MappingError,
    Registry,
    SchemaError,
    SchemaItem,
    UnitOfWork,
    describe_schema,
    ensure_key_constraints,
    ensure_schema,
    to_many,
)
from infrastructure.persistence.schema import format_report
from tests.integration.graph_support import Person, Pet, graph_registry

DECLARED = [
    SchemaItem("RANGE", "NODE", "Person", "age"),
    SchemaItem("RANGE", "RELATIONSHIP", "FRIEND", "since"),
    SchemaItem("UNIQUE", "NODE", "Account", "id"),
    SchemaItem("UNIQUE", "NODE", "Person", "email"),
    SchemaItem("UNIQUE", "NODE", "Person", "id"),
    SchemaItem("UNIQUE", "NODE", "Pet", "id"),
    SchemaItem("UNIQUE", "NODE", "Transfer", "id"),
]


def constraint_states(graph: Any) -> dict[str, str]:
    return {f"{c['label']}.{c['properties'][0]}": c["status"] for c in graph.list_constraints()}


def range_indexes(graph: Any) -> set[tuple[str, str, str]]:
    rows = graph.list_indices().result_set
    return {
        (row[6], row[0], prop) for row in rows for prop in row[1] if "RANGE" in row[2].get(prop, [])
    }


def test_ensure_schema_creates_what_is_declared_and_returns_once_it_is_operational(
    graph: Any,
) -> None:
    graph.query("UNWIND range(1, 3000) AS i CREATE (:Person {id: 'p' + toString(i), age: i})")
    report = ensure_schema(graph, graph_registry())
    assert report.declared == DECLARED
    assert report.created == DECLARED
    assert report.missing == []
    assert report.undeclared == []
    assert report.in_sync
    assert constraint_states(graph) == {
        "Account.id": "OPERATIONAL",
        "Person.email": "OPERATIONAL",
        "Person.id": "OPERATIONAL",
        "Pet.id": "OPERATIONAL",
        "Transfer.id": "OPERATIONAL",
    }
    assert {
        ("NODE", "Person", "age"),
        ("RELATIONSHIP", "FRIEND", "since"),
    } <= range_indexes(graph)


def test_ensure_schema_is_idempotent(graph: Any) -> None:
    registry = graph_registry()
    ensure_schema(graph, registry)
    again = ensure_schema(graph, registry)
    assert again.created == []
    assert again.declared == DECLARED
    assert again.in_sync
    assert len(graph.list_constraints()) == 5


def test_describe_schema_reports_without_changing_anything(graph: Any) -> None:
    registry = graph_registry()
    graph.query("CREATE (:Person {id: 'p1'})")  # the graph exists, with no schema
    report = describe_schema(graph, registry)
    assert report.missing == DECLARED
    assert report.created == []
    assert not report.in_sync
    assert graph.list_constraints() == []
    assert range_indexes(graph) == set()
    assert describe_schema(graph, registry).missing == DECLARED
    ensure_schema(graph, registry)
    assert describe_schema(graph, registry).in_sync


def test_describe_schema_of_a_graph_that_does_not_exist_yet(graph: Any) -> None:
    report = describe_schema(graph, graph_registry())
    assert report.missing == DECLARED
    assert report.undeclared == []


def test_indexes_the_mapping_does_not_declare_are_reported_and_kept(graph: Any) -> None:
    registry = graph_registry()
    ensure_schema(graph, registry)
    graph.create_node_range_index("Person", "name")
    graph.create_edge_range_index("FOLLOWS", "weight")
    graph.create_node_unique_constraint("Pet", "name")
    report = ensure_schema(graph, registry)
    assert report.undeclared == [
        SchemaItem("RANGE", "NODE", "Person", "name"),
        SchemaItem("RANGE", "RELATIONSHIP", "FOLLOWS", "weight"),
        SchemaItem("UNIQUE", "NODE", "Pet", "name"),
    ]
    assert report.created == []
    assert report.missing == []
    assert not report.in_sync
    assert {("NODE", "Person", "name"), ("RELATIONSHIP", "FOLLOWS", "weight")} <= range_indexes(
        graph
    )
    lines = list(format_report(report))
    assert "present  UNIQUE (:Person).id" in lines
    assert "undeclared  RANGE [:FOLLOWS].weight (in the graph, not in the mapping)" in lines


def test_a_unique_constraint_over_duplicates_fails_clearly_and_is_built_once_they_are_fixed(
    graph: Any,
) -> None:
    graph.query(
        "CREATE (:Person {id: 'a', email: 'same@example.com'}), "
        "(:Person {id: 'b', email: 'same@example.com'})"
    )
    with pytest.raises(SchemaError, match=r"UNIQUE \(:Person\)\.email.*remove the duplicates"):
        ensure_schema(graph, graph_registry())
    graph.query("MATCH (n:Person {id: 'b'}) SET n.email = 'b@example.com'")
    report = ensure_schema(graph, graph_registry())
    assert report.created == [SchemaItem("UNIQUE", "NODE", "Person", "email")]
    assert report.in_sync
    assert constraint_states(graph)["Person.email"] == "OPERATIONAL"


def test_declared_unique_properties_make_a_colliding_commit_fail(graph: Any) -> None:
    registry = graph_registry()
    ensure_key_constraints(graph, registry)  # the older name does the same
    assert describe_schema(graph, registry).in_sync
    with UnitOfWork(graph, registry) as uow:
        uow.add(Person("ann", "Ann", email="shared@example.com"))
    with pytest.raises(DuplicateKeyError), UnitOfWork(graph, registry) as uow:
        uow.add(Person("bob", "Bob", email="shared@example.com"))
    assert graph.ro_query("MATCH (n:Person) RETURN n.id").result_set == [["ann"]]


def test_indexes_must_name_stored_properties() -> None:
    with pytest.raises(MappingError, match="nickname"):
        Registry().map(Pet, key="id", exclude=["owner"], indexes=["nickname"])
    with pytest.raises(MappingError, match="nickname"):
        Registry().map(Pet, key="id", exclude=["owner"], unique=["nickname"])
    with pytest.raises(MappingError, match=r"indexes name no edge property: \['weight'\]"):
        Registry().map(
            Person,
            key="id",
            exclude=["friendships", "followers", "pets"],
            relationships={"follows": to_many(Person, "FOLLOWS", indexes=["weight"])},
        )


def test_units_of_several_processes_ensuring_one_schema_at_once_all_succeed(
    database: Any, registry: Registry
) -> None:
    """``serve`` and ``seed`` started together both create the same indexes: neither fails."""
    for round_ in range(4):
        graph = database.graph(f"schema_race_{round_}_{uuid.uuid4().hex[:6]}")
        barrier = threading.Barrier(4)
        failures: list[BaseException] = []

        def ensure(
            graph: Any = graph,
            barrier: threading.Barrier = barrier,
            failures: list[BaseException] = failures,
        ) -> None:
            barrier.wait()
            try:
                ensure_schema(graph, registry)
            except BaseException as exc:  # collected: the assertion below names it
                failures.append(exc)

        threads = [threading.Thread(target=ensure) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        try:
            assert failures == []
            assert describe_schema(graph, registry).missing == []
        finally:
            graph.delete()
