"""Change tracking: edit loaded entities, no marking needed.

The unit keeps a snapshot of every entity it loads. At commit it compares
each entity with its snapshot and writes only the properties that differ.
There is no ``session.mark_dirty(...)``: plain attribute assignments and
domain methods are enough, and an edit that is undone is no change at all.
"""

from __future__ import annotations

from decimal import Decimal

from _support import bank_units, example_database, example_graph

from domain.model import Account, Money, Person


def main() -> None:
    with example_database() as db, example_graph(db, "tracking") as graph:
        new_unit = bank_units(graph)
        carol = Person.register("Carol", "carol@example.com", 29)
        account = Account.open(carol.id)
        with new_unit() as uow:
            uow.people.add(carol)
            uow.accounts.add(account)

        with new_unit() as uow:
            carol = uow.people.get(carol.id)
            print("after loading, pending changes:", uow.has_pending_changes)
            carol.age = 30
            print("after carol.age = 30, pending changes:", uow.has_pending_changes)
            carol.age = 29
            print("after setting it back to 29, pending changes:", uow.has_pending_changes)

            # Domain methods are tracked the same way: deposit() replaces the balance.
            acc = uow.accounts.get(account.id)
            acc.deposit(Money(Decimal("250.00")))
            print("after acc.deposit(250.00), pending changes:", uow.has_pending_changes)
        with new_unit() as uow:
            print("balance stored:", uow.accounts.get(account.id).balance)

        # Only changed properties are written. Here another program changes Carol's
        # e-mail directly in the graph while our unit holds her with the old one.
        with new_unit() as uow:
            carol = uow.people.get(carol.id)
            graph.query(
                "MATCH (p:Person {id: $id}) SET p.email = $email",
                {"id": str(carol.id), "email": "carol@new.example.com"},
            )
            carol.age = 30  # our unit changes the age only
            print("our unit still holds the old e-mail:", carol.email)
        with new_unit() as uow:
            stored = uow.people.get(carol.id)
            print(f"stored after commit: age={stored.age} email={stored.email}")
            print("the other program's e-mail survived:", stored.email == "carol@new.example.com")
            version_before = stored.version

        # A unit that only reads writes nothing: the stored version does not move.
        with new_unit() as uow:
            uow.people.get(carol.id)
            print("a read-only unit has pending changes:", uow.has_pending_changes)
        with new_unit() as uow:
            version_after = uow.people.get(carol.id).version
            print(f"version before and after the read-only unit: {version_before}, {version_after}")


if __name__ == "__main__":
    main()
