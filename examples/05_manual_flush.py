"""Manual flush: write now, keep the unit open.

``uow.flush()`` sends every pending change in one atomic query, like a
commit, and the unit stays open for more work.

A design decision to know about: FalkorDB has no transaction spanning
several queries, so each flush is its own atomic, durable write. Other units
see flushed data at once, and a later ``rollback()`` cannot take it back.
Rather than pretend, ``rollback()`` after a flush discards what is still
pending, restores entities to their flushed state, and then raises
``FlushedWorkError`` to say the flushed part stays. An exception that ends a
``with`` block after a flush carries a note saying the same. When work may
still be abandoned, do not flush: commit once at the end.
"""

from __future__ import annotations

from _support import bank_example

from domain.model import Person
from infrastructure.persistence import FlushedWorkError


def main() -> None:
    with bank_example("flush") as new_unit:
        hugo = Person.register("Hugo", "hugo@example.com", 33)

        with new_unit() as uow:
            uow.people.add(hugo)
            uow.flush()
            print("after flush, the unit is still active:", uow.is_active)
            print("after flush, pending changes:", uow.has_pending_changes)
            print("version after the first write:", hugo.version)
            with new_unit() as other:
                print("another unit already sees Hugo:", other.people.exists(hugo.id))

            hugo.age = 34
            uow.flush()
            print("version after flushing an edit:", hugo.version)

            # Pending work after the last flush is discarded; the flushed work stays.
            hugo.age = 99
            try:
                uow.rollback()
            except FlushedWorkError as exc:
                print("rollback raised FlushedWorkError:", exc)
            print("Hugo's age in this unit after the rollback:", hugo.age)

        with new_unit() as uow:
            print("Hugo's age stored:", uow.people.get(hugo.id).age)

        # An exception after a flush: the unit rolls back what is pending, the error
        # carries a note that the flushed work is stored.
        try:
            with new_unit() as uow:
                stored = uow.people.get(hugo.id)
                stored.email = "hugo@flushed.example.com"
                uow.flush()
                stored.age = 100
                raise RuntimeError("something failed after the flush")
        except RuntimeError as exc:
            print("the unit raised:", exc)
            for note in exc.__notes__:
                print("  note:", note)
        with new_unit() as uow:
            stored = uow.people.get(hugo.id)
            print(f"stored: email={stored.email} age={stored.age}")


if __name__ == "__main__":
    main()
