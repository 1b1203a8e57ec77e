"""Upserts by key and set-based changes, on the fakes and on FalkorDB alike.

``upsert`` / ``upsert_many`` write by key in the unit's atomic commit;
``update_where`` / ``delete_where`` change what a criterion matches without
loading it (README, "Upserts and set-based changes").
"""

from __future__ import annotations

import pytest

from infrastructure.persistence import (
    ConcurrencyError,
    DeleteRestrictedError,
    DuplicateKeyError,
    EntityNotFoundError,
    F,
    IdentityConflictError,
    MappingError,
    ResultPendingError,
    ValueEncodingError,
)
from tests.contract.test_edges_contract import refused
from tests.integration.graph_support import Account, Person, Pet, Transfer
from tests.units import stored


async def people(gbe) -> list[tuple[str, str, int | None, str | None, int]]:
    """Every stored Person as (id, name, age, email, version), read by a fresh unit."""
    async with gbe.unit() as uow:
        found = await gbe.io(uow.repository(Person).find(order_by="id"))
        return [(p.id, p.name, p.age, p.email, p.version) for p in found]


# -- upsert ---------------------------------------------------------------------------


async def test_upsert_creates_absent_keys_and_overwrites_stored_ones(gbe):
    await stored(gbe, Person("a", "Ann", age=30, email="a@x"))
    async with gbe.unit() as uow:
        repo = uow.repository(Person)
        repo.upsert(Person("a", "Anna", age=None, email="a@x"))  # None removes the age
        repo.upsert(Person("b", "Bob", age=40))
    assert await people(gbe) == [("a", "Anna", None, "a@x", 2), ("b", "Bob", 40, None, 1)]


async def test_an_upserted_batch_applied_twice_leaves_the_graph_as_once(gbe):
    await stored(gbe, Person("a", "Ann", age=1), Person("c", "Cy", age=3))

    def batch() -> list[Person]:
        return [Person("a", "Ann", age=10), Person("b", "Bob", age=2), Person("c", "Cy", age=3)]

    async with gbe.unit() as uow:
        uow.repository(Person).upsert_many(batch())
    once = await people(gbe)
    assert once == [
        ("a", "Ann", 10, None, 2),  # changed: version moved
        ("b", "Bob", 2, None, 1),  # created
        ("c", "Cy", 3, None, 1),  # the same values: version kept
    ]
    async with gbe.unit() as uow:
        uow.repository(Person).upsert_many(batch())
    assert await people(gbe) == once


async def test_the_last_upsert_of_a_key_in_a_unit_is_the_one_written_and_tracked(gbe):
    async with gbe.unit() as uow:
        repo = uow.repository(Person)
        repo.upsert(Person("a", "first"))
        last = repo.upsert(Person("a", "last"))
        await gbe.io(uow.flush())
        assert await gbe.io(repo.get("a")) is last
    assert await people(gbe) == [("a", "last", None, None, 1)]


async def test_an_upserted_object_is_tracked_after_the_commit_at_the_stored_version(gbe):
    await stored(gbe, Person("a", "Ann"))
    async with gbe.unit() as uow:
        repo = uow.repository(Person)
        ann = repo.upsert(Person("a", "Anna"))
        bob = repo.upsert(Person("b", "Bob"))
        await gbe.io(uow.flush())
        assert (ann.version, bob.version) == (2, 1)
        assert await gbe.io(repo.get("a")) is ann  # one object per key in the unit
        ann.age = 31  # an ordinary edit, checked on the version the upsert stored
    assert await people(gbe) == [("a", "Anna", 31, None, 3), ("b", "Bob", None, None, 1)]


async def test_an_upsert_of_a_tracked_key_edits_the_tracked_entity_checked_on_its_version(gbe):
    await stored(gbe, Person("a", "Ann"))
    async with gbe.unit() as uow:
        repo = uow.repository(Person)
        tracked = await gbe.io(repo.get("a"))
        assert repo.upsert(Person("a", "Anna", age=5)) is tracked
        assert (tracked.name, tracked.age, tracked.version) == ("Anna", 5, 1)
    assert await people(gbe) == [("a", "Anna", 5, None, 2)]

    uow = gbe.new_unit()
    await gbe.io(uow.repository(Person).get("a"))
    async with gbe.unit() as other:  # moves the version meanwhile
        (await gbe.io(other.repository(Person).get("a"))).age = 6
    uow.repository(Person).upsert(Person("a", "stale"))
    await refused(gbe, uow, ConcurrencyError)
    assert await people(gbe) == [("a", "Anna", 6, None, 3)]


async def test_upserts_keep_the_edges_of_a_stored_node(gbe):
    await stored(gbe, Pet("p", "Rex"))
    async with gbe.unit() as uow:
        rex = await gbe.io(uow.repository(Pet).get("p", load=["owner"]))
        rex.owner = Person("o", "Olga")  # an OWNS edge, not a property: kept by an upsert
    async with gbe.unit() as uow:
        uow.repository(Pet).upsert(Pet("p", "Rexy"))
    async with gbe.unit() as uow:
        rex = await gbe.io(uow.repository(Pet).get("p", load=["owner"]))
        assert (rex.name, rex.owner.id) == ("Rexy", "o")


async def test_a_failed_commit_writes_no_upsert(gbe):
    await stored(gbe, Person("a", "Ann", email="taken@x"))
    uow = gbe.new_unit()
    uow.repository(Person).upsert(Person("b", "Bob"))
    uow.add(Person("a", "again"))
    await refused(gbe, uow, DuplicateKeyError)
    assert await people(gbe) == [("a", "Ann", None, "taken@x", 1)]


async def test_upsert_refuses_what_it_cannot_write(gbe):
    await stored(gbe, Person("a", "Ann"))
    async with gbe.unit() as uow:
        repo = uow.repository(Person)
        linked = Person("b", "Bob")
        linked.follows.append(Person("c", "Cy"))
        with pytest.raises(MappingError, match="follows"):
            repo.upsert(linked)
        with pytest.raises(TypeError):
            repo.upsert(Pet("p", "Rex"))
        uow.delete(await gbe.io(repo.get("a")))
        with pytest.raises(IdentityConflictError, match="deletion"):
            repo.upsert(Person("a", "Ann"))
        repo.upsert(Person("d", "nul\x00"))
        with pytest.raises(ValueEncodingError):
            await gbe.io(uow.flush())
        await gbe.io(uow.rollback())
    assert await people(gbe) == [("a", "Ann", None, None, 1)]


# -- update_where ---------------------------------------------------------------------


async def test_update_where_changes_what_matches_in_the_commit_and_counts_it(gbe):
    await stored(gbe, *(Person(f"p{i}", f"n{i}", age=i) for i in range(5)))
    async with gbe.unit() as uow:
        repo = uow.repository(Person)
        older = repo.update_where(F("age") >= 3, age=F("age") + 10)
        renamed = repo.update_where(F("id") == "p0", set={"name": "zero"})
        with pytest.raises(ResultPendingError):
            older.count  # noqa: B018 (known only once committed)
    assert (older.count, renamed.count) == (2, 1)
    assert await people(gbe) == [
        ("p0", "zero", 0, None, 2),
        ("p1", "n1", 1, None, 1),
        ("p2", "n2", 2, None, 1),
        ("p3", "n3", 13, None, 2),
        ("p4", "n4", 14, None, 2),
    ]


async def test_update_where_keeps_tracked_entities_coherent(gbe):
    await stored(gbe, Person("a", "Ann", age=1), Person("b", "Bob", age=2))
    async with gbe.unit() as uow:
        repo = uow.repository(Person)
        ann, bob = await gbe.io(repo.get_many(["a", "b"]))
        bob.name = "Bobby"  # a tracked edit, written before the set-based change
        fresh = Person("c", "Cy", age=3)
        repo.add(fresh)
        changed = repo.update_where(F("age") >= 1, age=F("age") * 2)
        await gbe.io(uow.flush())
        assert changed.count == 3
        assert [(p.age, p.version) for p in (ann, bob, fresh)] == [(2, 2), (4, 3), (6, 2)]
        assert bob.name == "Bobby"
        ann.age = 100  # the unit holds the stored version: no conflict with itself
    assert await people(gbe) == [
        ("a", "Ann", 100, None, 3),
        ("b", "Bobby", 4, None, 3),
        ("c", "Cy", 6, None, 2),
    ]


async def test_update_where_refuses_bad_assignments_and_queues_nothing(gbe):
    await stored(gbe, Person("a", "Ann", age=1))
    async with gbe.unit() as uow:
        repo = uow.repository(Person)
        with pytest.raises(MappingError, match="key"):
            repo.update_where(F("age") > 0, id="b")
        with pytest.raises(MappingError, match="nickname"):
            repo.update_where(F("age") > 0, nickname="x")
        with pytest.raises(MappingError, match="shoe"):
            repo.update_where(F("shoe") > 0, age=2)
        with pytest.raises(MappingError, match="float"):
            repo.update_where(F("age") > 0, age=F("age") + 0.5)
        with pytest.raises(MappingError, match="int or float"):
            repo.update_where(F("age") > 0, name=F("name") + 1)
        with pytest.raises(MappingError, match="at least one"):
            repo.update_where(F("age") > 0)
        assert not uow.has_pending_changes
    assert await people(gbe) == [("a", "Ann", 1, None, 1)]


# -- delete_where ---------------------------------------------------------------------


async def test_delete_where_deletes_what_matches_and_forgets_tracked_ones(gbe):
    await stored(gbe, Transfer("t1", 5), Transfer("t2", 50), Transfer("t3", 500))
    async with gbe.unit() as uow:
        repo = uow.repository(Transfer)
        small = await gbe.io(repo.get("t1"))
        big = await gbe.io(repo.get("t3"))
        gone = repo.delete_where(F("amount") < 100)
        await gbe.io(uow.flush())
        assert gone.count == 2
        assert await gbe.io(repo.get_or_none("t1")) is None
        assert await gbe.io(repo.get("t3")) is big
        with pytest.raises(EntityNotFoundError):
            await gbe.io(repo.get("t2"))
        assert small.amount == 5  # a plain object again
    async with gbe.unit() as uow:
        assert [t.id for t in await gbe.io(uow.repository(Transfer).find())] == ["t3"]


async def test_delete_where_honours_restrict_and_writes_nothing(gbe):
    account = Account("a1", 10)
    account.transfers.append(Transfer("t1", 5))
    await stored(gbe, account, Account("a2", 20))
    uow = gbe.new_unit()
    uow.add(Transfer("t2", 7))
    uow.repository(Account).delete_where(F("balance") > 0)
    assert "'transfers' relationship (restrict)" in str(
        await refused(gbe, uow, DeleteRestrictedError)
    )
    async with gbe.unit() as uow:
        assert sorted(a.id for a in await gbe.io(uow.repository(Account).find())) == ["a1", "a2"]
        assert await gbe.io(uow.repository(Transfer).get_or_none("t2")) is None
        removed = uow.repository(Account).delete_where(F("balance") > 15)  # no transfer held
    assert removed.count == 1


async def test_delete_where_refuses_a_cascade_it_would_not_follow(gbe):
    async with gbe.unit() as uow:
        with pytest.raises(MappingError, match="cascade"):
            uow.repository(Person).delete_where(F("age") > 1)


async def test_a_key_loaded_after_its_upsert_was_queued_takes_the_upserted_fields(gbe):
    await stored(gbe, Person("a", "Ann", age=1))
    async with gbe.unit() as uow:
        repo = uow.repository(Person)
        repo.upsert(Person("a", "Anna", age=2))
        loaded = await gbe.io(repo.get("a"))  # the stored node: the upsert is not written yet
        assert (loaded.name, loaded.age) == ("Ann", 1)
        await gbe.io(uow.flush())
        assert (loaded.name, loaded.age, loaded.version) == ("Anna", 2, 2)
        assert await gbe.io(repo.get("a")) is loaded
    assert await people(gbe) == [("a", "Anna", 2, None, 2)]


async def test_an_upsert_deleted_by_a_later_delete_where_of_the_commit_is_not_tracked(gbe):
    async with gbe.unit() as uow:
        repo = uow.repository(Transfer)
        repo.upsert(Transfer("t1", 5))
        repo.upsert(Transfer("t2", 500))
        gone = repo.delete_where(F("amount") < 100)
        await gbe.io(uow.flush())
        assert gone.count == 1
        assert await gbe.io(repo.get_or_none("t1")) is None
        assert (await gbe.io(repo.get("t2"))).amount == 500


async def test_blind_upserts_fire_no_per_entity_events_and_updates_of_tracked_keys_do(gbe):
    await stored(gbe, Person("a", "Ann"))
    seen: list[str] = []
    async with gbe.unit() as uow:
        uow.listen("before_flush", lambda unit: seen.append("flush"))
        uow.listen("before_insert", lambda unit, write: seen.append(f"insert {write.key}"))
        uow.listen("before_update", lambda unit, write: seen.append(f"update {write.key}"))
        repo = uow.repository(Person)
        await gbe.io(repo.get("a"))
        repo.upsert_many([Person("a", "Anna"), Person("b", "Bob")])
    assert seen == ["flush", "update a"]


async def test_rollback_drops_queued_upserts_and_set_based_changes(gbe):
    await stored(gbe, Person("a", "Ann", age=1))
    async with gbe.unit() as uow:
        repo = uow.repository(Person)
        repo.upsert(Person("b", "Bob"))
        pending = repo.update_where(F("age") >= 0, age=9)
        assert uow.has_pending_changes
        await gbe.io(uow.rollback())
        assert not uow.has_pending_changes
    with pytest.raises(ResultPendingError):
        pending.count  # noqa: B018 (never committed)
    assert await people(gbe) == [("a", "Ann", 1, None, 1)]
