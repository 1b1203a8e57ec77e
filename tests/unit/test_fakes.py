"""What only the fakes have: the ``committed`` flag, in-memory twins of custom queries,
and saying what they cannot do.

Everything they share with FalkorDB is checked in ``tests/contract``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pytest

from domain.model import Person
from infrastructure.bank import bank_registry
from infrastructure.bank.fakes import FakeBankUnitOfWork
from infrastructure.fakes import FakeQueryError, FakeStore, FakeUnitOfWork
from infrastructure.persistence import (
    DuplicateKeyError,
    GuardFailure,
    Registry,
    UniqueFailure,
    to_many,
)
from infrastructure.persistence.reads import Read

REGISTRY = bank_registry()


def test_committed_turns_true_only_when_a_commit_succeeds():
    store = FakeStore()
    alice = Person.register("Alice", "a@example.com")
    with FakeBankUnitOfWork(store, REGISTRY) as uow:
        uow.people.add(alice)
        assert not uow.committed
    assert uow.committed
    assert store.commits == 1
    failing = FakeBankUnitOfWork(store, REGISTRY)
    failing.people.add(Person(alice.id, "Twin", "t@example.com"))
    with pytest.raises(DuplicateKeyError):
        failing.commit()
    assert not failing.committed
    assert store.commits == 1


def test_custom_cypher_without_an_in_memory_twin_is_refused_with_what_to_do():
    with (
        FakeBankUnitOfWork(FakeStore(), REGISTRY) as uow,
        pytest.raises(FakeQueryError, match="register an in-memory twin"),
    ):
        uow.people.query("MATCH (n:Person) RETURN n")


def test_a_read_without_an_intent_is_refused_rather_than_guessed_from_its_text():
    with (
        FakeBankUnitOfWork(FakeStore(), REGISTRY) as uow,
        pytest.raises(FakeQueryError, match="intent"),
    ):
        uow.read(Read("MATCH (n:Person) RETURN count(n)", {}))


@dataclass
class Node:
    id: str
    label: str = ""
    links: list[Node] = field(default_factory=list, repr=False, compare=False)


def test_a_twin_answers_with_nodes_that_become_tracked_entities():
    registry = Registry()
    registry.map(Node, key="id", relationships={"links": to_many(Node, "LINK")})
    cypher = "MATCH (n:Node {id: $id})-[:LINK]->(m:Node) RETURN m, n.id"

    def linked(graph, params):
        me = ("Node", params["id"])
        return [[graph.node(ref), params["id"]] for ref in graph.neighbours(me, "LINK")]

    class NodeUnit(FakeUnitOfWork):
        queries = MappingProxyType({cypher: linked})

    store = FakeStore()
    a, b = Node("a"), Node("b")
    a.links.append(b)
    with NodeUnit(store, registry) as uow:
        uow.add(a)
    with NodeUnit(store, registry) as uow:
        rows = uow.repository(Node).query(cypher, id="a")
        held = uow.repository(Node).get("b")
        assert rows == [[held, "a"]]
        assert rows[0][0] is held
        assert uow.repository(Node).get("a").links == [held]  # loaded lazily from the store


def test_clear_forgets_everything_stored():
    store = FakeStore()
    with FakeBankUnitOfWork(store, REGISTRY) as uow:
        ann, ben = Person.register("Ann", "a@example.com"), Person.register("Ben", "b@example.com")
        ann.befriend(ben)
        uow.people.add(ann)
    store.clear()
    with FakeBankUnitOfWork(store, REGISTRY) as uow:
        assert uow.people.count() == 0
        uow.people.add(Person(ann.id, "Ann", "a@example.com"))
    with FakeBankUnitOfWork(store, REGISTRY) as uow:
        assert uow.people.get(ann.id).friendships == []


def prepared(uow: FakeBankUnitOfWork) -> Any:
    """What ``uow``'s next flush would apply (a flush that needs no read)."""
    with pytest.raises(StopIteration) as done:
        next(uow.unit.prepare_flush())
    return done.value.value


def test_the_store_refuses_a_commit_with_the_kind_of_failure_not_server_text():
    store = FakeStore()
    alice = Person.register("Alice", "a@example.com")
    with FakeBankUnitOfWork(store, REGISTRY) as uow:
        uow.people.add(alice)
    twin = FakeBankUnitOfWork(store, REGISTRY)
    twin.people.add(Person(alice.id, "Twin", "t@example.com"))
    with pytest.raises(UniqueFailure, match=r"Person\.id already held"):
        store.apply(prepared(twin).changes)
    stale = FakeBankUnitOfWork(store, REGISTRY)
    stale.people.get(alice.id).name = "Alicia"
    pending = prepared(stale)
    with FakeBankUnitOfWork(store, REGISTRY) as other:
        other.people.get(alice.id).name = "Ally"
    with pytest.raises(GuardFailure) as refused:
        store.apply(pending.changes)
    assert "division by zero" not in refused.value.message
    with FakeBankUnitOfWork(store, REGISTRY) as check:
        assert check.people.get(alice.id).name == "Ally"  # the refused commit wrote nothing
