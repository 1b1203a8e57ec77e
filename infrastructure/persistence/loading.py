"""Turning rows into tracked entities, and loading relationships.

Every load goes through the unit's identity map: a key already tracked
yields the tracked object unchanged (local edits win over what was read),
and entities deleted in the unit are left out.

Relationships not loaded eagerly get a lazy loader. Loaders of entities read
by the same query share a ``LoadGroup``: touching one entity's relationship
loads it for every entity of the group in one query, so walking a list of
entities never costs a query per entity.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from . import reads
from .conversation import Reader
from .errors import RelationshipNotLoadedError, StoredValueError
from .identity import OWNER, IdentityMap, InstanceState, Status, UnitMark
from .mapping import EntityMapping, RelationshipMapping
from .relationships import LAZY, Edges, clear_lazy, is_loaded

T = TypeVar("T")


class UnitState(Protocol):
    """What loading reads and marks of a unit's tracking state (``state.UnitState``)."""

    closed: bool
    identity: IdentityMap
    lazy_reader: Reader | None
    mark: UnitMark


class LoadGroup:
    """The entities one read loaded, for batched lazy loading."""

    __slots__ = ("_loaders", "states")

    def __init__(self) -> None:
        self.states: list[InstanceState] = []
        self._loaders: dict[str, LazyRelationship] | None = None

    def loaders(
        self, unit: UnitState, rels: Sequence[RelationshipMapping]
    ) -> dict[str, LazyRelationship]:
        """The lazy loaders every entity of the group shares (see ``relationships.LAZY``)."""
        if self._loaders is None:
            self._loaders = {rel.name: LazyRelationship(unit, self, rel) for rel in rels}
        return self._loaders


def _no_loader() -> None:
    return None


class LazyRelationship:
    """Loads one relationship, for the whole load group, on first access.

    A copy or a pickle of an entity is not tracked: its loaders become None
    (the relationship then reads as not loaded).
    """

    __slots__ = ("group", "rel", "unit")

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (_no_loader, ())

    def __deepcopy__(self, memo: dict[int, Any]) -> None:
        return None

    def __init__(self, unit: UnitState, group: LoadGroup, rel: RelationshipMapping) -> None:
        self.unit = unit
        self.group = group
        self.rel = rel

    def __call__(self, entity: object) -> None:
        rel, unit = self.rel, self.unit
        where = f"{rel.source.describe(entity)}.{rel.name}"
        if unit.closed:
            raise RelationshipNotLoadedError(
                f"{where} was not loaded before its unit of work closed; load it inside the "
                f"unit, or eagerly with load=[{rel.name!r}]"
            )
        reader = unit.lazy_reader
        if reader is None:
            raise RelationshipNotLoadedError(
                f"{where} is not loaded and an async unit cannot load on attribute access; "
                f"load it eagerly with load=[{rel.name!r}] or "
                f"`await uow.<repository>.load_related(entities, {rel.name!r})`"
            )
        pending = [
            s
            for s in self.group.states
            if s.status is not Status.DELETED
            and unit.identity.state_of(s.entity) is s
            and not is_loaded(s.entity, rel.name)
        ]
        own = unit.identity.state_of(entity)
        if own is not None and own not in pending:
            pending.append(own)
        apply_related(unit, rel, pending, reader(related_read(rel, pending)))


def related_read(rel: RelationshipMapping, states: Sequence[InstanceState]) -> reads.Read:
    return reads.related(rel, [s.key for s in states])


def _track(
    unit: UnitState, mapping: EntityMapping[Any], values: tuple[Any, ...], version: int
) -> tuple[InstanceState | None, bool]:
    """The state for a stored row: (state or None if deleted here, whether it is new)."""
    stored = values[mapping.key_index]
    state = unit.identity.table(mapping).by_stored.get(stored)
    if state is not None:
        return (None if state.status is Status.DELETED else state), False
    try:
        key = mapping.key_codec.decode(stored)
    except (TypeError, ValueError, ArithmeticError):
        raise undecodable(mapping, values) from None
    entity, fields = mapping.load(values, key, version)
    encoded = None if mapping.snapshot_from_fields else values  # one snapshot, not two
    state = InstanceState(
        mapping, key, entity, Status.PERSISTENT, encoded, version, None, fields, stored
    )
    if type(fields) is not tuple:
        state.snapshot, state.raw = fields.baseline, values  # type: ignore[attr-defined]
    unit.identity.track_loaded(state)
    if not mapping.slots:
        entity.__dict__[OWNER] = unit.mark
    return state, True


def load_rows(
    unit: UnitState,
    mapping: EntityMapping[T],
    rows: Sequence[Sequence[Any]],
    load: Sequence[RelationshipMapping] = (),
    keys: dict[Any, Any] | None = None,
) -> list[T]:
    """Entities for rows of ``reads.projection`` (+ one column per ``load`` relationship).

    ``keys`` maps stored keys to the decoded keys the caller holds already
    (of ``mapping.key_class`` exactly): those are not decoded again.
    """
    if load:
        return _load_rows_with_relationships(unit, mapping, rows, load)
    # The hot path of every large read: ``_track`` inlined; relationships lazy.
    group = LoadGroup() if mapping.relationships else None
    lazy = group.loaders(unit, list(mapping.relationships.values())) if group else None
    states = group.states if group else None
    width = len(mapping.properties)
    key_index = mapping.key_index
    decode_key = mapping.key_codec.decode
    known = keys.get if keys else None
    build = mapping.load
    table = unit.identity.table(mapping)
    by_key = table.by_key
    by_object = unit.identity.by_object
    by_stored = table.by_stored
    persistent, deleted = Status.PERSISTENT, Status.DELETED
    marks = not mapping.slots
    plain = tuple
    derived = mapping.snapshot_from_fields is not None  # one snapshot, not two
    out: list[T] = []
    values: tuple[Any, ...] = ()
    try:
        for row in rows:
            values = tuple(row[:width])
            stored = values[key_index]
            state = by_stored.get(stored)
            if state is None:
                key = None if known is None else known(stored)
                if key is None:
                    key = decode_key(stored)
                version = row[width]
                entity, fields = build(values, key, version)
                state = InstanceState(
                    mapping,
                    key,
                    entity,
                    persistent,
                    None if derived else values,
                    version,
                    None,
                    fields,
                    stored,
                )
                if type(fields) is not plain:  # decoded carefully: see careful.Loaded
                    state.snapshot, state.raw = fields.baseline, values  # type: ignore[attr-defined]
                by_key[key] = state
                by_object[id(entity)] = state
                by_stored[stored] = state
                if marks:
                    entity.__dict__[OWNER] = unit.mark
                if lazy is not None:
                    entity.__dict__[LAZY] = lazy
                out.append(entity)
            elif state.status is not deleted:
                out.append(state.entity)
            else:
                continue
            if states is not None:
                states.append(state)
    except (TypeError, ValueError, ArithmeticError):  # a key that does not decode
        raise undecodable(mapping, values) from None
    return out


def undecodable(mapping: EntityMapping[Any], values: Sequence[Any]) -> StoredValueError:
    """The error naming what in a stored row does not load."""
    problems = mapping.problems(values)
    if problems:
        return problems[0]
    key = values[mapping.key_index]
    return StoredValueError(mapping.label, key, mapping.key_property, key, "it does not decode")


def _load_rows_with_relationships(
    unit: UnitState,
    mapping: EntityMapping[T],
    rows: Sequence[Sequence[Any]],
    load: Sequence[RelationshipMapping],
) -> list[T]:
    width = len(mapping.properties)
    lazy = [r for r in mapping.relationships.values() if r not in load]
    group = LoadGroup() if lazy else None
    targets = [LoadGroup() for _ in load]
    out: list[T] = []
    for row in rows:
        state, fresh = _track(unit, mapping, tuple(row[:width]), row[width])
        if state is None:
            continue
        entity = state.entity
        out.append(entity)
        for i, rel in enumerate(load):
            if not is_loaded(entity, rel.name):
                _set_edges(unit, state, rel, row[width + 1 + i], targets[i])
        if group is not None:
            group.states.append(state)
            if fresh:
                entity.__dict__[LAZY] = group.loaders(unit, lazy)
    return out


def apply_related(
    unit: UnitState,
    rel: RelationshipMapping,
    states: Sequence[InstanceState],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Set ``rel`` on ``states`` from rows of ``reads.related``."""
    by_key = {rel.source.key_codec.decode(key): items for key, items in rows}
    targets = LoadGroup()
    for state in states:
        if not is_loaded(state.entity, rel.name):
            _set_edges(unit, state, rel, by_key.get(state.key, []), targets)


def _set_edges(
    unit: UnitState,
    state: InstanceState,
    rel: RelationshipMapping,
    items: Sequence[Any],
    targets: LoadGroup,
) -> None:
    target = rel.target
    width = len(target.properties)
    edges: Edges = {}
    deleted: Edges = {}  # stored edges to targets this unit deletes: kept, not shown
    for item in items:
        target_state, fresh = _track(unit, target, tuple(item[:width]), item[width])
        if target_state is None:
            gone = unit.identity.table(target).by_stored.get(item[target.key_index])
            if gone is not None:
                props = tuple(item[width + 1 :])
                deleted[gone.stored_key] = (rel.decode_edge(gone.entity, props), props)
            continue
        if fresh and target.relationships:
            targets.states.append(target_state)
            rels = list(target.relationships.values())
            target_state.entity.__dict__[LAZY] = targets.loaders(unit, rels)
        props = tuple(item[width + 1 :])
        if target_state.stored_key not in edges:
            edges[target_state.stored_key] = (rel.decode_edge(target_state.entity, props), props)
    if state.edges is None:
        state.edges = {}
    # What is stored counts every edge (a cascade expects them all; a rollback,
    # which undoes the deletes, shows them again); the entity shows the live ones.
    state.edges[rel.name] = {**deleted, **edges} if deleted else edges
    rel.assign(state.entity, edges)
    clear_lazy(state.entity, rel.name)


def apply_stored_row(state: InstanceState, row: Sequence[Any]) -> None:
    """Give a tracked entity the stored values and version of ``row`` (``reads.projection``)."""
    mapping, entity = state.mapping, state.entity
    width = len(mapping.properties)
    values = tuple(row[:width])
    fresh, fields = mapping.load(values, state.key, row[width])
    for name in mapping.field_names:
        object.__setattr__(entity, name, getattr(fresh, name))
    state.status = Status.PERSISTENT
    state.version = row[width]
    mapping.set_version(entity, state.version)
    state.fields = mapping.snapshot_of(entity)
    baseline = getattr(fields, "baseline", None)
    state.snapshot, state.raw = (values, None) if baseline is None else (baseline, values)


def copy_fields(mapping: EntityMapping[Any], source: object, target: object) -> None:
    """Give ``target`` the stored fields of ``source`` (mutable values copied)."""
    for name, value in zip(mapping.field_names, mapping.snapshot_of(source), strict=True):
        object.__setattr__(target, name, value)
