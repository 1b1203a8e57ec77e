"""A custom query, sync and async: written once, offered by both repositories.

A custom read is a conversation on ``RepositoryBase``: ``yield from
self.rows(cypher, **params)`` sends the read and receives its rows (mapped
nodes already the unit's entities), and the method returns the answer. It
sends nothing itself, so the sync repository and the async one both offer
it with ``run``: ``self.run(...)`` in one, ``await self.run(...)`` in the
other. A custom query reads what is stored, not the unit's pending changes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from _support import example_database, example_graph

from infrastructure.persistence import (
    AsyncRepository,
    AsyncUnitOfWork,
    Conversation,
    Registry,
    Repository,
    RepositoryBase,
    UnitOfWork,
    ensure_key_constraints,
)
from infrastructure.server import Database


@dataclass
class Member:
    handle: str
    city: str
    age: int


registry = Registry()
registry.map(Member, key="handle")

ADULTS_IN = "MATCH (m:Member {city: $city}) WHERE m.age >= 18 RETURN m ORDER BY m.handle"
PER_CITY = "MATCH (m:Member) RETURN m.city, count(m) ORDER BY m.city"


class MemberQueries(RepositoryBase[Member]):
    """The custom reads, once: each yields its read and returns the answer."""

    def _adults_in(self, city: str) -> Conversation[list[Member]]:
        rows = yield from self.rows(ADULTS_IN, city=city)
        return [member for (member,) in rows]

    def _per_city(self) -> Conversation[dict[str, int]]:
        rows = yield from self.rows(PER_CITY)
        return {city: int(count) for city, count in rows}


class Members(MemberQueries, Repository[Member]):
    def adults_in(self, city: str) -> list[Member]:
        return self.run(self._adults_in(city))

    def per_city(self) -> dict[str, int]:
        return self.run(self._per_city())


class AsyncMembers(MemberQueries, AsyncRepository[Member]):
    async def adults_in(self, city: str) -> list[Member]:
        return await self.run(self._adults_in(city))

    async def per_city(self) -> dict[str, int]:
        return await self.run(self._per_city())


class ClubUnitOfWork(UnitOfWork):
    members: Members


class AsyncClubUnitOfWork(AsyncUnitOfWork):
    members: AsyncMembers


async def read_async(db: Database, graph_name: str) -> None:
    client = db.async_client()  # created inside the event loop that uses it
    try:
        async with AsyncClubUnitOfWork(client.select_graph(graph_name), registry) as uow:
            adults = await uow.members.adults_in("Lyon")
            print("async, adults in Lyon:", [m.handle for m in adults])
            print("async, members per city:", await uow.members.per_city())
            print(
                "async, a found member is the unit's object:",
                adults[0] is await uow.members.get("ada"),
            )
    finally:
        await db.aclose()


def main() -> None:
    with example_database() as db, example_graph(db, "custom_query") as graph:
        ensure_key_constraints(graph, registry)
        with ClubUnitOfWork(graph, registry) as uow:
            for handle, city, age in [
                ("ada", "Lyon", 36),
                ("bo", "Lyon", 12),
                ("cyd", "Lyon", 18),
                ("dag", "Oslo", 51),
            ]:
                uow.members.add(Member(handle, city, age))

        with ClubUnitOfWork(graph, registry) as uow:
            adults = uow.members.adults_in("Lyon")
            print("sync, adults in Lyon:", [m.handle for m in adults])
            print("sync, members per city:", uow.members.per_city())
            print("sync, a found member is the unit's object:", adults[0] is uow.members.get("ada"))

        asyncio.run(read_async(db, graph.name))


if __name__ == "__main__":
    main()
