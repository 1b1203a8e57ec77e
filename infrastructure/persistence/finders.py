"""Finder conversations: criteria queries, pages and cursors.

Each function is a conversation (``conversation``): it yields the ``Read`` it
needs and returns the answer, so the sync and async repositories share it.
Queries see the unit's pending changes (``overlay``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .conversation import Conversation
from .criteria import Criterion, OrderKey, after, parse_order
from .errors import MappingError
from .identity import Status
from .mapping import EntityMapping, RelationshipMapping
from .overlay import criterion, current_values, matches, overlay, pending_states
from .reads import Count, Find, Read, entity_read
from .state import UnitState

T = TypeVar("T")


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


def _check_page(limit: int | None, offset: int | None) -> None:
    for name, value in (("limit", limit), ("offset", offset)):
        if value is not None and (type(value) is not int or value < 0):
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")


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
    pending = pending_states(unit, mapping)
    order_text = ""
    if order:
        order_text = " ORDER BY " + ", ".join(
            f"n.{k.field}{' DESC' if k.descending else ''}" for k in order
        )
    window = ""
    if pending:
        if limit is not None:  # enough rows to survive every pending entity leaving
            params["limit"] = (offset or 0) + limit + len(pending)
            window = " LIMIT $limit"
    else:
        if offset:
            params["offset"] = offset
            window = " SKIP $offset"
        if limit is not None:
            params["limit"] = limit
            window += " LIMIT $limit"
    asked = Find(mapping, where, tuple(order), params.get("limit"), params.get("offset"))
    match = f"MATCH (n:{mapping.label}) WHERE {clause}"
    rows = yield entity_read(
        mapping, match, params, asked, order=order_text, window=window, load=load
    )
    found: list[T] = unit.load_rows(mapping, rows, load)
    if not pending:
        return found
    return overlay(unit, mapping, where, order, limit, offset, found, pending)


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
    pending = pending_states(unit, mapping)
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
        s.status is not Status.DELETED and matches(where, mapping, current_values(s))
        for s in pending
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
        values = current_values(state)
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
