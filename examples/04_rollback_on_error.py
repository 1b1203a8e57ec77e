"""Rollback: an error writes nothing, and ``rollback()`` restores loaded entities.

Three ways a unit ends without writing:

1. an exception inside ``with`` rolls the unit back and re-raises;
2. a commit the database refuses (here a duplicate key) writes nothing at
   all, not even the valid changes made with it: the commit is ONE atomic
   query;
3. ``uow.rollback()`` discards pending work explicitly and puts the loaded
   entities back to their stored values; the unit stays usable.
"""

from __future__ import annotations

from decimal import Decimal

from _support import bank_example

from domain.errors import InsufficientFunds
from domain.model import Account, Money, Person, Transfer
from infrastructure.persistence import DuplicateKeyError


def main() -> None:
    with bank_example("rollback") as new_unit:
        dave = Person.register("Dave", "dave@example.com", 52)
        erin = Person.register("Erin", "erin@example.com", 47)
        checking, savings = Account.open(dave.id), Account.open(dave.id)
        checking.deposit(Money(Decimal("100.00")))
        with new_unit() as uow:
            for entity in (dave, erin):
                uow.people.add(entity)
            for account in (checking, savings):
                uow.accounts.add(account)

        # 1. An exception inside `with`: the deposit made before it is not written.
        try:
            with new_unit() as uow:
                source, target = uow.accounts.get_many([checking.id, savings.id])
                source.deposit(Money(Decimal("50.00")))  # 150.00 in memory
                Transfer.between(source, target, Money(Decimal("500.00")))  # raises
        except InsufficientFunds as exc:
            print("the unit raised:", exc)
        with new_unit() as uow:
            print("checking balance after the failed unit:", uow.accounts.get(checking.id).balance)

        # 2. A refused commit writes none of its changes.
        try:
            with new_unit() as uow:
                uow.people.get(dave.id).age = 53  # a valid change,
                uow.people.add(Person.register("Frank", "frank@example.com"))  # a valid add,
                uow.people.add(Person(erin.id, "Erin", "erin2@example.com"))  # a taken key
        except DuplicateKeyError as exc:
            print("DuplicateKeyError:", exc)
        with new_unit() as uow:
            print("Dave's age after the refused commit:", uow.people.get(dave.id).age)
            print("people named Frank stored:", uow.people.count(name="Frank"))

        # 3. An explicit rollback restores loaded entities and forgets new ones.
        with new_unit() as uow:
            erin_loaded = uow.people.get(erin.id)
            erin_loaded.name, erin_loaded.age = "Erin Smith", 48
            gina = Person.register("Gina", "gina@example.com")
            uow.people.add(gina)
            pending = uow.has_pending_changes
            print(f"before rollback: {erin_loaded.name} {erin_loaded.age} | pending: {pending}")
            uow.rollback()
            pending = uow.has_pending_changes
            print(f"after rollback: {erin_loaded.name} {erin_loaded.age} | pending: {pending}")
            print("Gina exists after rollback:", uow.people.exists(gina.id))
            print("the unit is still usable:", uow.is_active)
        with new_unit() as uow:
            name, count = uow.people.get(erin.id).name, uow.people.count()
            print(f"Erin stored: {name} | people stored: {count}")


if __name__ == "__main__":
    main()
