"""Upserts and set-based updates: the layer against the raw client's own MERGE and SET.

``upsert`` writes n people of whom half are stored already (with another age);
``update_where`` adds one to the age of n stored people without loading them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from domain.model import Person
from infrastructure.bank import BankUnitOfWork
from infrastructure.persistence import F, Registry

from . import data

RAW_UPSERT = (
    "UNWIND $rows AS row MERGE (n:Person {id: row.id}) "
    "ON CREATE SET n.name = row.name, n.email = row.email, n.age = row.age, n.version = 1 "
    "ON MATCH SET n.name = row.name, n.email = row.email, n.age = row.age, "
    "n.version = n.version + 1"
)
RAW_UPDATE_WHERE = (
    "MATCH (n:Person) WHERE n.age >= $low SET n.age = n.age + 1, n.version = n.version + 1"
)


def upsert_case(n: int, registry: Registry) -> Any:
    def setup(graph: Any) -> list[Person]:
        people = data.make_people(n)
        data.store_people(graph, people[: n // 2])
        return [dataclasses.replace(p, age=(p.age or 0) + 1) for p in people]

    def ours(graph: Any, people: list[Person]) -> None:
        with BankUnitOfWork(graph, registry) as uow:
            uow.people.upsert_many(people)

    def raw(graph: Any, people: list[Person]) -> None:
        rows = [{"id": str(p.id), "name": p.name, "email": p.email, "age": p.age} for p in people]
        graph.query(RAW_UPSERT, {"rows": rows})

    return setup, ours, raw


def update_where_case(n: int, registry: Registry) -> Any:
    def setup(graph: Any) -> None:
        data.store_people(graph, data.make_people(n))

    def ours(graph: Any, _: None) -> None:
        with BankUnitOfWork(graph, registry) as uow:
            uow.people.update_where(F("age") >= 0, age=F("age") + 1)

    def raw(graph: Any, _: None) -> None:
        graph.query(RAW_UPDATE_WHERE, {"low": 0})

    return setup, ours, raw
