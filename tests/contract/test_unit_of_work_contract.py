"""What a unit of work promises, checked on the fakes and on FalkorDB alike."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.model import Account, Money, Person, Transfer
from infrastructure.persistence import (
    ConcurrencyError,
    DuplicateKeyError,
    FlushedWorkError,
    MappingError,
    UnitClosedError,
    ValueEncodingError,
)
from tests.units import stored


async def names(be):
    async with be.unit() as uow:
        return sorted(p.name for p in await be.io(uow.people.list()))


async def test_edits_are_tracked_without_marking_and_committed_on_exit(be):
    alice = Person.register("Alice", "alice@example.com", 30)
    await stored(be, alice)
    async with be.unit() as uow:
        loaded = await be.io(uow.people.get(alice.id))
        assert not uow.has_pending_changes
        loaded.age = 31
        assert uow.has_pending_changes
    async with be.unit() as uow:
        again = await be.io(uow.people.get(alice.id))
    assert again.age == 31
    assert again.version == 2


async def test_a_commit_without_changes_leaves_versions_alone(be):
    alice = Person.register("Alice", "alice@example.com")
    await stored(be, alice)
    async with be.unit() as uow:
        await be.io(uow.people.get(alice.id))
    async with be.unit() as uow:
        assert (await be.io(uow.people.get(alice.id))).version == 1


async def test_an_error_in_the_block_writes_nothing(be):
    alice = Person.register("Alice", "alice@example.com", 30)
    await stored(be, alice)
    uow = be.new_unit()

    async def fail_midway():
        async with be.unit(uow):
            (await be.io(uow.people.get(alice.id))).age = 99
            uow.add(Person.register("Bob", "bob@example.com"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await fail_midway()
    assert not uow.is_active
    async with be.unit() as uow:
        assert (await be.io(uow.people.get(alice.id))).age == 30
    assert await names(be) == ["Alice"]


async def test_rollback_restores_loaded_entities_and_drops_adds(be):
    alice = Person.register("Alice", "alice@example.com", 30)
    await stored(be, alice)
    uow = be.new_unit()
    loaded = await be.io(uow.people.get(alice.id))
    loaded.name, loaded.age = "Alicia", 31
    uow.add(Person.register("Bob", "bob@example.com"))
    await be.io(uow.rollback())
    assert (loaded.name, loaded.age) == ("Alice", 30)
    assert not uow.has_pending_changes
    await be.io(uow.commit())
    await be.io(uow.close())
    assert await names(be) == ["Alice"]


async def test_a_stale_version_is_refused_naming_it_and_nothing_is_written(be):
    alice = Person.register("Alice", "alice@example.com", 30)
    await stored(be, alice)
    slow, fast = be.new_unit(), be.new_unit()
    (await be.io(slow.people.get(alice.id))).age = 40
    slow.add(Person.register("Bob", "bob@example.com"))
    (await be.io(fast.people.get(alice.id))).age = 31
    await be.io(fast.commit())
    with pytest.raises(ConcurrencyError) as caught:
        await be.io(slow.commit())
    assert caught.value.stale == [("Person", alice.id)]
    assert "Person" in str(caught.value)
    assert str(alice.id) in str(caught.value)
    async with be.unit() as uow:
        assert (await be.io(uow.people.get(alice.id))).age == 31
    assert await names(be) == ["Alice"]


async def test_updating_or_deleting_what_another_unit_deleted_is_a_conflict(be):
    alice, bob = Person.register("Alice", "a@example.com"), Person.register("Bob", "b@example.com")
    await stored(be, alice, bob)
    editor, remover = be.new_unit(), be.new_unit()
    (await be.io(editor.people.get(alice.id))).age = 5
    remover.people.remove(await be.io(remover.people.get(bob.id)))
    async with be.unit() as uow:
        uow.people.remove(await be.io(uow.people.get(alice.id)))
        (await be.io(uow.people.get(bob.id))).age = 7
    with pytest.raises(ConcurrencyError) as edited:
        await be.io(editor.commit())
    with pytest.raises(ConcurrencyError) as removed:
        await be.io(remover.commit())
    assert edited.value.stale == [("Person", alice.id)]
    assert removed.value.stale == [("Person", bob.id)]


async def test_unversioned_entities_merge_changes_to_different_fields(be):
    a, b = Account.open(uuid4()), Account.open(uuid4())
    a.deposit(Money.of(10))
    transfer = Transfer.between(a, b, Money.of(1))
    await stored(be, transfer)
    first, second = be.new_unit(), be.new_unit()
    (await be.io(first.transfers.get(transfer.id))).amount = Money.of(2)
    other = uuid4()
    (await be.io(second.transfers.get(transfer.id))).target_id = other
    await be.io(first.commit())
    await be.io(second.commit())  # no version: only the changed property is written
    async with be.unit() as uow:
        merged = await be.io(uow.transfers.get(transfer.id))
    assert (merged.amount, merged.target_id) == (Money.of(2), other)


async def test_a_taken_key_is_refused_naming_it_and_nothing_is_written(be):
    alice = Person.register("Alice", "alice@example.com")
    await stored(be, alice)
    twin = Person(alice.id, "Twin", "twin@example.com")

    async def add_both():
        async with be.unit() as uow:
            uow.add(Person.register("Bob", "bob@example.com"))
            uow.add(twin)

    with pytest.raises(DuplicateKeyError) as caught:
        await add_both()
    assert f"Person[{alice.id!r}]" in str(caught.value)
    assert await names(be) == ["Alice"]


async def test_a_stale_version_is_reported_before_a_taken_key(be):
    alice, bob = Person.register("Alice", "a@example.com"), Person.register("Bob", "b@example.com")
    await stored(be, alice, bob)
    slow = be.new_unit()
    (await be.io(slow.people.get(alice.id))).age = 1
    slow.add(Person(bob.id, "Bob again", "b2@example.com"))
    async with be.unit() as uow:
        (await be.io(uow.people.get(alice.id))).age = 2
    with pytest.raises(ConcurrencyError):
        await be.io(slow.commit())


async def test_a_value_that_cannot_be_stored_fails_before_anything_is_written(be):
    alice = Person.register("Alice", "alice@example.com")
    await stored(be, alice)

    async def store_too_big():
        async with be.unit() as uow:
            uow.add(Person.register("Bob", "bob@example.com"))
            (await be.io(uow.people.get(alice.id))).age = 2**70

    with pytest.raises(ValueEncodingError, match="age"):
        await store_too_big()
    assert await names(be) == ["Alice"]


async def test_a_changed_key_is_refused(be):
    alice = Person.register("Alice", "alice@example.com")
    await stored(be, alice)
    with pytest.raises(MappingError, match="key"):
        async with be.unit() as uow:
            (await be.io(uow.people.get(alice.id))).id = uuid4()


async def test_flush_writes_for_good_and_rollback_after_it_says_so(be):
    uow = be.new_unit()
    uow.add(Person.register("Flushed", "f@example.com"))
    await be.io(uow.flush())
    assert [p.name for p in await be.io(uow.people.find_by(name="Flushed"))] == ["Flushed"]
    uow.add(Person.register("Pending", "p@example.com"))
    with pytest.raises(FlushedWorkError):
        await be.io(uow.rollback())
    assert uow.is_active
    await be.io(uow.close())
    assert await names(be) == ["Flushed"]


async def test_close_discards_pending_work_and_ends_the_unit(be):
    uow = be.new_unit()
    uow.add(Person.register("Never", "n@example.com"))
    await be.io(uow.close())
    assert not uow.is_active
    with pytest.raises(UnitClosedError):
        uow.add(Person.register("Late", "l@example.com"))
    with pytest.raises(UnitClosedError):
        async with be.unit(uow):
            pass
    assert await names(be) == []


async def test_add_delete_and_get_on_the_unit_itself(be):
    alice = Person.register("Alice", "alice@example.com")
    account = Account.open(alice.id)
    uow = be.new_unit()
    uow.add(alice)
    uow.add(account)
    await be.io(uow.commit())
    assert await be.io(uow.get(Person, alice.id)) is alice
    uow.delete(account)
    await be.io(uow.commit())
    await be.io(uow.close())
    async with be.unit() as check:
        assert await be.io(check.accounts.count()) == 0
        assert await be.io(check.people.count()) == 1
