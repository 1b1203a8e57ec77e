"""A to_one holds at most one target, also when written from the other side; on both stores.

``Pet.owner`` (to-one, OWNS in) and ``Person.pets`` (to-many, OWNS out) name
the same edges (README, "Relationships").
"""

from __future__ import annotations

from infrastructure.persistence import CardinalityError
from tests.contract.test_edges_contract import owners_of_rex, refused
from tests.integration.graph_support import Person, Pet
from tests.units import stored


async def give_rex(gbe, uow, owner: str) -> None:
    holder = await gbe.io(uow.repository(Person).get(owner, load=["pets"]))
    holder.pets.append(await gbe.io(uow.repository(Pet).get("rex")))


async def test_a_second_owner_through_the_to_many_fails_the_commit_and_writes_nothing(gbe):
    await stored(gbe, Person("ann", "Ann"), Person("bob", "Bob"), Pet("rex", "Rex"))
    async with gbe.unit() as uow:
        await give_rex(gbe, uow, "bob")
    uow = gbe.new_unit()
    await give_rex(gbe, uow, "ann")
    uow.add(Pet("fido", "Fido"))  # an unrelated write of the same commit
    error = await refused(gbe, uow, CardinalityError)
    assert "Pet['rex'].owner (to_one) would hold Person['ann'], Person['bob']" in str(error)
    assert await owners_of_rex(gbe) == {"ann": [], "bob": ["rex"]}
    async with gbe.unit() as check:
        assert await gbe.io(check.repository(Pet).get_or_none("fido")) is None


async def test_a_new_pet_given_to_two_owners_in_one_unit_is_refused(gbe):
    await stored(gbe, Person("ann", "Ann"), Person("bob", "Bob"))
    uow = gbe.new_unit()
    rex = Pet("rex", "Rex")
    for owner in ("ann", "bob"):
        (await gbe.io(uow.repository(Person).get(owner, load=["pets"]))).pets.append(rex)
    assert "Pet['rex'].owner" in str(await refused(gbe, uow, CardinalityError))
    async with gbe.unit() as check:
        assert await gbe.io(check.repository(Pet).get_or_none("rex")) is None


async def test_moving_a_pet_between_owners_in_one_unit_commits(gbe):
    await stored(gbe, Person("ann", "Ann"), Person("bob", "Bob"), Pet("rex", "Rex"))
    async with gbe.unit() as uow:
        await give_rex(gbe, uow, "ann")
    async with gbe.unit() as uow:
        ann = await gbe.io(uow.repository(Person).get("ann", load=["pets"]))
        rex = ann.pets.pop()
        (await gbe.io(uow.repository(Person).get("bob", load=["pets"]))).pets.append(rex)
    assert await owners_of_rex(gbe) == {"ann": [], "bob": ["rex"]}
    async with gbe.unit() as uow:  # and from the to-one's side
        rex = await gbe.io(uow.repository(Pet).get("rex", load=["owner"]))
        rex.owner = await gbe.io(uow.repository(Person).get("ann"))
    assert await owners_of_rex(gbe) == {"ann": ["rex"], "bob": []}


async def test_an_owner_given_by_a_concurrent_unit_is_counted_at_commit(gbe):
    await stored(gbe, Person("ann", "Ann"), Person("bob", "Bob"), Pet("rex", "Rex"))
    uow = gbe.new_unit()
    await give_rex(gbe, uow, "bob")  # read while rex had no owner
    async with gbe.unit() as other:
        await give_rex(gbe, other, "ann")
    await refused(gbe, uow, CardinalityError)
    assert await owners_of_rex(gbe) == {"ann": ["rex"], "bob": []}
