"""Typed repositories: load, find, add and remove entities of one type.

A repository belongs to one unit of work and shares its identity map: the
same key gives the same object from every method and every repository of the
unit. ``RepositoryBase`` holds every decision; ``Repository`` (here) and
``AsyncRepository`` (in ``aio``) only run the reads.

Each read-backed method is written once, in ``RepositoryBase``, as a
conversation: a generator that yields the ``Read`` it needs, receives the
rows, and returns the answer (``conversation``). ``drive`` runs one with
blocking reads, ``drive_async`` awaits them. A subclass adds custom queries
the same way, on ``rows``, ``raw_rows``, ``as_entities`` and ``lookup``,
and offers each with ``run``.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

from . import bulk, custom, finders, loading, reads
from . import search as searching
from .bulk import Affected
from .conversation import Conversation, Rows, drive
from .criteria import Criterion, combine, from_equals, parse_order
from .errors import EntityNotFoundError, MappingError, StoredValueError
from .finders import Page, Slice
from .identity import Status
from .mapping import EntityMapping, RelationshipMapping
from .overlay import criterion, current_values, matches
from .reads import Read
from .search import Hits, search_errors
from .state import UnitState


class UnitOfWork(Protocol):
    """What a sync repository uses of its unit of work (``unit_of_work.UnitOfWork``)."""

    unit: UnitState

    def read(self, read: Read) -> list[list[Any]]: ...


DELETED = Status.DELETED

T = TypeVar("T")
R = TypeVar("R")

Loads = Sequence[str]
"""Names of relationships to load with the entities (``load=["friends"]``)."""


class RepositoryBase(Generic[T]):
    """The I/O-free part of a repository: every decision, no query sent."""

    def __init__(self, unit: UnitState, mapping: EntityMapping[T]) -> None:
        self._unit = unit
        self.mapping = mapping
        # The identity map's keys of this type, for ``get``'s fast path (never replaced).
        self._by_key = unit.identity.table(mapping).by_key

    @property
    def entity_type(self) -> type[T]:
        """The entity class this repository serves."""
        return self.mapping.cls

    def add(self, entity: T) -> None:
        """Track a new entity; it is written when the unit commits.

        Raises:
            TypeError: the entity is not of this repository's type.
            IdentityConflictError: another object has the same key in this unit.
        """
        self._check_type(entity)
        self._unit.add(entity)

    def remove(self, entity: T) -> None:
        """Mark a tracked entity for deletion at commit.

        Raises:
            NotTrackedError: the entity is not tracked by this unit (load it
                here first, or ``uow.merge`` it).
        """
        self._check_type(entity)
        self._unit.delete(entity)

    # -- written by the next commit, without loading (see ``bulk``) -------------

    def upsert(self, entity: T) -> T:
        """Write ``entity`` by its key at commit: created if absent, else overwritten.

        Every mapped property is written (``None`` removes one; properties
        the mapping does not know are kept); a versioned node's version is 1
        when created and moves by one when a value changed, so the same
        upsert twice leaves the graph as once. Returns the object the unit
        tracks after the commit: ``entity`` itself, at the stored version, or,
        when the unit already tracks that key, the tracked entity given
        ``entity``'s fields (an ordinary update, checked on the version read).

        Raises:
            TypeError: the entity is not of this repository's type.
            MappingError: the mapping has vector fields, or the entity's
                relationships hold targets (an upsert writes properties only).
            IdentityConflictError: the unit deletes that key, or another open
                unit tracks ``entity``.
        """
        self._check_type(entity)
        upserted: T = bulk.upsert(self._unit, self._mapping_of(entity), [entity])[0]
        return upserted

    def upsert_many(self, entities: Iterable[T]) -> builtins.list[T]:
        """``upsert`` each entity (all in one block of the commit); the tracked objects."""
        listed = [*entities]
        cls = self.mapping.cls
        for entity in listed:
            self._check_type(entity)
        if all(type(entity) is cls for entity in listed):
            upserted: builtins.list[T] = bulk.upsert(self._unit, self.mapping, listed)
            return upserted
        # Subclass entities among them: each is written as its own class.
        return [bulk.upsert(self._unit, self._mapping_of(e), [e])[0] for e in listed]

    def update_where(
        self, where: Criterion, set: Mapping[str, Any] | None = None, **values: Any
    ) -> Affected:
        """Set fields of every stored entity ``where`` matches, at commit, without loading.

        Values are constants or arithmetic on a stored number
        (``age=F("age") + 1``); ``set={...}`` takes the same as a dict.
        Versions move by one. Applied after the commit's other writes; tracked
        entities it matches get their stored values. ``.count`` of the
        result, once committed, is the number of nodes changed.

        Raises:
            MappingError: an unknown or key field, no field, bad arithmetic.
            ValueEncodingError: a value cannot be stored in its field.
        """
        self._unit.check_open()
        self._unit.check_alone()
        sets = bulk.sets_of(self.mapping, {**(set or {}), **values})
        where.compile(self.mapping, {})  # names checked now, not at commit
        result = Affected(f"{self.mapping.name}.update_where")
        self._unit.bulk.append(bulk.UpdateWhere(self.mapping, where, sets, result))
        return result

    def delete_where(self, where: Criterion) -> Affected:
        """Delete every stored entity ``where`` matches, at commit, without loading.

        Edges go with them (``detach``); a ``restrict`` relationship still
        holding a target refuses the whole commit (``DeleteRestrictedError``).
        Applied last in the commit; tracked entities it matches stop being
        tracked. ``.count`` of the result, once committed, is the number of
        nodes deleted.

        Raises:
            MappingError: an unknown field, or a ``cascade`` relationship
                (a set-based delete does not follow it).
        """
        self._unit.check_open()
        self._unit.check_alone()
        bulk.check_deletable(self.mapping)
        where.compile(self.mapping, {})
        result = Affected(f"{self.mapping.name}.delete_where")
        self._unit.bulk.append(bulk.DeleteWhere(self.mapping, where, result))
        return result

    # -- custom queries: conversations a subclass builds its reads from ---------

    def rows(self, cypher: str, /, **params: Any) -> Conversation[Rows]:
        """The conversation of a read-only custom Cypher query: its rows, as ``query`` has them.

        Parameters are encoded like stored values (UUID, Decimal, dates...);
        nodes of mapped labels come back as tracked entities (also inside
        lists and paths). Answer it with ``run`` (sync or awaited), or
        ``yield from`` it inside a conversation of your own.
        """
        return self._query(cypher, params)

    def raw_rows(self, cypher: str, /, **params: Any) -> Conversation[Rows]:
        """The conversation of a read-only custom query whose rows stay as the client has them.

        Nodes stay the client's nodes (``node.properties``), tracked by no
        unit; ``as_entities`` turns the ones a query keeps into entities.
        Parameters are encoded as for ``rows``.
        """
        self._unit.check_open()
        return (yield from custom.raw_query(cypher, params))

    def as_entities(self, rows: Sequence[Sequence[Any]]) -> Rows:
        """``rows`` with the nodes of mapped labels (also inside lists and paths) as entities.

        The nodes of one type load together, as one read's entities; a node
        this unit deletes becomes None.
        """
        return custom.convert_rows(self._unit, rows)

    def lookup(self, key: Any, *, load: Loads = ()) -> Conversation[T | None]:
        """The conversation of ``get_or_none``: from the identity map when the unit has it."""
        return self._get_or_none(key, load)

    # -- conversations: one per read-backed public method ----------------------

    def _get(self, key: Any, load: Loads) -> Conversation[T]:
        found = yield from self._get_or_none(key, load)
        if found is None:
            raise EntityNotFoundError(self.mapping.name, [key])
        return found

    def _get_or_none(self, key: Any, load: Loads) -> Conversation[T | None]:
        rels = self._relationships(load)
        decided, entity = self._cached(key)
        if not decided:
            read = reads.by_key(self.mapping, key, rels)
            loaded = self._unit.load_rows(self.mapping, (yield read), rels)
            return loaded[0] if loaded else None
        if entity is not None:
            yield from self._complete([entity], rels)
        return entity

    def _get_many(self, keys: Sequence[Any], load: Loads) -> Conversation[list[T]]:
        self._unit.check_open()
        rels = self._relationships(load)
        mapping = self.mapping
        stored = [mapping.encode_key(k) for k in keys]
        # Keys are compared as stored (text, hashed once), never as UUID objects.
        by_stored = self._unit.identity.table(mapping).by_stored
        unique = dict.fromkeys(stored)
        known = [k for k in unique if k in by_stored]
        to_read = [k for k in unique if k not in by_stored]
        if to_read:
            read = reads.by_stored_keys(mapping, to_read, rels)
            # Keys given as the class a decoded key has are loaded as they are, not decoded.
            key_class = mapping.key_class
            decoded = {s: k for s, k in zip(stored, keys, strict=True) if type(k) is key_class}
            self._unit.load_rows(mapping, (yield read), rels, decoded)
        found: list[T] = []
        missing = []
        for key, encoded in zip(keys, stored, strict=True):
            state = by_stored.get(encoded)
            if state is None or state.status is Status.DELETED or not mapping.covers(state.mapping):
                missing.append(key)
            else:
                found.append(state.entity)
        if missing:
            raise EntityNotFoundError(mapping.name, missing)
        if known:
            yield from self._complete([by_stored[k].entity for k in known], rels)
        return found

    def _exists(self, key: Any) -> Conversation[bool]:
        decided, entity = self._cached(key)
        if decided:
            return entity is not None
        rows = yield reads.key_exists(self.mapping, key)
        return bool(rows[0][0])

    def _find(
        self,
        where: Criterion | None,
        order_by: str | Sequence[str] | None,
        limit: int | None,
        offset: int | None,
        load: Loads,
    ) -> Conversation[list[T]]:
        order = parse_order(self.mapping, order_by)
        rels = self._relationships(load)
        found = yield from finders.find(self._unit, self.mapping, where, order, limit, offset, rels)
        yield from self._complete(found, rels)
        return found

    def _find_one(self, where: Criterion | None) -> Conversation[T | None]:
        found = yield from self._find(where, None, 1, None, ())
        return found[0] if found else None

    def _count(self, where: Criterion | None) -> Conversation[int]:
        return (yield from finders.count(self._unit, self.mapping, where))

    def _page(
        self,
        where: Criterion | None,
        order_by: str | Sequence[str] | None,
        number: int,
        size: int,
        load: Loads,
    ) -> Conversation[Page[T]]:
        rels = self._relationships(load)
        return (
            yield from finders.page(self._unit, self.mapping, where, order_by, number, size, rels)
        )

    def _keyset(
        self,
        where: Criterion | None,
        order_by: str | Sequence[str] | None,
        cursor: str | None,
        limit: int,
        load: Loads,
    ) -> Conversation[Slice[T]]:
        rels = self._relationships(load)
        return (
            yield from finders.keyset(
                self._unit, self.mapping, where, order_by, cursor, limit, rels
            )
        )

    def _query(self, cypher: str, params: dict[str, Any]) -> Conversation[list[list[Any]]]:
        self._unit.check_open()
        rows = yield from custom.raw_query(cypher, params)
        return custom.convert_rows(self._unit, rows)

    def _query_entities(self, cypher: str, params: dict[str, Any]) -> Conversation[list[T]]:
        rows = yield from self._query(cypher, params)
        out: list[T] = []
        for row in rows:
            if not row or not isinstance(row[0], self.mapping.cls):
                raise MappingError(
                    f"query_entities: the first column must return {self.mapping.label} "
                    f"nodes, got {type(row[0]).__name__ if row else 'an empty row'}"
                )
            out.append(row[0])
        return out

    def _undecodable(self) -> Conversation[list[StoredValueError]]:
        self._unit.check_open()
        rows = yield reads.every(self.mapping)
        found = []
        for row in rows:  # each node checked as the class it loads as
            concrete, values = loading.row_values(self.mapping, row)
            found.extend(concrete.problems(values))
        return found

    def _nearest(
        self, field: str, vector: Sequence[float], k: int, where: Criterion | None
    ) -> Conversation[Hits[T]]:
        return (yield from searching.nearest(self._unit, self.mapping, field, vector, k, where))

    def _search(
        self, text: str, fields: Sequence[str] | None, k: int, prefix: bool
    ) -> Conversation[Hits[T]]:
        return (yield from searching.search(self._unit, self.mapping, text, fields, k, prefix))

    def _hybrid(
        self,
        text: str,
        field: str,
        vector: Sequence[float],
        k: int,
        fields: Sequence[str] | None,
        where: Criterion | None,
    ) -> Conversation[Hits[T]]:
        # Each ranking is asked for more than k, so an entity ranked just below k by
        # both can still win the fusion.
        close = yield from self._nearest(field, vector, 2 * k, where)
        words = yield from self._search(text, fields, 2 * k, False)
        if where is not None:
            keep = {id(e) for e, _ in close}
            matching = [hit for hit in words if id(hit[0]) in keep or self._matches(hit[0], where)]
            words = matching
        return searching.fuse([close, words], k)

    def _matches(self, entity: T, where: Criterion) -> bool:
        state = self._unit.identity.state_of(entity)
        return state is not None and matches(criterion(where), self.mapping, current_values(state))

    def _load_related(self, entities: Sequence[T], names: Sequence[str]) -> Conversation[None]:
        self._unit.check_open()
        yield from self._complete(entities, self._relationships(names))

    def _complete(
        self, entities: Sequence[T], rels: Sequence[RelationshipMapping]
    ) -> Conversation[None]:
        """Load ``rels`` for those ``entities`` that do not hold them yet (one read each)."""
        for rel in rels:
            yield from self._unit.load_related(rel, entities)

    def _relationships(self, load: Loads) -> builtins.list[RelationshipMapping]:
        return finders.require_mapping_relationships(self.mapping, load)

    # -- helpers ----------------------------------------------------------------

    def _check_type(self, entity: object) -> None:
        kind = type(entity)
        if kind is not self.mapping.cls and not self._subclass(kind):
            raise TypeError(
                f"{type(entity).__name__} given to the repository of {self.mapping.name}"
            )

    def _mapping_of(self, entity: object) -> EntityMapping[Any]:
        """The mapping an entity of this repository's class, or of a subclass, is written by."""
        kind = type(entity)
        return self.mapping if kind is self.mapping.cls else self._unit.registry.mapping_for(kind)

    def _subclass(self, kind: type) -> bool:
        """Whether ``kind`` is a mapped subclass of this repository's class."""
        registry = self._unit.registry
        return kind in registry and self.mapping.covers(registry.mapping_for(kind))

    def _cached(self, key: Any) -> tuple[bool, T | None]:
        self._unit.check_open()
        return self._unit.tracked(self.mapping, key)


class Repository(RepositoryBase[T]):
    """A typed repository of one unit of work (sync)."""

    def __init__(self, uow: UnitOfWork, mapping: EntityMapping[T]) -> None:
        super().__init__(uow.unit, mapping)
        self._read = uow.read

    def run(self, conversation: Conversation[R]) -> R:
        """Answer each read of ``conversation`` in this unit, and return its answer.

        For a custom query written once as a conversation (on ``rows``,
        ``raw_rows``, ``lookup``) and offered by a sync and an async repository.
        """
        self._unit.check_open()  # a closed unit says so before the conversation's own checks
        return drive(conversation, self._read)

    def get(self, key: Any, *, load: Loads = ()) -> T:
        """The entity with ``key``; from the identity map when the unit has it.

        ``load`` names relationships to fetch in the same round trip.

        Raises:
            EntityNotFoundError: no such entity (or it was deleted in this unit).
        """
        if not load:  # the identity-map hit, inlined: the hottest call of a unit
            # A closed unit's tables are empty: its get() takes the checked path below
            # (as does a miss, which then reads: the KeyError costs nothing beside that).
            try:
                state = self._by_key[key]
            except KeyError:
                pass
            else:
                # A tracked key of another class of the hierarchy: "not found", below.
                if state.status is not DELETED and (
                    state.mapping is self.mapping or self.mapping.covers(state.mapping)
                ):
                    entity: T = state.entity
                    return entity
        return drive(self._get(key, load), self._read)

    def get_or_none(self, key: Any, *, load: Loads = ()) -> T | None:
        """The entity with ``key``, or None."""
        return drive(self._get_or_none(key, load), self._read)

    def get_many(self, keys: Sequence[Any], *, load: Loads = ()) -> list[T]:
        """Entities for ``keys``, in that order, in at most one round trip.

        Raises:
            EntityNotFoundError: naming every key that does not exist.
        """
        return drive(self._get_many(keys, load), self._read)

    def exists(self, key: Any) -> bool:
        """Whether an entity with ``key`` exists (pending adds and deletes count)."""
        return drive(self._exists(key), self._read)

    def find(
        self,
        where: Criterion | None = None,
        *,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        load: Loads = (),
    ) -> list[T]:
        """Entities matching ``where`` (built with ``F``), as this unit sees them.

        Pending changes count: entities added, edited or deleted in the unit
        are matched on what the unit holds. ``order_by``: ``"age"``, ``"-age"``
        or a list of them.

        Raises:
            MappingError: a name is not a stored field, or cannot be ordered.
            ValueEncodingError: a value cannot be compared with its field.
        """
        return drive(self._find(where, order_by, limit, offset, load), self._read)

    def list(
        self,
        *,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        load: Loads = (),
    ) -> builtins.list[T]:
        """All entities of this type, optionally ordered (``"-age"``: descending) and paged."""
        return drive(self._find(None, order_by, limit, offset, load), self._read)

    def find_by(
        self,
        *,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        load: Loads = (),
        **equals: Any,
    ) -> builtins.list[T]:
        """Entities whose fields equal the given values (``None`` matches unset)."""
        where = from_equals(equals)
        return drive(self._find(where, order_by, limit, offset, load), self._read)

    def find_one_by(self, **equals: Any) -> T | None:
        """The first entity matching ``equals``, or None."""
        return drive(self._find_one(from_equals(equals)), self._read)

    def count(self, where: Criterion | None = None, **equals: Any) -> int:
        """How many entities match ``where`` and ``equals`` (all of them when neither)."""
        return drive(self._count(combine(where, equals)), self._read)

    def page(
        self,
        where: Criterion | None = None,
        *,
        order_by: str | Sequence[str] | None = None,
        number: int = 1,
        size: int = 20,
        load: Loads = (),
    ) -> Page[T]:
        """Page ``number`` (from 1) of ``size`` matches, with the total count."""
        return drive(self._page(where, order_by, number, size, load), self._read)

    def keyset(
        self,
        where: Criterion | None = None,
        *,
        order_by: str | Sequence[str] | None = None,
        after: str | None = None,
        limit: int = 20,
        load: Loads = (),
    ) -> Slice[T]:
        """Up to ``limit`` matches after the cursor ``after`` (keyset pagination).

        The order is made total with the key; pass ``Slice.cursor`` back as
        ``after`` for the next slice (None when there is no more).
        """
        return drive(self._keyset(where, order_by, after, limit, load), self._read)

    def query(self, cypher: str, **params: Any) -> builtins.list[builtins.list[Any]]:
        """Rows of a read-only custom Cypher query.

        Parameters are encoded like stored values (UUID, Decimal, dates...).
        Nodes of mapped labels come back as tracked entities (also inside
        lists and paths); other values come back as the client returns them.
        """
        return drive(self._query(cypher, params), self._read)

    def query_entities(self, cypher: str, **params: Any) -> builtins.list[T]:
        """Entities of this type returned in the first column of a custom query."""
        return drive(self._query_entities(cypher, params), self._read)

    def nearest(
        self,
        field: str,
        vector: Sequence[float],
        *,
        k: int = 10,
        where: Criterion | None = None,
    ) -> builtins.list[tuple[T, float]]:
        """The ``k`` entities whose vector ``field`` is nearest ``vector``: (entity, distance).

        Nearest first; the distance is the index's (cosine: ``1 - cos``,
        euclidean: L2). ``where`` filters the candidates (more are asked for
        until ``k`` match or none is left). Pending changes of the unit count,
        as for ``find``.

        Raises:
            MappingError: ``field`` is not a vector field, or ``where`` names an unknown one.
            ValueEncodingError: ``vector`` has another dimension or a non-finite value.
            SearchQueryError: the server refused the query (no vector index: run
                ``ensure_schema``).
        """
        with search_errors():
            return drive(self._nearest(field, vector, k, where), self._read)

    def search(
        self,
        text: str,
        *,
        fields: Sequence[str] | None = None,
        k: int = 20,
        prefix: bool = False,
    ) -> builtins.list[tuple[T, float]]:
        """Up to ``k`` entities whose full-text fields hold every word of ``text``: (entity, score).

        Best first. Any text is safe: it is split into words, and punctuation
        never reaches the query parser. ``fields`` narrows the match to some
        of the full-text fields; ``prefix`` matches words starting with each
        term (of two characters or more). Entities the unit added or edited
        to match come last, with score 0.0.

        Raises:
            MappingError: the type has no full-text fields, or ``fields`` names another.
            SearchQueryError: the server refused the query.
        """
        with search_errors():
            return drive(self._search(text, fields, k, prefix), self._read)

    def hybrid(
        self,
        text: str,
        field: str,
        vector: Sequence[float],
        *,
        k: int = 10,
        fields: Sequence[str] | None = None,
        where: Criterion | None = None,
    ) -> builtins.list[tuple[T, float]]:
        """``nearest`` and ``search`` fused by reciprocal rank: (entity, fused score), best first.

        Each entity scores ``1 / (60 + rank)`` in each ranking it appears in
        (ranks from 1, each ranking asked for ``2 * k``); ``where`` applies to both.

        Raises:
            MappingError, ValueEncodingError, SearchQueryError: as ``nearest`` and ``search``.
        """
        with search_errors():
            return drive(self._hybrid(text, field, vector, k, fields, where), self._read)

    def load_related(self, entities: Sequence[T], *names: str) -> None:
        """Fetch relationships ``names`` for all ``entities`` at once (one read each)."""
        drive(self._load_related(entities, names), self._read)

    def undecodable(self) -> builtins.list[StoredValueError]:
        """What stored nodes of this type cannot load, one ``StoredValueError`` per value.

        Reads every node of the label once and tracks none of them; an empty
        list means every node loads.
        """
        return drive(self._undecodable(), self._read)
