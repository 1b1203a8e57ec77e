"""The unit of work's life cycle, against the real server, sync and async alike.

Every test runs twice (``harness`` is parametrized by variant); see conftest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from domain.model import Account, Money, Person
from infrastructure.bank import AsyncBankUnitOfWork, BankUnitOfWork
from infrastructure.persistence import (
    AsyncRepository,
    AsyncUnitOfWork,
    FlushedWorkError,
    MappingError,
    Registry,
    Repository,
    UnitClosedError,
    UnitOfWork,
)
from tests.units import settled

if TYPE_CHECKING:
    from tests.integration.conftest import Harness


class Boom(Exception):
    pass


def alice() -> Person:
    return Person.register("Alice", "alice@example.com", 30)


async def store(harness: Harness, *entities: object) -> None:
    async with harness.unit() as uow:
        for entity in entities:
            uow.add(entity)


# -- commit and rollback at the end of the block -------------------------------------------


async def test_clean_exit_commits_and_closes(harness: Harness) -> None:
    person = alice()
    account = Account.open(person.id)
    account.deposit(Money.of("12.50"))
    async with harness.unit() as uow:
        uow.people.add(person)
        uow.accounts.add(account)
        assert uow.is_active
    assert not uow.is_active
    assert len(harness.log.writes) == 1  # everything in one query
    async with harness.unit() as uow:
        loaded = await uow.accounts.get(account.id)
        assert loaded.balance == Money(Decimal("12.50"))
        assert loaded.owner_id == person.id
        assert (await uow.people.get(person.id)).name == "Alice"


async def test_exception_rolls_back_writes_nothing_and_propagates(harness: Harness) -> None:
    error = Boom("stop")
    uow = harness.unit()

    async def fail() -> None:
        async with uow:
            uow.people.add(alice())
            raise error

    with pytest.raises(Boom) as caught:
        await fail()
    assert caught.value is error
    assert not uow.is_active
    assert harness.count() == 0
    assert harness.log.writes == []


async def test_exception_after_an_explicit_commit_keeps_what_was_committed(
    harness: Harness,
) -> None:
    kept, dropped = alice(), Person.register("Bob", "bob@example.com")

    async def fail() -> None:
        async with harness.unit() as uow:
            uow.add(kept)
            await uow.commit()
            uow.add(dropped)
            raise Boom

    with pytest.raises(Boom):
        await fail()
    assert harness.stored("Person", str(kept.id)) is not None
    assert harness.stored("Person", str(dropped.id)) is None


async def test_commit_keeps_the_unit_open_for_more_work(harness: Harness) -> None:
    person = alice()
    async with harness.unit() as uow:
        uow.add(person)
        await uow.commit()
        assert uow.is_active
        person.age = 31
        await uow.commit()
        assert person.version == 2
    assert harness.stored("Person", str(person.id))["age"] == 31  # type: ignore[index]


# -- change tracking ------------------------------------------------------------------------


async def test_edits_are_tracked_without_any_marking(harness: Harness) -> None:
    person = alice()
    await store(harness, person)
    async with harness.unit() as uow:
        loaded = await uow.people.get(person.id)
        loaded.age += 1
        loaded.email = "alice@new.example.com"
    stored = harness.stored("Person", str(person.id))
    assert stored is not None
    assert (stored["age"], stored["email"], stored["version"]) == (31, "alice@new.example.com", 2)


async def test_commit_moves_the_entity_version_forward(harness: Harness) -> None:
    person = alice()
    await store(harness, person)
    assert person.version == 1
    async with harness.unit() as uow:
        loaded = await uow.people.get(person.id)
        assert loaded.version == 1
        loaded.name = "Alicia"
        await uow.flush()
        assert loaded.version == 2
    assert harness.stored("Person", str(person.id))["version"] == 2  # type: ignore[index]


async def test_only_changed_properties_are_written(harness: Harness) -> None:
    account = Account.open(alice().id)
    await store(harness, account)
    harness.log.clear()
    async with harness.unit() as uow:
        loaded = await uow.accounts.get(account.id)
        loaded.deposit(Money.of("5.00"))
    (write,) = harness.log.writes
    (row,) = write.params["update_Account"]
    assert row["p"] == {"balance_amount": "5.00"}
    # the server set the one changed property and the version, nothing else
    assert write.result.properties_set == 2


@dataclass
class Note:
    """An unversioned entity: two units may edit it; each writes only what it changed."""

    id: str
    title: str
    body: str
    tags: list[str] = field(default_factory=list)


@pytest.fixture
def notes(harness: Harness) -> Registry:
    registry = Registry()
    registry.map(Note, key="id")
    return harness.prepare(registry)


async def test_a_concurrent_edit_of_another_property_survives(
    harness: Harness, notes: Registry
) -> None:
    async with harness.unit(notes) as uow:
        uow.add(Note("n1", "Title", "Body"))
    async with harness.unit(notes) as first:
        mine = await first.repository(Note).get("n1")
        async with harness.unit(notes) as second:
            (await second.repository(Note).get("n1")).body = "Body edited elsewhere"
        mine.title = "Title edited here"
        mine.tags.append("mine")
    stored = harness.stored("Note", "n1")
    assert stored == {
        "id": "n1",
        "title": "Title edited here",
        "body": "Body edited elsewhere",
        "tags": ["mine"],
    }


async def test_unchanged_loaded_entities_cost_no_write(harness: Harness) -> None:
    person = alice()
    account = Account.open(person.id)
    await store(harness, person, account)
    harness.log.clear()
    async with harness.unit() as uow:
        loaded = await uow.people.get(person.id)
        await uow.accounts.get(account.id)
        loaded.age = 99
        loaded.age = 30  # back to what is stored
        assert not uow.has_pending_changes
        await uow.flush()
        await uow.commit()
    assert harness.log.writes == []
    assert len(harness.log.reads) == 2


async def test_has_pending_changes(harness: Harness) -> None:
    person = alice()
    await store(harness, person)
    async with harness.unit() as uow:
        assert not uow.has_pending_changes
        loaded = await uow.people.get(person.id)
        assert not uow.has_pending_changes
        loaded.name = "Changed"
        assert uow.has_pending_changes
        await uow.commit()
        assert not uow.has_pending_changes
        uow.delete(loaded)
        assert uow.has_pending_changes
        await uow.rollback()
        assert not uow.has_pending_changes


async def test_adding_and_deleting_in_one_unit_writes_nothing(harness: Harness) -> None:
    async with harness.unit() as uow:
        person = alice()
        uow.add(person)
        uow.delete(person)
    assert harness.log.writes == []
    assert harness.count() == 0


async def test_delete_removes_the_node(harness: Harness) -> None:
    person, other = alice(), Person.register("Bob", "bob@example.com")
    await store(harness, person, other)
    async with harness.unit() as uow:
        uow.people.remove(await uow.people.get(person.id))
    assert harness.stored("Person", str(person.id)) is None
    assert harness.stored("Person", str(other.id)) is not None


# -- rollback ---------------------------------------------------------------------------------


async def test_rollback_restores_state_and_discards_pending_work(harness: Harness) -> None:
    person, doomed = alice(), Person.register("Dora", "dora@example.com")
    account = Account.open(person.id)
    account.deposit(Money.of("10.00"))
    await store(harness, person, doomed, account)
    newcomer = Person.register("Neo", "neo@example.com")
    harness.log.clear()
    async with harness.unit() as uow:
        loaded = await uow.people.get(person.id)
        acc = await uow.accounts.get(account.id)
        loaded.name = "Changed"
        acc.deposit(Money.of("1.00"))
        uow.people.add(newcomer)
        uow.people.remove(await uow.people.get(doomed.id))

        await uow.rollback()

        assert loaded.name == "Alice"
        assert acc.balance == Money(Decimal("10.00"))
        assert (await uow.people.get(doomed.id)).name == "Dora"
        assert not await uow.people.exists(newcomer.id)
        assert not uow.has_pending_changes
    assert harness.log.writes == []
    assert harness.stored("Person", str(newcomer.id)) is None
    assert harness.stored("Person", str(doomed.id)) is not None


async def test_rollback_after_flush_raises_flushed_work_error_because_flushed_work_stays_stored(
    harness: Harness,
) -> None:
    person = alice()
    await store(harness, person)
    async with harness.unit() as uow:
        loaded = await uow.people.get(person.id)
        loaded.age = 40
        await uow.flush()
        loaded.age = 50
        with pytest.raises(FlushedWorkError, match="flush writes for good"):
            await uow.rollback()
        # the pending edit was discarded; the flushed one is what the entity shows
        assert (loaded.age, loaded.version) == (40, 2)
    stored = harness.stored("Person", str(person.id))
    assert (stored["age"], stored["version"]) == (40, 2)  # type: ignore[index]


async def test_exception_after_flush_keeps_flushed_work_and_says_so(harness: Harness) -> None:
    person = alice()

    async def fail() -> None:
        async with harness.unit() as uow:
            uow.add(person)
            await uow.flush()
            person.age = 77
            raise Boom

    with pytest.raises(Boom) as caught:
        await fail()
    assert any("already stored" in note for note in caught.value.__notes__)
    stored = harness.stored("Person", str(person.id))
    assert stored is not None
    assert stored["age"] == 30


async def test_rollback_after_commit_has_nothing_to_undo(harness: Harness) -> None:
    person = alice()
    async with harness.unit() as uow:
        uow.add(person)
        await uow.commit()
        await uow.rollback()  # no FlushedWorkError: the commit ended that scope
    assert harness.stored("Person", str(person.id)) is not None


# -- a closed unit ---------------------------------------------------------------------------


@dataclass
class Closed:
    """A unit closed by the end of its block, and what it had loaded."""

    uow: Any
    people: Any
    loaded: Person
    stranger: Person


CLOSED_OPERATIONS: dict[str, Callable[[Closed], Any]] = {
    "add": lambda c: c.uow.add(c.stranger),
    "delete": lambda c: c.uow.delete(c.loaded),
    "repository.add": lambda c: c.people.add(c.stranger),
    "repository.remove": lambda c: c.people.remove(c.loaded),
    "repository()": lambda c: c.uow.repository(Person),
    "has_pending_changes": lambda c: c.uow.has_pending_changes,
    "get": lambda c: c.uow.get(Person, c.loaded.id),
    "repository.get": lambda c: c.people.get(c.loaded.id),
    "get_or_none": lambda c: c.people.get_or_none(c.loaded.id),
    "get_many": lambda c: c.people.get_many([c.loaded.id]),
    "get_many([])": lambda c: c.people.get_many([]),
    "exists": lambda c: c.people.exists(c.loaded.id),
    "find_by": lambda c: c.people.find_by(name="Alice"),
    "find_one_by": lambda c: c.people.find_one_by(name="Alice"),
    "list": lambda c: c.people.list(),
    "count": lambda c: c.people.count(),
    "flush": lambda c: c.uow.flush(),
    "commit": lambda c: c.uow.commit(),
    "rollback": lambda c: c.uow.rollback(),
}


async def call(operation: Callable[[Closed], Any], closed: Closed) -> None:
    await settled(operation(closed))


@pytest.mark.parametrize("operation", list(CLOSED_OPERATIONS))
async def test_closed_unit_refuses_every_operation(harness: Harness, operation: str) -> None:
    person = alice()
    await store(harness, person)
    harness.log.clear()
    async with harness.unit() as uow:
        loaded = await uow.people.get(person.id)
    closed = Closed(uow, uow.people, loaded, Person.register("Sam", "sam@example.com"))
    assert not uow.is_active
    with pytest.raises(UnitClosedError, match="this unit of work is closed; start a new one"):
        await call(CLOSED_OPERATIONS[operation], closed)
    assert len(harness.log.sent) == 1  # the get inside the block, nothing after


async def test_closed_unit_cannot_be_entered_again_and_closes_idempotently(
    harness: Harness,
) -> None:
    async with harness.unit() as uow:
        pass
    await uow.close()
    with pytest.raises(UnitClosedError):
        await uow.__aenter__()


async def test_close_discards_pending_work(harness: Harness) -> None:
    uow = harness.unit()
    uow.add(alice())
    await uow.close()
    assert not uow.is_active
    assert harness.count() == 0


@dataclass
class Unmapped:
    id: int


class SyncUnitWithUnmappedRepository(UnitOfWork):
    things: Repository[Unmapped]


class AsyncUnitWithUnmappedRepository(AsyncUnitOfWork):
    things: AsyncRepository[Unmapped]


async def test_a_unit_declaring_a_repository_of_an_unmapped_class_fails_at_once(
    harness: Harness,
) -> None:
    unit_class = (
        SyncUnitWithUnmappedRepository
        if harness.variant == "sync"
        else AsyncUnitWithUnmappedRepository
    )
    with pytest.raises(MappingError, match="'Unmapped' is not mapped"):
        unit_class(harness.graph, harness.registry)


async def test_a_declared_repository_is_one_object_from_the_attribute_and_repository(
    harness: Harness,
) -> None:
    # The unit itself (the sync harness wraps sync units in an awaitable view).
    unit = BankUnitOfWork(harness.graph, harness.registry) if harness.variant == "sync" else None
    unit = unit or harness.unit()
    assert isinstance(unit, BankUnitOfWork | AsyncBankUnitOfWork)
    people = unit.people
    assert unit.people is people
    assert unit.repository(Person) is people
    assert unit.accounts is unit.repository(Account)
    with pytest.raises(AttributeError, match="no attribute 'peple'"):
        unit.peple  # noqa: B018 - a misspelt repository is not made up
    await settled(unit.close())


class SyncUnitWithADefault(UnitOfWork):
    people: Repository[Person] = None  # type: ignore[assignment]


class AsyncUnitWithADefault(AsyncUnitOfWork):
    people: AsyncRepository[Person] = None  # type: ignore[assignment]


async def test_a_declared_repository_with_a_class_default_is_still_the_units_repository(
    harness: Harness,
) -> None:
    person = alice()
    await store(harness, person)
    if harness.variant == "sync":
        unit: Any = SyncUnitWithADefault(harness.graph, harness.registry)
    else:
        unit = AsyncUnitWithADefault(harness.unit().graph, harness.registry)
    assert unit.people is unit.repository(Person)
    assert (await settled(unit.people.get(person.id))).name == "Alice"
    await settled(unit.close())


async def test_an_empty_unit_writes_nothing_but_still_runs_before_flush(
    harness: Harness,
) -> None:
    async with harness.unit():
        pass
    assert harness.log.writes == []
    added = alice()
    uow = harness.unit()
    uow.listen("before_flush", lambda view: view.add(added))
    async with uow:
        pass
    assert len(harness.log.writes) == 1
    assert harness.stored("Person", str(added.id)) is not None


# -- plain dataclasses ------------------------------------------------------------------------


async def test_plain_unhashable_dataclass_entity_works_end_to_end(
    harness: Harness, notes: Registry
) -> None:
    note = Note("n1", "Title", "Body", ["a"])
    with pytest.raises(TypeError):
        hash(note)
    async with harness.unit(notes) as uow:
        uow.add(note)
    async with harness.unit(notes) as uow:
        loaded = await uow.repository(Note).get("n1")
        assert loaded == note
        assert loaded is await uow.get(Note, "n1")
        loaded.tags.append("b")
    async with harness.unit(notes) as uow:
        loaded = await uow.repository(Note).get("n1")
        assert loaded.tags == ["a", "b"]
        uow.delete(loaded)
    assert harness.count("Note") == 0
