"""Bench data from the example domain, and the raw queries that store and read it.

People are ``domain.model.Person`` (stored: id, name, email, age, version);
accounts are ``domain.model.Account`` (stored: id, owner_id, balance_amount,
balance_currency, version). The raw side stores exactly what the layer
stores, so both sides read and write the same graph shape.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.model import Account, Money, Person

PERSON_COLUMNS = "n.id, n.name, n.email, n.age, n.version"
ACCOUNT_COLUMNS = "n.id, n.balance_amount, n.balance_currency, n.version"

CREATE_PEOPLE = (
    "UNWIND $rows AS row CREATE (:Person {id: row.id, name: row.name, email: row.email, "
    "age: row.age, version: row.version})"
)
GET_PEOPLE = f"UNWIND $keys AS k MATCH (n:Person {{id: k}}) RETURN {PERSON_COLUMNS}"
LIST_PEOPLE = f"MATCH (n:Person) RETURN {PERSON_COLUMNS}"
SET_AGES = "UNWIND $rows AS row MATCH (n:Person {id: row.k}) SET n.age = row.age"
DELETE_PEOPLE = "UNWIND $keys AS k MATCH (n:Person {id: k}) DETACH DELETE n"
SET_AGES_VERSIONED = (
    "UNWIND $rows AS row MATCH (n:Person {id: row.k}) WHERE n.version = row.v "
    "SET n.age = row.age, n.version = row.v + 1"
)
DELETE_PEOPLE_VERSIONED = (
    "UNWIND $rows AS row MATCH (n:Person {id: row.k}) WHERE n.version = row.v DETACH DELETE n"
)

CREATE_ACCOUNTS = (
    "UNWIND $rows AS row CREATE (:Account {id: row.id, owner_id: row.owner_id, "
    "balance_amount: row.balance_amount, balance_currency: row.balance_currency, "
    "version: row.version})"
)
GET_ACCOUNTS = f"UNWIND $keys AS k MATCH (n:Account {{id: k}}) RETURN {ACCOUNT_COLUMNS}"
# The raw side's optimistic write: move both balances only if neither changed since read.
MOVE_MONEY = (
    "UNWIND $rows AS row MATCH (n:Account {id: row.k}) WHERE n.version = row.v "
    "SET n.balance_amount = row.a, n.version = row.v + 1 RETURN count(n)"
)
ACCOUNT_TOTALS = "MATCH (n:Account) RETURN count(n), sum(n.version), collect(n.balance_amount)"

OPENING_BALANCE = Decimal("1000.00")
AMOUNT = Money(Decimal("1.00"))


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def make_people(n: int, seed: int = 7) -> list[Person]:
    rng = random.Random(seed)
    return [
        Person(id=_uuid(rng), name=f"person {i}", email=f"p{i}@example.com", age=20 + i % 60)
        for i in range(n)
    ]


def person_rows(people: list[Person]) -> list[dict[str, Any]]:
    """What the raw side sends for new people (the layer stores the same, version 1)."""
    return [
        {"id": str(p.id), "name": p.name, "email": p.email, "age": p.age, "version": 1}
        for p in people
    ]


def store_people(graph: Any, people: list[Person]) -> None:
    graph.query(CREATE_PEOPLE, {"rows": person_rows(people)})


@dataclass(frozen=True, slots=True)
class Bank:
    """Accounts opened with the same balance, and the transfers to run between them."""

    accounts: list[Account]
    pairs: list[tuple[uuid.UUID, uuid.UUID]]

    @property
    def total(self) -> Decimal:
        return OPENING_BALANCE * len(self.accounts)


def make_bank(accounts: int, transfers: int, seed: int = 11) -> Bank:
    rng = random.Random(seed)
    opened = [
        Account(id=_uuid(rng), owner_id=_uuid(rng), balance=Money(OPENING_BALANCE))
        for _ in range(accounts)
    ]
    pairs = []
    for _ in range(transfers):
        source, target = rng.sample(opened, 2)
        pairs.append((source.id, target.id))
    return Bank(opened, pairs)


def store_accounts(graph: Any, bank: Bank) -> None:
    rows = [
        {
            "id": str(a.id),
            "owner_id": str(a.owner_id),
            "balance_amount": str(a.balance.amount),
            "balance_currency": a.balance.currency,
            "version": 1,
        }
        for a in bank.accounts
    ]
    graph.query(CREATE_ACCOUNTS, {"rows": rows})


def bank_consistent(graph: Any, bank: Bank, transfers_done: int) -> bool:
    """Money is conserved and every transfer bumped exactly two versions."""
    count, versions, amounts = graph.ro_query(ACCOUNT_TOTALS).result_set[0]
    return (
        count == len(bank.accounts)
        and versions == len(bank.accounts) + 2 * transfers_done
        and sum(Decimal(a) for a in amounts) == bank.total
    )
