"""Batch operations: many entities, few round trips.

A commit sends ONE query whatever it holds: 1,000 new people are one
``UNWIND`` of 1,000 rows, not 1,000 queries. ``get_many`` loads many keys in
one read; ``find_by`` and ``list`` filter, order and page on the server;
``count`` counts there. To make the round trips visible, the units here run
on a small wrapper that counts the queries sent to the graph (a unit of work
accepts any object with ``query`` and ``ro_query``).
"""

from __future__ import annotations

import time
from typing import Any

from _support import example_database, example_graph

from domain.model import Person
from infrastructure.bank import BankUnitOfWork, bank_registry
from infrastructure.persistence import ensure_key_constraints


class CountingGraph:
    """A graph handle that counts the write and read queries passed through it."""

    def __init__(self, graph: Any) -> None:
        self.graph = graph
        self.writes = 0
        self.reads = 0

    def query(
        self, q: str, params: dict[str, Any] | None = None, timeout: int | None = None
    ) -> Any:
        self.writes += 1
        return self.graph.query(q, params, timeout=timeout)

    def ro_query(
        self, q: str, params: dict[str, Any] | None = None, timeout: int | None = None
    ) -> Any:
        self.reads += 1
        return self.graph.ro_query(q, params, timeout=timeout)

    def counted(self) -> str:
        text = f"{self.writes} write and {self.reads} read queries"
        self.writes = self.reads = 0
        return text


def main() -> None:
    with example_database() as db, example_graph(db, "batch") as raw_graph:
        registry = bank_registry()
        ensure_key_constraints(raw_graph, registry)
        graph = CountingGraph(raw_graph)

        def new_unit() -> BankUnitOfWork:
            return BankUnitOfWork(graph, registry)

        # 1,000 adds, one commit, one query.
        people = [
            Person.register(f"Person {i:04d}", f"p{i}@example.com", 20 + i % 50)
            for i in range(1000)
        ]
        started = time.perf_counter()
        with new_unit() as uow:
            for person in people:
                uow.people.add(person)
        elapsed_ms = (time.perf_counter() - started) * 1000
        print(f"added 1000 people in one unit: {graph.counted()} ({elapsed_ms:.0f} ms)")

        with new_unit() as uow:
            # get_many: many keys, one read, results in the order asked.
            wanted = [people[999].id, people[0].id, people[500].id]
            loaded = uow.people.get_many(wanted)
            print("get_many of 3 keys:", [p.name for p in loaded], "|", graph.counted())

            # count and find_by run on the server.
            total, aged_20 = uow.people.count(), uow.people.count(age=20)
            print(f"count(): {total} | count(age=20): {aged_20} | {graph.counted()}")
            found = uow.people.find_by(age=20)
            print("find_by(age=20) found:", len(found), "|", graph.counted())

            # Ordering and paging: "-age" is descending; offset/limit page through results.
            oldest = uow.people.list(order_by=["-age", "name"], limit=3)
            print("3 oldest:", [(p.name, p.age) for p in oldest])
            page_size, pages = 200, 0
            while uow.people.list(order_by="name", limit=page_size, offset=pages * page_size):
                pages += 1
            print(f"pages of {page_size} by name: {pages}")
            second_page = uow.people.find_by(age=42, order_by="name", limit=2, offset=2)
            print("age 42, names 3 and 4:", [p.name for p in second_page])

        # Delete many in one unit: again one write query.
        with new_unit() as uow:
            for person in uow.people.get_many([p.id for p in people[:500]]):
                uow.people.remove(person)
            graph.counted()  # forget the read above
        print("deleted 500 people in one unit:", graph.counted())
        with new_unit() as uow:
            print("people left:", uow.people.count())


if __name__ == "__main__":
    main()
