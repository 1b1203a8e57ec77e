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

    __slots__ = ("_by_class", "_loaders", "states")

    def __init__(self) -> None:
        self.states: list[InstanceState] = []
        self._loaders: dict[str, LazyRelationship] | None = None
        self._by_class: dict[EntityMapping[Any], dict[str, LazyRelationship]] | None = None

    def loaders(
        self, unit: UnitState, rels: Sequence[RelationshipMapping]
    ) -> dict[str, LazyRelationship]:
        """The lazy loaders every entity of the group shares (see ``relationships.LAZY``)."""
        if self._loaders is None:
            self._loaders = {rel.name: LazyRelationship(unit, self, rel) for rel in rels}
        return self._loaders

    def loaders_of(
        self, unit: UnitState, mapping: EntityMapping[Any], rels: Sequence[RelationshipMapping]
    ) -> dict[str, LazyRelationship]:
        """The loaders of ``mapping``'s entities in a group of several classes (a read
        through a base): a relationship the classes share has one loader, which loads it
        for every entity of the group holding it."""
        if self._by_class is None:
            self._by_class = {}
        found = self._by_class.get(mapping)
        if found is None:
            shared = {
                loader.rel: loader for own in self._by_class.values() for loader in own.values()
            }
            found = self._by_class[mapping] = {
                rel.name: shared.get(rel) or LazyRelationship(unit, self, rel) for rel in rels
            }
        return found


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
            and s.mapping.relationships.get(rel.name) is rel  # a group of several classes
        ]
        own = unit.identity.state_of(entity)
        if own is not None and own not in pending:
            pending.append(own)
        apply_related(unit, rel, pending, reader(related_read(rel, pending)))


def related_read(rel: RelationshipMapping, states: Sequence[InstanceState]) -> reads.Read:
    return reads.related(rel, [s.key for s in states])


def row_values(
    mapping: EntityMapping[Any], row: Sequence[Any]
) -> tuple[EntityMapping[Any], tuple[Any, ...]]:
    """The class a row of ``reads.projection`` loads as, and its values in that class's
    ``properties`` order: the deepest mapped class whose label the node carries."""
    width = len(mapping.properties)
    if not mapping.descendants:
        return mapping, tuple(row[:width])
    concrete = mapping.family.concrete(row[width + 1])
    return concrete, values_for(mapping, row, concrete)


def values_for(
    mapping: EntityMapping[Any], row: Sequence[Any], wanted: EntityMapping[Any]
) -> tuple[Any, ...]:
    """The values of ``wanted`` (``mapping`` or a subclass's) in a row read through ``mapping``."""
    width = len(mapping.properties)
    if wanted is mapping:
        return tuple(row[:width])
    combined = (*row[:width], *row[width + 2 : mapping.row_width])
    return tuple(combined[i] for i in mapping.family.picks[wanted])


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
    if mapping.descendants:
        return _load_family_rows(unit, mapping, rows)
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


def _load_family_rows(
    unit: UnitState, mapping: EntityMapping[T], rows: Sequence[Sequence[Any]]
) -> list[T]:
    """``load_rows`` through a mapping with subclasses: each row as the class its kind
    names (``EntityMapping.family``); one lazy-load group per class."""
    width, end = len(mapping.properties), mapping.row_width
    family = mapping.family
    concrete_of, picks = family.concrete, family.picks
    key_index = mapping.key_index
    by_stored = unit.identity.table(mapping).by_stored
    deleted = Status.DELETED
    group = LoadGroup()
    out: list[T] = []
    for row in rows:
        state = by_stored.get(row[key_index])
        if state is not None:  # tracked: the unit's object, as it holds it
            if state.status is not deleted:
                out.append(state.entity)
            continue
        kind = row[width + 1]
        if kind:
            concrete = concrete_of(kind)
            combined = (*row[:width], *row[width + 2 : end])
            values = tuple(combined[i] for i in picks[concrete])
        else:
            concrete, values = mapping, tuple(row[:width])
        state, _ = _track(unit, concrete, values, row[width])
        assert state is not None
        out.append(state.entity)
        if concrete.relationships:
            group.states.append(state)
            rels = list(concrete.relationships.values())
            state.entity.__dict__[LAZY] = group.loaders_of(unit, concrete, rels)
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
    """Rows with relationship columns (read through a mapping with subclasses, each row
    loads as the class its kind names; one lazy-load group per class)."""
    width = len(mapping.properties)
    after = mapping.row_width
    group = LoadGroup()
    lazies: dict[EntityMapping[Any], list[RelationshipMapping]] = {}
    targets = [LoadGroup() for _ in load]
    out: list[T] = []
    for row in rows:
        concrete, values = row_values(mapping, row)
        state, fresh = _track(unit, concrete, values, row[width])
        if state is None:
            continue
        entity = state.entity
        out.append(entity)
        for i, rel in enumerate(load):
            if not is_loaded(entity, rel.name):
                _set_edges(unit, state, rel, row[after + i], targets[i])
        lazy = lazies.get(concrete)
        if lazy is None:
            lazy = lazies[concrete] = [r for r in concrete.relationships.values() if r not in load]
        if lazy:
            group.states.append(state)
            if fresh:
                entity.__dict__[LAZY] = group.loaders_of(unit, concrete, lazy)
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
    width, after = len(target.properties), target.row_width
    edges: Edges = {}
    deleted: Edges = {}  # stored edges to targets this unit deletes: kept, not shown
    for item in items:
        concrete, values = row_values(target, item)
        target_state, fresh = _track(unit, concrete, values, item[width])
        if target_state is None:
            gone = unit.identity.table(target).by_stored.get(item[target.key_index])
            if gone is not None:
                props = tuple(item[after:])
                deleted[gone.stored_key] = (rel.decode_edge(gone.entity, props), props)
            continue
        if fresh and concrete.relationships:
            targets.states.append(target_state)
            rels = list(concrete.relationships.values())
            target_state.entity.__dict__[LAZY] = targets.loaders_of(unit, concrete, rels)
        props = tuple(item[after:])
        if target_state.stored_key not in edges:
            edges[target_state.stored_key] = (rel.decode_edge(target_state.entity, props), props)
    if state.edges is None:
        state.edges = {}
    # What is stored counts every edge (a cascade expects them all; a rollback,
    # which undoes the deletes, shows them again); the entity shows the live ones.
    state.edges[rel.name] = {**deleted, **edges} if deleted else edges
    rel.assign(state.entity, edges)
    clear_lazy(state.entity, rel.name)


def apply_stored_row(
    state: InstanceState, row: Sequence[Any], read: EntityMapping[Any] | None = None
) -> None:
    """Give a tracked entity the stored values and version of ``row`` (``reads.projection``
    of ``read``: the entity's own mapping, or that of one of its bases)."""
    mapping, entity = state.mapping, state.entity
    width = len((read or mapping).properties)
    values = values_for(read or mapping, row, mapping)
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
