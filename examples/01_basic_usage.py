"""Basic usage: map a dataclass, add entities, read them back.

The whole set-up is four steps:

1. map your plain dataclass in a ``Registry`` (the class itself stays plain);
2. declare a unit of work with one typed repository per entity type;
3. ensure the key constraints on the graph (once per graph);
4. work inside ``with unit:``: a clean exit commits everything in one
   atomic query, an exception writes nothing.

Run: ``python examples/01_basic_usage.py`` (FALKORDB_URL picks a server,
otherwise an embedded one is started).
"""

from __future__ import annotations

from dataclasses import dataclass

from _support import example_database, example_graph

from infrastructure.persistence import (
    EntityNotFoundError,
    Registry,
    Repository,
    UnitOfWork,
    ensure_key_constraints,
)


# 1. A plain dataclass: it imports nothing from the persistence layer.
@dataclass
class Book:
    isbn: str
    title: str
    author: str
    year: int


registry = Registry()
registry.map(Book, key="isbn")  # stored as nodes labelled :Book, keyed by isbn


# 2. A unit of work declares its repositories as annotations.
class LibraryUnitOfWork(UnitOfWork):
    books: Repository[Book]


def main() -> None:
    with example_database() as db, example_graph(db, "basic") as graph:
        # 3. A unique constraint per key: a second Book with the same isbn is refused.
        ensure_key_constraints(graph, registry)

        # 4. Add two books; leaving the block commits them in one query.
        with LibraryUnitOfWork(graph, registry) as uow:
            uow.books.add(Book("978-0134494166", "Clean Architecture", "Robert C. Martin", 2017))
            uow.books.add(Book("978-0321125217", "Domain-Driven Design", "Eric Evans", 2003))
            print("inside the unit, pending changes:", uow.has_pending_changes)
        print("committed: the block ended without an exception")

        # A new unit reads them back from the database.
        with LibraryUnitOfWork(graph, registry) as uow:
            book = uow.books.get("978-0321125217")
            print(f"loaded: {book.title} by {book.author} ({book.year})")
            print("book count:", uow.books.count())
            print("by Eric Evans:", [b.title for b in uow.books.find_by(author="Eric Evans")])

            # get() raises for an unknown key; get_or_none() returns None.
            try:
                uow.books.get("000-0000000000")
            except EntityNotFoundError as exc:
                print("unknown key:", exc)
            print("get_or_none of an unknown key:", uow.books.get_or_none("000-0000000000"))

            # Edits need no marking: the unit notices them and writes them on exit.
            book.year = 2004
        with LibraryUnitOfWork(graph, registry) as uow:
            print("year after the edit:", uow.books.get("978-0321125217").year)


if __name__ == "__main__":
    main()
