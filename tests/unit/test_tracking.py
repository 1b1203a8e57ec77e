"""Change tracking and the identity map of one unit, without a server.

``UnitState`` is the I/O-free heart that both the sync and the async unit of
work drive; these tests feed it rows as a read would and inspect what it
would write.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from domain.model import Account, Money, Person
from infrastructure.bank import bank_registry
from infrastructure.persistence import (
    IdentityConflictError,
    MappingError,
    NotTrackedError,
    UnitClosedError,
    ValueEncodingError,
)
from infrastructure.persistence.state import PendingFlush, UnitState

E = TypeVar("E")


@dataclass
class Note:  # a plain, unhashable dataclass
    id: str
    text: str
    tags: list[str] = field(default_factory=list)


@pytest.fixture
def unit() -> UnitState:
    registry = bank_registry()
    registry.map(Note, key="id")
    return UnitState(registry)


def load(unit: UnitState, entity: E, version: int = 1) -> E:
    """Track ``entity`` as a read returning it at ``version`` would; returns the tracked copy."""
    mapping = unit.registry.mapping_for(type(entity))
    loaded: list[E] = unit.load_rows(mapping, [(*mapping.encode(entity), version)])
    return loaded[0]


def prepare(unit: UnitState) -> PendingFlush | None:
    """What the next flush would send; these tests track no relationships, so no read."""
    exchange = unit.prepare_flush()
    try:
        read = next(exchange)
    except StopIteration as done:
        pending: PendingFlush | None = done.value
        return pending
    raise AssertionError(f"preparing a flush read {read}")


def flush(unit: UnitState) -> None:
    """What a unit does around a successful commit query."""
    pending = prepare(unit)
    assert pending is not None
    unit.flushed(pending)


def person(name: str = "Ann", age: int | None = 30) -> Person:
    return Person(uuid.uuid4(), name, f"{name.lower()}@example.com", age)


# -- snapshots and diffs --------------------------------------------------------------


def test_loaded_entity_is_a_fresh_object_with_its_stored_version(unit: UnitState) -> None:
    original = person()
    loaded = load(unit, original, version=5)
    assert loaded is not original
    assert loaded == Person(original.id, original.name, original.email, original.age, version=5)


def test_unchanged_entity_is_no_change(unit: UnitState) -> None:
    load(unit, person())
    assert not unit.changes()
    assert prepare(unit) is None


def test_edit_is_tracked_without_marking_and_lists_only_changed_properties(
    unit: UnitState,
) -> None:
    ann = load(unit, person("Ann", 30))
    ann.age = 31
    ann.email = "new@example.com"
    (update,) = unit.changes().updates
    assert update.changed == {"age": 31, "email": "new@example.com"}
    assert update.state.entity is ann


def test_edit_reverted_before_commit_is_no_change(unit: UnitState) -> None:
    ann = load(unit, person("Ann", 30))
    ann.age = 31
    ann.age = 30
    assert not unit.changes()


def test_an_entity_stored_as_held_keeps_one_snapshot_and_diffs_against_the_stored_row(
    unit: UnitState,
) -> None:
    mapping = unit.registry.mapping_for(Person)
    ann = person("Ann", 30)
    row = (*mapping.encode(ann), 3)
    loaded = load(unit, ann, version=3)
    state = unit.identity.state_of(loaded)
    assert state is not None
    assert state.encoded is None  # the field snapshot is the only copy kept
    assert state.snapshot == row[:-1]  # the stored row, key as stored text
    assert isinstance(state.snapshot[mapping.key_index], str)
    loaded.age = 31
    (update,) = unit.changes().updates
    assert update.changed == {"age": 31}
    flush(unit)
    assert state.snapshot == (*row[:3], 31)


def test_an_edit_changed_back_keeps_the_stored_row_as_snapshot(unit: UnitState) -> None:
    mapping = unit.registry.mapping_for(Person)
    ann = load(unit, person("Ann", 30))
    stored = (*mapping.encode(ann),)
    ann.age = 31
    assert unit.changes()
    ann.age = 30
    assert not unit.changes()
    state = unit.identity.state_of(ann)
    assert state is not None
    assert state.snapshot == stored
    ann.name = "Anna"
    unit.rollback()
    assert (ann.name, ann.age) == ("Ann", 30)
    assert not unit.changes()


def test_an_entity_with_decoded_fields_keeps_its_stored_row(unit: UnitState) -> None:
    mapping = unit.registry.mapping_for(Account)
    account = load(unit, Account.open(uuid.uuid4()))
    state = unit.identity.state_of(account)
    assert state is not None
    assert state.encoded == mapping.encode(account)  # Decimal text is not the field value


def test_in_place_mutation_of_a_list_is_tracked(unit: UnitState) -> None:
    note = load(unit, Note("n1", "hello", ["a"]), version=0)
    note.tags.append("b")
    (update,) = unit.changes().updates
    assert update.changed == {"tags": ["a", "b"]}


def test_replacing_a_value_object_with_an_equal_one_is_no_change(unit: UnitState) -> None:
    acc = load(unit, Account(uuid.uuid4(), uuid.uuid4(), Money(Decimal("1.50"))))
    acc.balance = Money(Decimal("1.50"), "EUR")
    assert not unit.changes()


def test_changing_a_decimal_exponent_is_a_change(unit: UnitState) -> None:
    acc = load(unit, Account(uuid.uuid4(), uuid.uuid4(), Money(Decimal("1.5"))))
    acc.balance = Money(Decimal("1.50"))  # equal as numbers, stored differently
    (update,) = unit.changes().updates
    assert update.changed == {"balance_amount": "1.50"}


def test_changing_the_key_is_refused_with_what_to_do(unit: UnitState) -> None:
    ann = load(unit, person())
    old = ann.id
    ann.id = uuid.uuid4()
    with pytest.raises(MappingError) as caught:
        unit.changes()
    message = str(caught.value)
    assert f"Person[{old!r}]" in message
    assert "keys cannot change" in message
    assert "add a new entity and delete the old one" in message


def test_rollback_restores_a_changed_key(unit: UnitState) -> None:
    ann = load(unit, person())
    old = ann.id
    ann.id = uuid.uuid4()
    unit.rollback()
    assert ann.id == old
    assert not unit.changes()


def test_unstorable_edit_names_entity_key_and_field(unit: UnitState) -> None:
    note = load(unit, Note("n1", "hi"), version=0)
    note.text = "nul\x00"
    with pytest.raises(ValueEncodingError, match=r"Note\['n1'\]\.text: .*NUL"):
        prepare(unit)


# -- has_pending_changes ---------------------------------------------------------------


def test_has_pending_changes_follows_edits_adds_and_deletes(unit: UnitState) -> None:
    ann = load(unit, person("Ann", 30))
    assert not unit.has_pending_changes()
    ann.age = 40
    assert unit.has_pending_changes()
    ann.age = 30
    assert not unit.has_pending_changes()
    unit.delete(ann)
    assert unit.has_pending_changes()
    unit.add(ann)  # un-delete
    assert not unit.has_pending_changes()
    unit.add(person("Bob"))
    assert unit.has_pending_changes()


def test_an_unstorable_edit_still_counts_as_pending(unit: UnitState) -> None:
    note = load(unit, Note("n1", "hi"), version=0)
    note.text = "nul\x00"
    assert unit.has_pending_changes()


def test_nothing_is_pending_after_a_flush(unit: UnitState) -> None:
    load(unit, person()).age = 1
    unit.add(person("New"))
    flush(unit)
    assert not unit.has_pending_changes()


# -- flush bookkeeping -----------------------------------------------------------------


def test_flush_moves_snapshots_and_versions_forward(unit: UnitState) -> None:
    ann = load(unit, person("Ann", 30), version=4)
    new = person("New")
    unit.add(new)
    ann.age = 31
    flush(unit)
    assert ann.version == 5
    assert new.version == 1
    ann.age = 32
    (update,) = unit.changes().updates
    assert update.changed == {"age": 32}
    assert update.state.version == 5


def test_flushed_delete_is_forgotten(unit: UnitState) -> None:
    gone = load(unit, person())
    unit.delete(gone)
    flush(unit)
    mapping = unit.registry.mapping_for(Person)
    assert unit.tracked(mapping, gone.id) == (False, None)


# -- rollback ---------------------------------------------------------------------------


def test_rollback_restores_loaded_entities_and_drops_pending_work(unit: UnitState) -> None:
    ann = load(unit, person("Ann", 30), version=2)
    acc = load(unit, Account(uuid.uuid4(), uuid.uuid4(), Money(Decimal("5.00"))))
    gone = load(unit, person("Gone"))
    new = person("New")
    ann.name, ann.age = "Changed", 99
    ann.version = 77
    acc.balance = Money(Decimal("6.00"))
    unit.delete(gone)
    unit.add(new)

    had_flushed = unit.rollback()

    assert had_flushed is False
    assert (ann.name, ann.age, ann.version) == ("Ann", 30, 2)
    assert acc.balance == Money(Decimal("5.00"))
    mapping = unit.registry.mapping_for(Person)
    assert unit.tracked(mapping, gone.id) == (True, gone)
    assert unit.tracked(mapping, new.id) == (False, None)
    assert not unit.has_pending_changes()


def test_rollback_keeps_the_same_objects(unit: UnitState) -> None:
    ann = load(unit, person("Ann"))
    ann.name = "X"
    unit.rollback()
    mapping = unit.registry.mapping_for(Person)
    assert unit.tracked(mapping, ann.id)[1] is ann


def test_rollback_after_flush_reports_flushed_work_and_restores_the_flushed_state(
    unit: UnitState,
) -> None:
    ann = load(unit, person("Ann", 30), version=1)
    ann.age = 31
    flush(unit)
    ann.age = 50
    assert unit.rollback() is True
    assert (ann.age, ann.version) == (31, 2)
    assert unit.rollback() is False  # reported once; nothing flushed since


def test_commit_done_ends_the_flushed_scope(unit: UnitState) -> None:
    load(unit, person()).age = 5
    flush(unit)
    unit.commit_done()
    assert unit.rollback() is False


# -- identity map -----------------------------------------------------------------------


def test_one_object_per_key_and_local_edits_win_over_a_reread(unit: UnitState) -> None:
    stored = person("Ann", 30)
    first = load(unit, stored)
    first.age = 31
    again = load(unit, stored)
    assert again is first
    assert again.age == 31


def test_identity_is_per_class(unit: UnitState) -> None:
    shared = uuid.uuid4()
    p = load(unit, Person(shared, "A", "a@x"))
    a = load(unit, Account(shared, uuid.uuid4(), Money(Decimal("0"))))
    assert p is not a
    assert unit.tracked(unit.registry.mapping_for(Person), shared)[1] is p
    assert unit.tracked(unit.registry.mapping_for(Account), shared)[1] is a


def test_a_second_object_under_a_tracked_key_is_refused(unit: UnitState) -> None:
    ann = load(unit, person("Ann"))
    twin = Person(ann.id, "Twin", "t@x")
    with pytest.raises(IdentityConflictError) as caught:
        unit.add(twin)
    assert f"Person[{ann.id!r}] is already tracked" in str(caught.value)
    assert "change the existing object" in str(caught.value)


def test_adding_the_same_object_twice_is_harmless(unit: UnitState) -> None:
    p = person()
    unit.add(p)
    unit.add(p)
    assert len(unit.changes().creates) == 1


def test_deleted_entities_are_left_out_of_reads(unit: UnitState) -> None:
    stored = person()
    unit.delete(load(unit, stored))
    assert load_all(unit, [stored]) == []


def load_all(unit: UnitState, entities: list[Any]) -> list[Any]:
    mapping = unit.registry.mapping_for(type(entities[0]))
    return unit.load_rows(mapping, [(*mapping.encode(e), 1) for e in entities])


def test_unhashable_plain_dataclass_is_tracked(unit: UnitState) -> None:
    note = Note("n1", "hello")
    with pytest.raises(TypeError):
        hash(note)
    unit.add(note)
    (create,) = unit.changes().creates
    assert create.state.entity is note


def test_deleting_an_untracked_entity_names_it(unit: UnitState) -> None:
    stranger = person()
    with pytest.raises(NotTrackedError) as caught:
        unit.delete(stranger)
    assert f"cannot remove Person[{stranger.id!r}]: this unit does not track" in str(caught.value)
    assert "merge" in str(caught.value)


def test_adding_an_unmapped_object_names_its_class(unit: UnitState) -> None:
    @dataclass
    class Stranger:
        id: int

    with pytest.raises(MappingError, match="'Stranger' is not mapped"):
        unit.add(Stranger(1))


def test_adding_an_entity_with_an_unstorable_key_is_refused_at_once(unit: UnitState) -> None:
    with pytest.raises(ValueEncodingError, match="Person key: expected UUID"):
        unit.add(Person("not-a-uuid", "A", "a@x"))  # type: ignore[arg-type]


def test_values_are_checked_at_commit_not_at_add(unit: UnitState) -> None:
    acc = Account(uuid.uuid4(), uuid.uuid4(), Money(Decimal("1")))
    unit.add(acc)  # fine until commit
    object.__setattr__(acc.balance, "amount", Decimal("Infinity"))
    with pytest.raises(ValueEncodingError) as caught:
        prepare(unit)
    assert f"Account[{acc.id!r}].balance" in str(caught.value)
    assert math.isinf(acc.balance.amount)


def test_a_new_entity_is_written_under_its_key_however_the_key_object_changes(
    unit: UnitState,
) -> None:
    ann, bob = person("Ann"), person("Bob")
    unit.add(ann)
    unit.add(bob)
    ann.id = uuid.UUID(str(ann.id))  # an equal key, another object: the same stored key
    (first, second) = unit.changes().creates
    assert (first.values[0], second.values[0]) == (str(ann.id), str(bob.id))
    bob.id = uuid.uuid4()  # another key: refused, as for a loaded entity
    with pytest.raises(MappingError, match="keys cannot change once an entity is tracked"):
        unit.changes()
    bob.id = "not-a-uuid"  # type: ignore[assignment]
    with pytest.raises(ValueEncodingError, match=r"Person\['not-a-uuid'\]\.id"):
        unit.changes()


# -- closed -------------------------------------------------------------------------------


def test_closed_state_refuses_work(unit: UnitState) -> None:
    ann = load(unit, person())
    unit.close()
    for action in (lambda: unit.add(person()), lambda: unit.delete(ann), lambda: prepare(unit)):
        with pytest.raises(UnitClosedError, match="this unit of work is closed"):
            action()
