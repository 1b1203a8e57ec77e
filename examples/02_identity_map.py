"""The identity map: one object per stored entity inside a unit of work.

Within one unit, every way of reaching an entity (``get``, ``get_many``,
``find_by``, ``list``, ``uow.get``, another repository handle) returns the
SAME Python object, so an edit made through one path is seen through all the
others and is written once. A different unit gets its own objects.
"""

from __future__ import annotations

from _support import bank_example

from domain.model import Person
from infrastructure.persistence import IdentityConflictError


def main() -> None:
    with bank_example("identity") as new_unit:
        alice = Person.register("Alice", "alice@example.com", 36)
        bob = Person.register("Bob", "bob@example.com", 41)
        with new_unit() as uow:
            uow.people.add(alice)
            uow.people.add(bob)

        with new_unit() as uow:
            by_get = uow.people.get(alice.id)
            by_find = uow.people.find_by(name="Alice")[0]
            by_many = uow.people.get_many([bob.id, alice.id])[1]
            by_unit = uow.get(Person, alice.id)
            by_list = next(p for p in uow.people.list(order_by="name") if p.name == "Alice")
            print("get / find_by, same object:", by_get is by_find)
            print("get / get_many, same object:", by_get is by_many)
            print("get / uow.get, same object:", by_get is by_unit)
            print("get / list, same object:", by_get is by_list)
            print("repository(Person) is uow.people:", uow.repository(Person) is uow.people)
            print("this unit loaded its own object, not the one added:", by_get is not alice)

            # Local edits win over what a later read returns: the unit keeps its object.
            by_get.age = 37
            seen = uow.people.find_by(name="Alice")[0]
            print("age seen through find_by after a local edit:", seen.age)

            # A second, different object under a tracked key is refused, not silently merged.
            impostor = Person(alice.id, "Mallory", "mallory@example.com")
            try:
                uow.people.add(impostor)
            except IdentityConflictError as exc:
                print("IdentityConflictError:", exc)

        # Another unit has its own identity map, hence its own objects.
        with new_unit() as first, new_unit() as second:
            mine, theirs = first.people.get(alice.id), second.people.get(alice.id)
            print("different units, same object:", mine is theirs)
            print("different units, equal values:", mine == theirs, f"(age {mine.age})")


if __name__ == "__main__":
    main()
