"""Upserts by key and set-based changes, written by the unit's next commit.

``upsert`` writes an entity by its key whether or not it is stored;
``update_where`` and ``delete_where`` change every node of a label that a
criterion matches, without loading them. All three are queued on the unit
(``UnitState.bulk``) and compiled into the same atomic commit query as the
tracked changes (``bulk_plan``), so a failure anywhere writes nothing.

What the unit holds afterwards:

- an upserted object is tracked, at the version the commit stored (its
  ``version`` field is set), as if loaded: later edits in the unit are
  checked against that version;
- an upsert of a key the unit already tracks copies the object's fields onto
  the tracked one instead (as ``merge`` does): an ordinary update, checked on
  the version the unit read;
- tracked entities an ``update_where`` matched are given their stored
  values and version; those a ``delete_where`` matched stop being tracked;
- ``Affected.count``, returned by both, is the number of nodes matched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .criteria import Criterion
from .errors import (
    IdentityConflictError,
    MappingError,
    PersistenceError,
    ResultPendingError,
)
from .expressions import Arith
from .identity import OWNER, InstanceState, Status, owned_elsewhere
from .loading import LoadGroup, apply_stored_row, copy_fields
from .loading import UnitState as LoadingUnit
from .mapping import EntityMapping
from .relationships import LAZY


@dataclass(eq=False)
class Affected:
    """How many nodes a set-based change matched; known once its commit succeeded."""

    what: str
    _count: int | None = field(default=None, repr=False)

    @property
    def count(self) -> int:
        """The number of nodes changed (or deleted).

        Raises:
            ResultPendingError: the unit has not committed the change yet (or the
                commit failed, or its outcome is unknown).
        """
        if self._count is None:
            raise ResultPendingError(
                f"{self.what} is written by the unit's next commit: its count is known "
                "once that commit succeeded (read it after `with uow:` or uow.commit())"
            )
        return self._count


@dataclass(eq=False, slots=True)
class Upsert:
    mapping: EntityMapping[Any]
    entity: Any
    stored_key: Any
    values: tuple[Any, ...] = ()  # encoded when the commit is planned


@dataclass(frozen=True, eq=False)
class UpdateWhere:
    mapping: EntityMapping[Any]
    where: Criterion
    sets: dict[str, Any]  # stored property -> encoded value or ``Arith``
    result: Affected


@dataclass(frozen=True, eq=False)
class DeleteWhere:
    mapping: EntityMapping[Any]
    where: Criterion
    result: Affected


BulkOp = Upsert | UpdateWhere | DeleteWhere


class Tracking(LoadingUnit, Protocol):
    """What queuing and settling read and change of a unit (``state.UnitState``)."""

    bulk: list[BulkOp]

    def check_open(self) -> None: ...

    def check_alone(self) -> None: ...


# What the commit query returns for the queued operations, by name (see ``bulk_plan``).


def count_name(at: int) -> str:
    return f"bulk_{at}"


def rows_name(at: int) -> str:
    return f"bulk_{at}_rows"


def upsert_name(label: str) -> str:
    return f"upsert_{label}"


def upsert_groups(ops: Sequence[BulkOp]) -> list[tuple[EntityMapping[Any], list[Upsert]]]:
    """Upserts by label, the last one of each key only (in the order of first upsert)."""
    groups: dict[str, tuple[EntityMapping[Any], dict[Any, Upsert]]] = {}
    for op in ops:
        if isinstance(op, Upsert):
            groups.setdefault(op.mapping.label, (op.mapping, {}))[1][op.stored_key] = op
    return [(groups[label][0], list(groups[label][1].values())) for label in sorted(groups)]


def check_upsertable(mapping: EntityMapping[Any]) -> None:
    if mapping.vectors:
        raise MappingError(
            f"{mapping.name} maps vector fields ({', '.join(mapping.vectors)}), which an "
            "upsert cannot compare with what is stored; add or load and change such entities"
        )


def check_unlinked(mapping: EntityMapping[Any], entity: Any) -> None:
    """Refuse an upsert of an entity whose relationships hold targets (not written)."""
    linked = [n for n in mapping.relationships if entity.__dict__.get(n)]
    if linked:
        raise MappingError(
            f"{mapping.describe(entity)}: an upsert writes properties only, and "
            f"{', '.join(linked)} hold targets; upsert it with them empty and link it "
            "after the commit (the unit then tracks it), or add/load it and link it"
        )


def upsert(unit: Tracking, mapping: EntityMapping[Any], entities: Iterable[Any]) -> list[Any]:
    """Queue ``entities`` to be written by key; returns the objects the unit will track.

    Raises:
        MappingError: the mapping has vector fields, or an entity's
            relationships hold targets.
        ValueEncodingError: a key cannot be stored.
        IdentityConflictError: the unit deletes that key, or another open unit
            tracks the entity.
    """
    unit.check_open()
    unit.check_alone()
    check_upsertable(mapping)
    identity = unit.identity
    by_object, by_stored = identity.by_object, identity.table(mapping).by_stored
    key_of, encode_key = mapping.key_of, mapping.encode_key
    rels, marks = mapping.relationships, not mapping.slots
    queued: list[BulkOp] = []
    out: list[Any] = []
    try:
        for entity in entities:
            stored_key = encode_key(key_of(entity))
            own = by_object.get(id(entity))
            if own is not None and own.entity is entity:
                out.append(entity)  # tracked already: its changes are written anyway
                continue
            tracked = by_stored.get(stored_key)
            if tracked is not None:
                out.append(_onto_tracked(mapping, entity, tracked))
                continue
            if marks and entity.__dict__.get(OWNER) is not None and owned_elsewhere(entity, unit):
                raise IdentityConflictError(
                    f"{mapping.describe(entity)} is tracked by another open unit of work; "
                    "upsert a copy of it, or load it in this unit"
                )
            if rels:
                check_unlinked(mapping, entity)
            # One write per key and commit: the last upsert of a key is the one written.
            queued.append(Upsert(mapping, entity, stored_key))
            out.append(entity)
    finally:
        unit.bulk.extend(queued)  # those before a refused one stay queued, as with add()
    return out


def _onto_tracked(mapping: EntityMapping[Any], entity: Any, tracked: InstanceState) -> Any:
    if tracked.mapping is not mapping:
        raise IdentityConflictError(
            f"{mapping.describe(entity)}: this unit tracks that key as a "
            f"{tracked.mapping.name}; one key is one entity of one class"
        )
    if tracked.status is Status.DELETED:
        raise IdentityConflictError(
            f"{mapping.describe(entity)} is marked for deletion in this unit, so it cannot be "
            "upserted in the same unit: commit the delete first, or add() the tracked object "
            "again to undo the delete"
        )
    copy_fields(mapping, entity, tracked.entity)
    mapping.set_version(tracked.entity, tracked.version)  # checked on the version read
    return tracked.entity


def settle_upserts(unit: Tracking) -> None:
    """Turn queued upserts of keys the unit has come to track into edits of those entities."""
    kept: list[BulkOp] = []
    for op in unit.bulk:
        if isinstance(op, Upsert):
            tracked = unit.identity.table(op.mapping).by_stored.get(op.stored_key)
            if tracked is not None and tracked.entity is not op.entity:
                _onto_tracked(op.mapping, op.entity, tracked)
                continue
            if tracked is not None:
                continue
        kept.append(op)
    unit.bulk[:] = kept


def sets_of(mapping: EntityMapping[Any], values: dict[str, Any]) -> dict[str, Any]:
    """Checked, encoded assignments of ``update_where``.

    Raises:
        MappingError: no assignment, the key or an unknown field assigned, or
            arithmetic that does not fit (see ``Arith.check``).
        ValueEncodingError: a value cannot be stored in its field.
    """
    if not values:
        raise MappingError(f"{mapping.name}.update_where: give at least one field to set")
    out: dict[str, Any] = {}
    for prop, value in values.items():
        codec = mapping.codec_of(prop)
        if prop == mapping.key_property:
            raise MappingError(
                f"{mapping.name}.update_where cannot set the key {prop!r}: keys never change"
            )
        if isinstance(value, Arith):
            if prop in mapping.vectors:
                raise MappingError(f"{mapping.name}.{prop} is a vector: set a value instead")
            value.check(mapping, prop)
            out[prop] = value
            continue
        try:
            out[prop] = codec.encode(value)
        except PersistenceError as exc:
            raise type(exc)(f"{mapping.name}.update_where {prop}: {exc}") from None
    return out


def check_deletable(mapping: EntityMapping[Any]) -> None:
    cascading = [r.name for r in mapping.relationships.values() if r.on_delete == "cascade"]
    if cascading:
        raise MappingError(
            f"{mapping.name}.delete_where: {', '.join(cascading)} cascade on delete, and a "
            "set-based delete does not follow them; load the entities and remove() them"
        )


def settle(unit: Tracking, ops: list[BulkOp], outcomes: dict[str, Any] | None) -> None:
    """After the commit that wrote ``ops``: counts set, the identity map made coherent.

    ``outcomes`` maps each result name of ``bulk_plan`` to what the commit
    returned; None when the commit's reply is unknown (counts stay pending).
    """
    written = {id(op) for op in ops}
    unit.bulk[:] = [op for op in unit.bulk if id(op) not in written]
    if outcomes is None:
        return
    for mapping, group in upsert_groups(ops):
        name = upsert_name(mapping.label)
        versions = dict(outcomes[name]) if mapping.version_property else {}
        _track_upserted(unit, group, versions, 1 if mapping.version_property else 0)
    for at, op in enumerate(ops):
        if isinstance(op, Upsert):
            continue
        count, rows = outcomes[count_name(at)], outcomes[rows_name(at)]
        op.result._count = int(count)
        mapping = op.mapping
        for row in rows:
            stored = row if isinstance(op, DeleteWhere) else row[mapping.key_index]
            state = unit.identity.table(mapping).by_stored.get(stored)
            if state is None:
                continue
            if isinstance(op, DeleteWhere):
                unit.identity.forget(state)
            else:
                apply_stored_row(state, row, mapping)


def _track_upserted(
    unit: Tracking, ops: Sequence[Upsert], versions: dict[Any, int], otherwise: int
) -> None:
    """Track the objects of ``ops`` (one mapping) as stored, as a load would.

    ``versions`` holds the stored version of each key whose version is not ``otherwise``.
    """
    mapping = ops[0].mapping
    by_stored = unit.identity.table(mapping).by_stored
    track = unit.identity.track_loaded
    set_version, snapshot_of, key_of = mapping.set_version, mapping.snapshot_of, mapping.key_of
    marks = not mapping.slots
    loaders = None
    if mapping.relationships:  # not written by an upsert: they load as stored
        group = LoadGroup()
        loaders = group.loaders(unit, list(mapping.relationships.values()))
    for op in reversed(ops):  # the last upsert of a key is the one written, and tracked
        if op.stored_key in by_stored:
            continue
        entity = op.entity
        version = versions.get(op.stored_key, otherwise)
        set_version(entity, version)
        state = InstanceState(
            mapping,
            key_of(entity),
            entity,
            Status.PERSISTENT,
            op.values,
            version,
            None,
            snapshot_of(entity),
            op.stored_key,
        )
        track(state)
        if marks:
            entity.__dict__[OWNER] = unit.mark
        if loaders is not None:
            values = entity.__dict__
            for name in mapping.relationships:
                values.pop(name, None)
            values[LAZY] = loaders
            group.states.append(state)
