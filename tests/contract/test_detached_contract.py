"""Entities outside their unit are plain objects; merge, refresh and expunge bring them back
or let them go. On the fakes and on FalkorDB, sync and async."""

from __future__ import annotations

import copy
import json
import pickle
from dataclasses import fields

import pytest

from domain.model import Person
from infrastructure.persistence import (
    ConcurrencyError,
    DuplicateKeyError,
    EntityNotFoundError,
    IdentityConflictError,
    NotTrackedError,
)
from tests.units import stored

FIELDS = {f.name for f in fields(Person)} - {"friendships"}  # a lazy relationship, not loaded


async def loaded(be, key):
    async with be.unit() as uow:
        return await be.io(uow.people.get(key))


async def test_entities_of_a_closed_unit_pickle_copy_and_serialize_like_dataclasses(be):
    alice = Person.register("Alice", "alice@example.com", 30)
    await stored(be, alice)
    for entity in (alice, await loaded(be, alice.id)):
        assert set(vars(entity)) <= FIELDS | {"friendships"}
        assert json.loads(json.dumps(vars(entity), default=str))["name"] == "Alice"
        back = pickle.loads(pickle.dumps(entity))
        deep = copy.deepcopy(entity)
        assert (back.id, back.name, back.version) == (alice.id, "Alice", 1)
        assert (deep.id, deep.name, deep.version) == (alice.id, "Alice", 1)


async def test_a_copy_of_a_tracked_entity_is_a_new_untracked_object(be):
    alice = Person.register("Alice", "alice@example.com", 30)
    await stored(be, alice)
    async with be.unit() as first:
        tracked = await be.io(first.people.get(alice.id))
        deep = copy.deepcopy(tracked)  # while its unit is open
        twin = copy.copy(tracked)
        twin.id = Person.register("Twin", "twin@example.com").id
        async with be.unit() as second:
            second.people.add(twin)  # not refused as "tracked by another unit"
        assert pickle.loads(pickle.dumps(tracked)).name == "Alice"
    assert deep.name == "Alice"
    assert (await loaded(be, twin.id)).name == "Alice"


async def test_merge_saves_a_detached_entity_through_the_tracked_one(be):
    alice = Person.register("Alice", "alice@example.com", 30)
    await stored(be, alice)
    detached = await loaded(be, alice.id)
    detached.age = 31
    async with be.unit() as uow:
        merged = await be.io(uow.merge(detached))
        assert merged is not detached
        assert merged is await be.io(uow.people.get(alice.id))
        assert merged.age == 31
        assert uow.has_pending_changes
    assert detached.version == 1  # the detached object stays as it was
    again = await loaded(be, alice.id)
    assert (again.age, again.version) == (31, 2)


async def test_merge_of_a_key_stored_nowhere_adds_a_copy(be):
    newcomer = Person.register("New", "new@example.com")
    async with be.unit() as uow:
        merged = await be.io(uow.merge(newcomer))
        assert merged is not newcomer
        assert merged.id == newcomer.id
    assert (await loaded(be, newcomer.id)).name == "New"


async def test_merge_of_a_stale_versioned_entity_fails_the_commit(be):
    alice = Person.register("Alice", "alice@example.com", 30)
    await stored(be, alice)
    stale = await loaded(be, alice.id)
    async with be.unit() as uow:
        (await be.io(uow.people.get(alice.id))).age = 40  # someone else moves it on
    stale.age = 31
    with pytest.raises(ConcurrencyError):
        async with be.unit() as uow:
            await be.io(uow.merge(stale))
    assert (await loaded(be, alice.id)).age == 40


async def test_adding_a_detached_stored_entity_points_to_merge(be):
    alice = Person.register("Alice", "alice@example.com", 30)
    await stored(be, alice)
    detached = await loaded(be, alice.id)
    with pytest.raises(DuplicateKeyError, match="merge"):
        async with be.unit() as uow:
            uow.people.add(detached)


async def test_refresh_rereads_the_stored_state_and_drops_local_edits(be):
    alice = Person.register("Alice", "alice@example.com", 30)
    await stored(be, alice)
    async with be.unit() as uow:
        mine = await be.io(uow.people.get(alice.id))
        mine.age = 99
        async with be.unit() as other:
            (await be.io(other.people.get(alice.id))).name = "Alicia"
        await be.io(uow.refresh(mine))
        assert (mine.name, mine.age, mine.version) == ("Alicia", 30, 2)
        assert not uow.has_pending_changes
        with pytest.raises(NotTrackedError):
            await be.io(uow.refresh(Person.register("X", "x@example.com")))
    async with be.unit() as uow:
        mine = await be.io(uow.people.get(alice.id))
        async with be.unit() as other:
            other.people.remove(await be.io(other.people.get(alice.id)))
        with pytest.raises(EntityNotFoundError):
            await be.io(uow.refresh(mine))


async def test_expunge_lets_an_entity_go_with_its_edits(be):
    alice = Person.register("Alice", "alice@example.com", 30)
    await stored(be, alice)
    async with be.unit() as uow:
        mine = await be.io(uow.people.get(alice.id))
        mine.age = 99
        uow.expunge(mine)
        assert not uow.has_pending_changes
        assert set(vars(mine)) <= FIELDS
        assert await be.io(uow.people.get(alice.id)) is not mine
        with pytest.raises(NotTrackedError):
            uow.expunge(mine)
    assert (await loaded(be, alice.id)).age == 30


async def test_errors_around_detached_and_deleted_entities_say_what_to_do(be):
    alice = Person.register("Alice", "alice@example.com", 30)
    await stored(be, alice)
    detached = await loaded(be, alice.id)
    async with be.unit() as uow:
        with pytest.raises(NotTrackedError, match="merge"):
            uow.people.remove(detached)  # stored, but not tracked here
        uow.people.remove(await be.io(uow.people.get(alice.id)))
        replacement = Person(alice.id, "Other", "other@example.com")
        with pytest.raises(IdentityConflictError, match="marked for deletion"):
            uow.people.add(replacement)
        await be.io(uow.rollback())
