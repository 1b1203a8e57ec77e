"""The Cypher of queued upserts and set-based changes, as blocks of the commit query.

The planner places them after its guard: upserts before the tracked edge
and node deletes, set-based changes last, in the order they were queued, so
they see the graph as every other write of the commit leaves it. Each block
returns what the unit needs once the commit succeeded (``bulk.settle``):

- ``upsert_<label>``: ``[key, version]`` per upserted node whose version is
  not 1 (versioned mappings), else the count;
- ``bulk_<i>``: the number of nodes the i-th set-based change matched;
- ``bulk_<i>_rows``: for the nodes among them the unit tracks (or upserts),
  the stored row (``update_where``) or the key (``delete_where``).

An upsert ``MERGE``s on the key: a new node gets every mapped property
(and version 1); a stored one gets every mapped property overwritten (a
``None`` removes it; properties the mapping does not know are kept) and its
version moves by one only when a value changed, so writing the same batch
twice leaves the graph as once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .bulk import (
    BulkOp,
    DeleteWhere,
    UpdateWhere,
    Upsert,
    check_unlinked,
    count_name,
    rows_name,
    upsert_groups,
    upsert_name,
)
from .expressions import Arith
from .failures import guard_clause
from .identity import IdentityMap, Status
from .mapping import EntityMapping
from .reads import projection
from .vectors import stored


@dataclass(frozen=True, slots=True)
class BulkPlan:
    params: dict[str, Any]
    upserts: tuple[str, ...]  # blocks before the tracked deletes
    changes: tuple[str, ...]  # blocks after them
    returns: tuple[str, ...]  # result names, in RETURN order
    # Why the guard of a ``delete_where`` fired (a ``restrict`` rule), one per such change.
    refusals: tuple[str, ...] = ()


def upsert_values(op: Upsert) -> tuple[Any, ...]:
    """The row an upsert sends: every mapped property, encoded, in ``properties`` order.

    Raises:
        MappingError: the entity's relationships hold targets (not written).
        ValueEncodingError: a value cannot be stored.
    """
    mapping = op.mapping
    if mapping.relationships:
        check_unlinked(mapping, op.entity)
    op.values = mapping.encode(op.entity)
    return op.values


def _same(prop: str, at: int) -> str:
    """Whether ``n.prop`` holds ``row[at]`` (absent and null are the same)."""
    return f"coalesce(n.{prop} = row[{at}], n.{prop} IS NULL AND row[{at}] IS NULL)"


def _upsert_block(mapping: EntityMapping[Any], name: str) -> str:
    key, vprop = mapping.key_property, mapping.version_property
    props = [(i, p) for i, p in enumerate(mapping.properties) if p != key]
    sets = [f"n.{p} = row[{i}]" for i, p in props]
    created, matched = list(sets), list(sets)
    if vprop:
        created.append(f"n.{vprop} = 1")
        same = " AND ".join(_same(p, i) for i, p in props) or "true"
        # First in the list, so it compares the values as they were stored.
        matched.insert(
            0, f"n.{vprop} = coalesce(n.{vprop}, 0) + CASE WHEN {same} THEN 0 ELSE 1 END"
        )
    # The versions of the nodes it created are 1: only the others come back.
    result = (
        f"collect(CASE WHEN n.{vprop} <> 1 THEN [n.{key}, n.{vprop}] END)" if vprop else "count(n)"
    )
    on_create = f" ON CREATE SET {', '.join(created)}" if created else ""
    on_match = f" ON MATCH SET {', '.join(matched)}" if matched else ""
    # Matched on the label the mapping reads; the extra labels set on every node written.
    extra = f" SET n:{':'.join(mapping.extra_labels)}" if mapping.extra_labels else ""
    return (
        f"CALL {{ UNWIND ${name} AS row MERGE (n:{mapping.label} "
        f"{{{key}: row[{mapping.key_index}]}}){on_create}{on_match}{extra} "
        f"RETURN {result} AS {name} }}"
    )


def watched(identity: IdentityMap, ops: Sequence[BulkOp], mapping: EntityMapping[Any]) -> list[Any]:
    """Stored keys of ``mapping``'s entities the unit tracks or upserts in this commit."""
    keys = [
        s.stored_key for s in identity if s.mapping is mapping and s.status is not Status.DELETED
    ]
    keys.extend(op.stored_key for op in ops if isinstance(op, Upsert) and op.mapping is mapping)
    return keys


def _criterion(op: UpdateWhere | DeleteWhere, at: int, params: dict[str, Any]) -> str:
    own: dict[str, Any] = {}
    text = op.where.compile(op.mapping, own)
    prefix = f"bulk_{at}_c"
    for name, value in own.items():
        params[prefix + name[1:]] = value
    return re.sub(r"\$w(\d+)\b", lambda m: f"${prefix}{m.group(1)}", text)


def plan_bulk(ops: Sequence[BulkOp], identity: IdentityMap) -> BulkPlan | None:
    """The blocks writing ``ops``, with their parameters; None for no ops."""
    if not ops:
        return None
    params: dict[str, Any] = {}
    upserts: list[str] = []
    returns: list[str] = []
    for mapping, group in upsert_groups(ops):
        name = upsert_name(mapping.label)
        params[name] = [upsert_values(op) for op in group]
        upserts.append(_upsert_block(mapping, name))
        returns.append(name)
    changes: list[str] = []
    refusals: list[str] = []
    for at, op in enumerate(ops):
        if isinstance(op, Upsert):
            continue
        mapping = op.mapping
        where = _criterion(op, at, params)
        keys = watched(identity, ops, mapping)
        key = f"n.{mapping.key_property}"
        count, rows = count_name(at), rows_name(at)
        if keys:
            params[f"{rows}_w"] = keys
        if isinstance(op, UpdateWhere):
            assigned = []
            for j, (prop, value) in enumerate(op.sets.items()):
                param = f"bulk_{at}_s{j}"
                if isinstance(value, Arith):
                    params[param] = value.operand
                    assigned.append(f"n.{prop} = {value.compile(param)}")
                else:
                    params[param] = value
                    assigned.append(f"n.{prop} = {stored(mapping.vectors, prop, '$' + param)}")
            if mapping.version_property:
                v = mapping.version_property
                assigned.append(f"n.{v} = coalesce(n.{v}, 0) + 1")
            found = (
                f"collect(CASE WHEN {key} IN ${rows}_w THEN [{projection(mapping)}] END)"
                if keys
                else "[]"
            )
            changes.append(
                f"CALL {{ MATCH (n:{mapping.label}) WHERE {where} SET {', '.join(assigned)} "
                f"RETURN count(n) AS {count}, {found} AS {rows} }}"
            )
        else:
            held = []
            for j, rel in enumerate(mapping.relationships.values()):
                if rel.on_delete != "restrict":
                    continue
                held.append(rel.name)
                others = " WHERE b <> n" if rel.self_loops else ""
                changes.append(
                    f"CALL {{ MATCH (n:{mapping.label}) WHERE {where} MATCH "
                    f"{rel.pattern('n', 'r', 'b:' + rel.target.label)}{others} "
                    f"{guard_clause('count(r) AS held', 'held = 0')} "
                    f"RETURN held AS bulk_{at}_held_{j} }}"
                )
            if held:
                refusals.append(
                    f"{mapping.name}.delete_where matched entities whose "
                    f"{' or '.join(repr(h) for h in held)} relationship (restrict) still holds "
                    "targets; remove those edges (or the targets) first. Nothing was written."
                )
            found = f"collect(CASE WHEN k IN ${rows}_w THEN k END)" if keys else "[]"
            changes.append(
                f"CALL {{ MATCH (n:{mapping.label}) WHERE {where} WITH n, {key} AS k "
                f"DETACH DELETE n RETURN count(k) AS {count}, {found} AS {rows} }}"
            )
        returns.extend((count, rows))
    return BulkPlan(params, tuple(upserts), tuple(changes), tuple(returns), tuple(refusals))
