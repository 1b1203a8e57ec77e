"""Finder conversations: criteria queries, pages, cursors and custom Cypher.

Each function is a generator that yields the ``Read`` it needs and returns
the answer, so the sync and async repositories share it (see
``repository.drive``).

Queries see the unit's pending changes. There is no autoflush: a flush here
is a durable write, so flushing before a query would break the unit's
all-or-nothing commit. Instead a query overlays what the unit has changed:
it asks the server for enough extra rows to cover every pending entity of
the type, drops those deleted or no longer matching, adds the new and edited
ones that now match (the criteria evaluate in Python exactly as in Cypher),
and re-sorts and slices in Python.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .codec import encode_value, same_stored
from .criteria import Always, Criterion, OrderKey, after, parse_order, sort_key
from .errors import MappingError, ValueEncodingError
from .identity import InstanceState, Status
from .mapping import EntityMapping, RelationshipMapping
from .reads import Count, Custom, Find, Read, projection, with_related
from .state import UnitState
from .vectors import Float32s

T = TypeVar("T")
R = TypeVar("R")

Conversation = Generator[Read, list[list[Any]], R]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of an offset-paged query, with the total number of matches."""

    items: list[T]
    total: int
    number: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


@dataclass(frozen=True)
class Slice(Generic[T]):
    """One slice of a cursor-paged query; ``cursor`` fetches the next (None: no more)."""

    items: list[T]
    cursor: str | None


def _pending(unit: UnitState, mapping: EntityMapping[Any]) -> list[InstanceState]:
    """States of ``mapping``'s type whose stored form differs from what the unit holds."""
    out = []
    for state in unit.identity:
        if state.mapping is not mapping:
            continue
        if state.status is not Status.PERSISTENT:
            out.append(state)
            continue
        if state.fields is not None and mapping.unchanged(state.entity, state.fields):
            continue  # as loaded: no need to encode it
        try:
            if state.snapshot is None or not same_stored(
                mapping.encode(state.entity), state.snapshot
            ):
                out.append(state)
        except ValueEncodingError:
            out.append(state)
    return out


def _values(mapping: EntityMapping[Any], values: tuple[Any, ...] | None) -> dict[str, Any]:
    return dict(zip(mapping.properties, values, strict=True)) if values is not None else {}


def _current(state: InstanceState) -> dict[str, Any]:
    try:
        return _values(state.mapping, state.mapping.encode(state.entity))
    except ValueEncodingError:
        return _values(state.mapping, state.snapshot)


def _matches(where: Criterion, mapping: EntityMapping[Any], values: dict[str, Any]) -> bool:
    return where.evaluate(mapping, values) is True


def _check_page(limit: int | None, offset: int | None) -> None:
    for name, value in (("limit", limit), ("offset", offset)):
        if value is not None and (type(value) is not int or value < 0):
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")


def criterion(where: Any) -> Criterion:
    """``where`` as a criterion (None: everything).

    Raises:
        TypeError: ``where`` is not built with ``F``.
    """
    if where is None:
        return Always()
    if not isinstance(where, Criterion):
        raise TypeError(
            f"where must be a criterion built with F (F('age') > 30), got "
            f"{type(where).__name__} {where!r}; for equality use find_by(field=value)"
        )
    return where


def find(
    unit: UnitState,
    mapping: EntityMapping[T],
    where: Criterion | None,
    order: Sequence[OrderKey],
    limit: int | None,
    offset: int | None,
    load: Sequence[RelationshipMapping],
) -> Conversation[list[T]]:
    """Entities matching ``where``, as the unit sees them (pending changes included)."""
    unit.check_open()
    _check_page(limit, offset)
    where = criterion(where)
    params: dict[str, Any] = {}
    clause = where.compile(mapping, params)
    pending = _pending(unit, mapping)
    text = f"MATCH (n:{mapping.label}) WHERE {clause} RETURN {projection(mapping)}"
    if order:
        text += " ORDER BY " + ", ".join(
            f"n.{k.field}{' DESC' if k.descending else ''}" for k in order
        )
    if pending:
        if limit is not None:  # enough rows to survive every pending entity leaving
            params["limit"] = (offset or 0) + limit + len(pending)
            text += " LIMIT $limit"
    else:
        if offset:
            params["offset"] = offset
            text += " SKIP $offset"
        if limit is not None:
            params["limit"] = limit
            text += " LIMIT $limit"
    asked = Find(mapping, where, tuple(order), params.get("limit"), params.get("offset"))
    rows = yield with_related(Read(text, params, asked), load)
    found: list[T] = unit.load_rows(mapping, rows, load)
    if not pending:
        return found
    return _overlay(unit, mapping, where, order, limit, offset, found, pending)


def _overlay(
    unit: UnitState,
    mapping: EntityMapping[T],
    where: Criterion,
    order: Sequence[OrderKey],
    limit: int | None,
    offset: int | None,
    found: list[T],
    pending: list[InstanceState],
) -> list[T]:
    by_id = {id(s.entity): s for s in pending}
    current = {id(s.entity): _current(s) for s in pending if s.status is not Status.DELETED}
    merged = [e for e in found if id(e) not in by_id or _matches(where, mapping, current[id(e)])]
    seen = {id(e) for e in found}
    merged.extend(
        s.entity
        for s in pending
        if s.status is not Status.DELETED
        and id(s.entity) not in seen
        and _matches(where, mapping, current[id(s.entity)])
    )
    if order:
        key = sort_key(order)

        def values_of(entity: T) -> dict[str, Any]:
            if id(entity) in current:
                return current[id(entity)]
            state = unit.identity.state_of(entity)
            return _values(mapping, state.snapshot if state else None)

        merged.sort(key=lambda e: key(values_of(e)))
    start = offset or 0
    return merged[start : None if limit is None else start + limit]


def count(
    unit: UnitState, mapping: EntityMapping[Any], where: Criterion | None
) -> Conversation[int]:
    """How many entities match ``where``, as the unit sees them.

    The same rule as ``find``: the stored nodes that match, each node the
    unit holds a pending entity for replaced by that entity as the unit holds
    it. So the read also counts which of the pending entities' keys match as
    stored (not as the unit last read them: another unit may have changed or
    deleted them since, and a new entity's key may already be taken).
    """
    unit.check_open()
    where = criterion(where)
    params: dict[str, Any] = {}
    clause = where.compile(mapping, params)
    pending = _pending(unit, mapping)
    text = f"MATCH (n:{mapping.label}) WHERE {clause} "
    keys: tuple[Any, ...] = ()
    if pending:
        keys = tuple(dict.fromkeys(s.stored_key for s in pending))
        params["pending"] = list(keys)
        text += (
            f"WITH count(n) AS total OPTIONAL MATCH (n:{mapping.label}) "
            f"WHERE n.{mapping.key_property} IN $pending AND {clause} RETURN total, count(n)"
        )
    else:
        text += "RETURN count(n)"
    rows = yield Read(text, params, Count(mapping, where, keys))
    total = int(rows[0][0])
    if not pending:
        return total
    total -= int(rows[0][1])
    return total + sum(
        s.status is not Status.DELETED and _matches(where, mapping, _current(s)) for s in pending
    )


def page(
    unit: UnitState,
    mapping: EntityMapping[T],
    where: Criterion | None,
    order_by: str | Sequence[str] | None,
    number: int,
    size: int,
    load: Sequence[RelationshipMapping],
) -> Conversation[Page[T]]:
    """Page ``number`` (from 1) of ``size`` matches, and the total."""
    if type(number) is not int or number < 1:
        raise ValueError(f"page number must be an int >= 1, got {number!r}")
    if type(size) is not int or size < 1:
        raise ValueError(f"page size must be an int >= 1, got {size!r}")
    order = parse_order(mapping, order_by)
    total = yield from count(unit, mapping, where)
    items = yield from find(unit, mapping, where, order, size, (number - 1) * size, load)
    return Page(items, total, number, size)


def keyset(
    unit: UnitState,
    mapping: EntityMapping[T],
    where: Criterion | None,
    order_by: str | Sequence[str] | None,
    cursor: str | None,
    limit: int,
    load: Sequence[RelationshipMapping],
) -> Conversation[Slice[T]]:
    """Up to ``limit`` matches after ``cursor`` in a stable order (the key breaks ties)."""
    if type(limit) is not int or limit < 1:
        raise ValueError(f"limit must be an int >= 1, got {limit!r}")
    order = parse_order(mapping, order_by)
    if all(k.field != mapping.key_property for k in order):
        order.append(OrderKey(mapping.key_property, False))
    condition = criterion(where)
    if cursor is not None:
        condition = condition & after(order, decode_cursor(cursor, len(order)))
    items = yield from find(unit, mapping, condition, order, limit + 1, None, load)
    more = len(items) > limit
    items = items[:limit]
    next_cursor = None
    if more and items:
        state = unit.identity.state_of(items[-1])
        assert state is not None
        values = _current(state)
        next_cursor = _encode_cursor([values.get(k.field) for k in order])
    return Slice(items, next_cursor)


def _encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[Any]:
    """The encoded sort values a cursor of ``width`` order keys carries.

    Raises:
        ValueError: the text is not a cursor a query returned, or it belongs to
            an ordering of another width.
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValueError(
            f"invalid cursor {cursor!r}: pass back a cursor a query returned"
        ) from None
    if not isinstance(values, list) or len(values) != width:
        raise ValueError(f"invalid cursor {cursor!r}: it belongs to another ordering")
    return values


def encode_param(value: Any) -> Any:
    """Encode a custom query's parameter the way the codec stores values."""
    if isinstance(value, Float32s):  # a query vector (``as_vector``): sent as it is
        return value
    if isinstance(value, dict):
        return {k: encode_param(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode_param(v) for v in value]
    return encode_value(value)


def raw_query(cypher: str, params: dict[str, Any]) -> Conversation[list[list[Any]]]:
    """Run a read-only custom query; nodes are converted by the caller."""
    if not isinstance(cypher, str) or not cypher.strip():
        raise ValueError("a custom query needs Cypher text")
    encoded = {k: encode_param(v) for k, v in params.items()}
    rows = yield Read(cypher, encoded, Custom(cypher, encoded))
    return rows


def _node_mapping(unit: UnitState, node: Any) -> EntityMapping[Any] | None:
    for label in getattr(node, "labels", None) or ():
        mapping = unit.registry.mapping_for_label(label)
        if mapping is not None:
            return mapping
    return None


def _nodes(cell: Any) -> list[Any]:
    """The nodes in a custom query's cell: itself, or inside lists and paths."""
    if hasattr(cell, "labels") and hasattr(cell, "properties"):
        return [cell]
    if isinstance(cell, list):
        return [n for c in cell for n in _nodes(c)]
    nodes = getattr(cell, "nodes", None)
    return list(nodes()) if callable(nodes) else []


def convert_rows(unit: UnitState, rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """A custom query's rows with mapped nodes (also inside lists and paths) as entities.

    The nodes of one type are loaded together, as one read's entities, so
    their relationships load lazily in one query for all of them.
    """
    by_mapping: dict[str, tuple[EntityMapping[Any], list[list[Any]]]] = {}
    for row in rows:
        for cell in row:
            for node in _nodes(cell):
                mapping = _node_mapping(unit, node)
                if mapping is None:
                    continue
                props = node.properties
                values = [props.get(p) for p in mapping.properties]
                version = props.get(mapping.version_property, 0) if mapping.version_property else 0
                by_mapping.setdefault(mapping.label, (mapping, []))[1].append([*values, version])
    for mapping, node_rows in by_mapping.values():
        unit.load_rows(mapping, node_rows)
    return [[_convert(unit, cell) for cell in row] for row in rows]


def _convert(unit: UnitState, cell: Any) -> Any:
    if hasattr(cell, "labels") and hasattr(cell, "properties"):
        mapping = _node_mapping(unit, cell)
        if mapping is None:
            return cell
        key = mapping.key_codec.decode(cell.properties.get(mapping.key_property))
        return unit.tracked(mapping, key)[1]  # None when the unit deletes it
    if isinstance(cell, list):
        return [_convert(unit, c) for c in cell]
    nodes = getattr(cell, "nodes", None)
    if callable(nodes):  # a path: its nodes, in order
        return [_convert(unit, n) for n in nodes()]
    return cell


def require_mapping_relationships(
    mapping: EntityMapping[Any], names: Sequence[str]
) -> list[RelationshipMapping]:
    """The relationships named in ``load=``; a clear error for any unknown name."""
    if isinstance(names, str):
        names = [names]
    rels = []
    for name in names:
        rel = mapping.relationships.get(name)
        if rel is None:
            known = ", ".join(mapping.relationships) or "none"
            raise MappingError(f"{mapping.name} has no relationship {name!r} (it has: {known})")
        rels.append(rel)
    return rels
