"""What only the fakes have: the ``committed`` flag, and saying what they cannot do.

Everything they share with FalkorDB is checked in ``tests/contract``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from domain.model import Person
from infrastructure.bank import bank_registry
from infrastructure.fakes import FakeBankUnitOfWork, FakeQueryError, FakeStore, FakeUnitOfWork
from infrastructure.persistence import DuplicateKeyError, MappingError, Registry
from infrastructure.persistence.relationships import to_many

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


def test_custom_cypher_is_refused_with_what_to_do_instead():
    with (
        FakeBankUnitOfWork(FakeStore(), REGISTRY) as uow,
        pytest.raises(FakeQueryError, match="fake twin"),
    ):
        uow.people.query("MATCH (n:Person) RETURN n")


@dataclass
class Node:
    id: str
    links: list[Node] = field(default_factory=list)


def test_mappings_with_relationships_are_refused_up_front():
    registry = Registry()
    registry.map(Node, key="id", relationships={"links": to_many(Node, "LINK")})
    with pytest.raises(MappingError, match="Node maps relationships"):
        FakeUnitOfWork(FakeStore(), registry)


def test_clear_forgets_everything_stored():
    store = FakeStore()
    with FakeBankUnitOfWork(store, REGISTRY) as uow:
        uow.people.add(Person.register("Alice", "a@example.com"))
    store.clear()
    with FakeBankUnitOfWork(store, REGISTRY) as uow:
        assert uow.people.count() == 0
