"""The unit's lifecycle: ``is_active``, ``has_pending_changes``, closing, ``Session``.

A unit is active from creation until ``close()`` or the end of its ``with``
block. A closed unit refuses any further work with ``UnitClosedError``
instead of silently reading or writing outside a transaction scope: start a
new unit instead. ``Session`` is the same class under the name the original
session API used; it has no declared repositories, so entities are reached
through ``session.get(Type, key)`` and ``session.repository(Type)``.
"""

from __future__ import annotations

from collections.abc import Callable

from _support import example_database, example_graph

from domain.model import Person
from infrastructure.bank import bank_registry
from infrastructure.persistence import Session, UnitClosedError, UnitOfWork, ensure_key_constraints


def main() -> None:
    with example_database() as db, example_graph(db, "session") as graph:
        registry = bank_registry()
        ensure_key_constraints(graph, registry)

        session = Session(graph, registry)
        print("Session is UnitOfWork:", Session is UnitOfWork)
        print("new session, active:", session.is_active, "| pending:", session.has_pending_changes)

        jane = Person.register("Jane", "jane@example.com", 28)
        session.add(jane)
        print("after add, pending:", session.has_pending_changes)
        session.commit()
        print("after commit, active:", session.is_active, "| pending:", session.has_pending_changes)

        # A commit does not close the session: it can keep working.
        session.get(Person, jane.id).age = 29
        print("after an edit, pending:", session.has_pending_changes)
        session.commit()

        session.close()
        print("after close, active:", session.is_active)
        message = ""
        attempts: list[tuple[str, Callable[[], object]]] = [
            ("get", lambda: session.get(Person, jane.id)),
            ("add", lambda: session.add(Person.register("Kim", "kim@example.com"))),
            ("commit", session.commit),
            ("has_pending_changes", lambda: session.has_pending_changes),
        ]
        for action, attempt in attempts:
            try:
                attempt()
                print(f"closed session, {action}: accepted")
            except UnitClosedError as exc:
                print(f"closed session, {action}: UnitClosedError")
                message = str(exc)
        print("  the message says:", message)

        # The end of a `with` block closes the unit, whether it committed or not.
        with Session(graph, registry) as session:
            people = session.repository(Person)
            age = people.get(jane.id).age
            print(f"inside with, active: {session.is_active} | Jane's age: {age}")
        print("after the with block, active:", session.is_active)
        try:
            people.count()
        except UnitClosedError:
            print("a repository of a closed unit raises UnitClosedError too")


if __name__ == "__main__":
    main()
