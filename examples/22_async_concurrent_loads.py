"""Loading several entities concurrently, with ``asyncio.gather``.

Two ways:

1. one unit per task, run together with ``asyncio.gather``: each unit has
   its own identity map, so the same key gives each unit its own object;
2. one unit, ``get_many``: every key in one round trip, in the order asked.

The async client's connection pool is bounded (``Database(max_connections=)``):
more concurrent units than connections simply wait for a free one.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from _support import run_async_example

from domain.model import Person
from infrastructure.bank import AsyncBankUnitOfWork
from infrastructure.persistence import Registry

NAMES = ["Ines", "Jonas", "Kemal", "Lea", "Mateo"]


async def load_alone(graph: Any, registry: Registry, key: UUID) -> Person:
    """One unit of work of its own, loading one person."""
    async with AsyncBankUnitOfWork(graph, registry) as uow:
        return await uow.people.get(key)


async def run(client: Any, graph_name: str, registry: Registry) -> None:
    graph = client.select_graph(graph_name)
    people = [
        Person.register(name, f"{name.lower()}@example.com", 20 + i) for i, name in enumerate(NAMES)
    ]
    async with AsyncBankUnitOfWork(graph, registry) as uow:
        for person in people:
            uow.people.add(person)
    keys = [p.id for p in people]

    # 1. Five units at once, one per key.
    loaded = await asyncio.gather(*(load_alone(graph, registry, key) for key in keys))
    print("gather, one unit each:", [p.name for p in loaded])

    # The same key in two concurrent units: two objects, equal values.
    first, second = await asyncio.gather(
        load_alone(graph, registry, keys[0]), load_alone(graph, registry, keys[0])
    )
    print(f"same key, two units: same object {first is second}, equal {first == second}")

    # 2. One unit, every key in one round trip, in the order asked.
    async with AsyncBankUnitOfWork(graph, registry) as uow:
        backwards = await uow.people.get_many(list(reversed(keys)))
        print("get_many, reversed keys:", [p.name for p in backwards])
        lea = await uow.people.get(keys[3])
        print("get after get_many, same object:", lea is backwards[1])

    # More units than the pool has connections: they wait their turn.
    pool = client.connection.connection_pool
    many = await asyncio.gather(
        *(load_alone(graph, registry, keys[i % len(keys)]) for i in range(200))
    )
    print(
        f"{len(many)} concurrent units on a pool of {pool.max_connections} connections: all loaded"
    )


def main() -> None:
    run_async_example("async_loads", run)


if __name__ == "__main__":
    main()
