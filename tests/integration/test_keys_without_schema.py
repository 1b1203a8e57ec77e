"""Keys stay unique on a graph where ``ensure_schema`` never ran (no key constraint)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from infrastructure.persistence import (
    AsyncUnitOfWork,
    ConcurrencyError,
    DuplicateKeyError,
    Registry,
    UnitOfWork,
    describe_schema,
    ensure_schema,
)


@dataclass
class Tag:
    id: str
    name: str = ""


def tags() -> Registry:
    registry = Registry()
    registry.map(Tag, key="id")
    return registry


def stored_count(graph: Any) -> int:
    return int(graph.ro_query("MATCH (n:Tag) RETURN count(n)").result_set[0][0])


def test_a_stored_key_is_refused_without_the_key_constraint(graph: Any) -> None:
    registry = tags()
    with UnitOfWork(graph, registry) as uow:
        uow.add(Tag("t1", "first"))
    assert describe_schema(graph, registry).missing  # no constraint: nothing ensured it
    uow = UnitOfWork(graph, registry)
    uow.add(Tag("t2"))
    uow.add(Tag("t1", "second"))
    with pytest.raises(DuplicateKeyError, match=r"Tag\['t1'\] already exists"):
        uow.commit()
    assert stored_count(graph) == 1
    with UnitOfWork(graph, registry) as uow:
        assert uow.repository(Tag).get("t1").name == "first"
        assert uow.repository(Tag).get_or_none("t2") is None  # the whole commit was refused


async def test_an_async_unit_refuses_a_stored_key_too(
    graph: Any, async_client: Any, graph_name: str
) -> None:
    registry = tags()
    graph.query("CREATE (:Tag {id: 't1', name: 'raw'})")
    uow = AsyncUnitOfWork(async_client.select_graph(graph_name), registry)
    uow.add(Tag("t1"))
    with pytest.raises(DuplicateKeyError):
        await uow.commit()
    assert stored_count(graph) == 1


def test_units_racing_to_create_one_key_store_it_once(graph: Any) -> None:
    registry = tags()
    # The label and its key property exist (see the next test for a graph that never held one).
    with UnitOfWork(graph, registry) as uow:
        uow.add(Tag("first"))

    def create(i: int) -> bool:
        try:
            with UnitOfWork(graph, registry) as uow:
                uow.add(Tag("same", f"by {i}"))
        except DuplicateKeyError:
            return False
        return True

    with ThreadPoolExecutor(6) as pool:
        won = list(pool.map(create, range(12)))
    assert won.count(True) == 1
    assert stored_count(graph) == 2


def test_racing_first_creates_of_a_label_the_graph_never_held_need_the_constraint(
    graph: Any,
) -> None:
    """FalkorDB plans a commit against the labels known on arrival: the documented limit."""
    registry = tags()
    ensure_schema(graph, registry)  # the key constraint: the server itself refuses the second
    barrier = threading.Barrier(6)

    def create(i: int) -> bool:
        barrier.wait()
        try:
            with UnitOfWork(graph, registry) as uow:
                uow.add(Tag("same", f"by {i}"))
        except (DuplicateKeyError, ConcurrencyError):
            return False
        return True

    with ThreadPoolExecutor(6) as pool:
        won = list(pool.map(create, range(6)))
    assert won.count(True) == 1
    assert stored_count(graph) == 1
