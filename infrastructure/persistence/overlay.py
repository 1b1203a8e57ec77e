"""Pending changes overlaid on what a query read.

There is no autoflush: a flush here is a durable write, so flushing before a
query would break the unit's all-or-nothing commit. Instead a query overlays
what the unit has changed: it asks the server for enough extra rows to cover
every pending entity of the type (``pending``), drops those deleted or no
longer matching, adds the new and edited ones that now match (the criteria
evaluate in Python exactly as in Cypher, ``matches``), and re-sorts and
slices in Python (``overlay``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from .codec import same_stored
from .criteria import Always, Criterion, OrderKey, sort_key
from .errors import ValueEncodingError
from .identity import InstanceState, Status
from .mapping import EntityMapping
from .state import UnitState

T = TypeVar("T")


def pending_states(unit: UnitState, mapping: EntityMapping[Any]) -> list[InstanceState]:
    """States of ``mapping``'s type (its subclasses' included) whose stored form differs
    from what the unit holds."""
    out = []
    for state in unit.identity:
        own = state.mapping
        if own is not mapping and not mapping.covers(own):
            continue
        if state.status is not Status.PERSISTENT:
            out.append(state)
            continue
        if state.fields is not None and own.unchanged(state.entity, state.fields):
            continue  # as loaded: no need to encode it
        try:
            if state.snapshot is None or not same_stored(own.encode(state.entity), state.snapshot):
                out.append(state)
        except ValueEncodingError:
            out.append(state)
    return out


def _values(mapping: EntityMapping[Any], values: tuple[Any, ...] | None) -> dict[str, Any]:
    return dict(zip(mapping.properties, values, strict=True)) if values is not None else {}


def current_values(state: InstanceState) -> dict[str, Any]:
    """The stored form of the entity as the unit holds it now (as last stored when it cannot encode)."""
    try:
        return _values(state.mapping, state.mapping.encode(state.entity))
    except ValueEncodingError:
        return _values(state.mapping, state.snapshot)


def matches(where: Criterion, mapping: EntityMapping[Any], values: dict[str, Any]) -> bool:
    """Whether ``values`` (stored form) satisfy ``where`` as the server would decide."""
    return where.evaluate(mapping, values) is True


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


def overlay(
    unit: UnitState,
    mapping: EntityMapping[T],
    where: Criterion,
    order: Sequence[OrderKey],
    limit: int | None,
    offset: int | None,
    found: list[T],
    pending: list[InstanceState],
) -> list[T]:
    """``found`` (what the server read) with the ``pending`` entities as the unit holds them."""
    by_id = {id(s.entity): s for s in pending}
    current = {id(s.entity): current_values(s) for s in pending if s.status is not Status.DELETED}
    merged = [e for e in found if id(e) not in by_id or matches(where, mapping, current[id(e)])]
    seen = {id(e) for e in found}
    merged.extend(
        s.entity
        for s in pending
        if s.status is not Status.DELETED
        and id(s.entity) not in seen
        and matches(where, mapping, current[id(s.entity)])
    )
    if order:
        key = sort_key(order)

        def values_of(entity: T) -> dict[str, Any]:
            if id(entity) in current:
                return current[id(entity)]
            state = unit.identity.state_of(entity)
            return _values(state.mapping, state.snapshot) if state else {}

        merged.sort(key=lambda e: key(values_of(e)))
    start = offset or 0
    return merged[start : None if limit is None else start + limit]
