"""The example domain's repositories and units of work, on the layer's public API only.

The typed repositories add the reads a graph answers well, each written once
as a conversation on ``RepositoryBase.rows`` / ``raw_rows`` / ``lookup`` (the
Cypher text and every decision shared by the sync and the async repository)
and offered by both with ``run``: friends of friends ranked by mutual
friends, a shortest chain of friends, the accounts money reached through
transfers.
"""

from __future__ import annotations

import builtins
from typing import Any
from uuid import UUID

from domain.model import Account, FriendSuggestion, Person, Transfer
from infrastructure.persistence import (
    AsyncRepository,
    AsyncUnitOfWork,
    Conversation,
    Repository,
    RepositoryBase,
    UnitOfWork,
)

# Friends of my friends who are neither me nor my friends, by how many friends
# we share, then by id.
FRIEND_SUGGESTIONS = (
    "MATCH (me:Person {id: $id})-[:FRIEND]-(friend:Person)-[:FRIEND]-(candidate:Person) "
    "WHERE candidate <> me AND NOT (me)-[:FRIEND]-(candidate) "
    "RETURN candidate, count(DISTINCT friend) AS mutual "
    "ORDER BY mutual DESC, candidate.id LIMIT $limit"
)

# FalkorDB's shortestPath() follows directed edges only; friendships go both ways.
SHORTEST_PATH = (
    "MATCH (a:Person {id: $a}), (b:Person {id: $b}) "
    "CALL algo.SPpaths({sourceNode: a, targetNode: b, relTypes: ['FRIEND'], "
    "relDirection: 'both', maxLen: $hops, pathCount: 1}) "
    "YIELD path RETURN path"
)

# One transfer further from each account of the frontier. A breadth-first walk,
# a step per query, reads each transfer once; a variable-length pattern
# ([:SENT|TO*2..12]) enumerates every chain and grows tenfold per step.
NEXT_ACCOUNTS = (
    "UNWIND $frontier AS key "
    "MATCH (:Account {id: key})-[:SENT]->(:Transfer)-[:TO]->(b:Account) "
    "RETURN DISTINCT b"
)


def _check_count(name: str, value: object, least: int) -> None:
    if type(value) is not int or value < least:
        raise ValueError(f"{name} must be an int >= {least}, got {value!r}")


class PersonQueries(RepositoryBase[Person]):
    """The people reads, free of I/O. They read what is stored (not this unit's changes)."""

    def _friend_suggestions(
        self, person_id: UUID, limit: int
    ) -> Conversation[builtins.list[FriendSuggestion]]:
        _check_count("limit", limit, 0)
        rows = yield from self.rows(FRIEND_SUGGESTIONS, id=person_id, limit=limit)
        return [FriendSuggestion(p, int(mutual)) for p, mutual in rows if p is not None]

    def _shortest_path(
        self, person_id: UUID, other_id: UUID, max_hops: int
    ) -> Conversation[builtins.list[Person]]:
        _check_count("max_hops", max_hops, 1)
        if person_id == other_id:
            found = yield from self.lookup(person_id)
            return [] if found is None else [found]
        rows = yield from self.rows(SHORTEST_PATH, a=person_id, b=other_id, hops=max_hops)
        return [p for p in rows[0][0] if p is not None] if rows else []


class AccountQueries(RepositoryBase[Account]):
    """The account reads, free of I/O. They read what is stored (not this unit's changes)."""

    def _reachable_from(
        self, account_id: UUID, max_transfers: int
    ) -> Conversation[builtins.list[Account]]:
        _check_count("max_transfers", max_transfers, 1)
        start = self.mapping.encode_key(account_id)
        seen: dict[Any, Any] = {start: None}
        frontier = [start]
        for _ in range(max_transfers):
            rows = yield from self.raw_rows(NEXT_ACCOUNTS, frontier=frontier)
            fresh = {row[0].properties[self.mapping.key_property]: row[0] for row in rows}
            frontier = [key for key in fresh if key not in seen]
            if not frontier:
                break
            seen.update((key, fresh[key]) for key in frontier)
        del seen[start]
        ordered = [[seen[key]] for key in sorted(seen)]
        return [row[0] for row in self.as_entities(ordered) if row[0] is not None]


class PersonRepository(PersonQueries, Repository[Person]):
    """People of a ``BankUnitOfWork``."""

    def friend_suggestions(
        self, person_id: UUID, limit: int = 10
    ) -> builtins.list[FriendSuggestion]:
        """Friends of friends who are not friends yet: most mutual friends first, then by id."""
        return self.run(self._friend_suggestions(person_id, limit))

    def shortest_path(
        self, person_id: UUID, other_id: UUID, max_hops: int = 6
    ) -> builtins.list[Person]:
        """People on a shortest chain of friendships between the two, both ends included.

        Empty when they are not connected within ``max_hops`` friendships.
        """
        return self.run(self._shortest_path(person_id, other_id, max_hops))


class AsyncPersonRepository(PersonQueries, AsyncRepository[Person]):
    """People of an ``AsyncBankUnitOfWork`` (see ``PersonRepository``)."""

    async def friend_suggestions(
        self, person_id: UUID, limit: int = 10
    ) -> builtins.list[FriendSuggestion]:
        """Friends of friends who are not friends yet: most mutual friends first, then by id."""
        return await self.run(self._friend_suggestions(person_id, limit))

    async def shortest_path(
        self, person_id: UUID, other_id: UUID, max_hops: int = 6
    ) -> builtins.list[Person]:
        """People on a shortest chain of friendships between the two, both ends included.

        Empty when they are not connected within ``max_hops`` friendships.
        """
        return await self.run(self._shortest_path(person_id, other_id, max_hops))


class AccountRepository(AccountQueries, Repository[Account]):
    """Accounts of a ``BankUnitOfWork``."""

    def reachable_from(self, account_id: UUID, max_transfers: int = 6) -> builtins.list[Account]:
        """Accounts money from ``account_id`` reached in up to ``max_transfers`` transfers, by id.

        The account itself is left out, even when money came back to it.
        """
        return self.run(self._reachable_from(account_id, max_transfers))


class AsyncAccountRepository(AccountQueries, AsyncRepository[Account]):
    """Accounts of an ``AsyncBankUnitOfWork`` (see ``AccountRepository``)."""

    async def reachable_from(
        self, account_id: UUID, max_transfers: int = 6
    ) -> builtins.list[Account]:
        """Accounts money from ``account_id`` reached in up to ``max_transfers`` transfers, by id.

        The account itself is left out, even when money came back to it.
        """
        return await self.run(self._reachable_from(account_id, max_transfers))


class BankUnitOfWork(UnitOfWork):
    people: PersonRepository
    accounts: AccountRepository
    transfers: Repository[Transfer]


class AsyncBankUnitOfWork(AsyncUnitOfWork):
    people: AsyncPersonRepository
    accounts: AsyncAccountRepository
    transfers: AsyncRepository[Transfer]
