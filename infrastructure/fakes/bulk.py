"""Queued upserts and set-based changes applied to the in-memory graph as the commit does.

Follows ``persistence.bulk_plan``: upserts after the guard (a new node gets
every mapped property and version 1, a stored one is overwritten and its
version moves only when a value changed), set-based changes last, in the
order queued; each returns what the real query returns, under the same
names, so ``bulk.settle`` reads the fake's answer as the server's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from infrastructure.persistence.bulk import (
    BulkOp,
    DeleteWhere,
    UpdateWhere,
    Upsert,
    count_name,
    rows_name,
    upsert_groups,
    upsert_name,
)
from infrastructure.persistence.bulk_plan import upsert_values
from infrastructure.persistence.errors import GuardFailure
from infrastructure.persistence.expressions import Arith
from infrastructure.persistence.mapping import EntityMapping

from .graph import MemoryGraph, Ref, stored


def _row(mapping: EntityMapping[Any], props: dict[str, Any]) -> list[Any]:
    version = props.get(mapping.version_property, 0) if mapping.version_property else 0
    return [props.get(p) for p in mapping.properties] + [version]


def apply_upserts(
    graph: MemoryGraph, ops: Sequence[BulkOp]
) -> tuple[dict[str, Any], list[tuple[EntityMapping[Any], Ref]]]:
    """Write the upserts; their outcomes and the nodes written (for unique checks)."""
    outcomes: dict[str, Any] = {}
    written: list[tuple[EntityMapping[Any], Ref]] = []
    for mapping, group in upsert_groups(ops):
        vprop = mapping.version_property
        pairs = []
        for op in group:
            given = dict(zip(mapping.properties, upsert_values(op), strict=True))
            ref = (mapping.label, op.stored_key)
            before = graph.node(ref)
            new = {**(before or {}), **given}
            if vprop:
                old = (before or {}).get(vprop, 0)
                moved = before is None or any(before.get(p) != v for p, v in given.items())
                new[vprop] = 1 if before is None else old + int(moved)
                if new[vprop] != 1:
                    pairs.append([op.stored_key, new[vprop]])
            graph.set_node(ref, stored({p: v for p, v in new.items() if v is not None}))
            written.append((mapping, ref))
        outcomes[upsert_name(mapping.label)] = pairs if vprop else len(group)
    return outcomes, written


def apply_changes(graph: MemoryGraph, ops: Sequence[BulkOp]) -> dict[str, Any]:
    """Apply the set-based changes in order; their counts and rows.

    Raises:
        GuardFailure: a ``delete_where`` matched a node still holding a
            ``restrict`` relationship's target.
    """
    outcomes: dict[str, Any] = {}
    for at, op in enumerate(ops):
        if isinstance(op, Upsert):
            continue
        mapping = op.mapping
        table = graph.table(mapping.label)
        matched = [k for k, p in table.items() if op.where.evaluate(mapping, p) is True]
        rows: list[Any] = []
        if isinstance(op, UpdateWhere):
            for key in matched:
                props = dict(table[key])
                new = {
                    p: v.evaluate(props) if isinstance(v, Arith) else v for p, v in op.sets.items()
                }
                props.update(new)
                if mapping.version_property:
                    props[mapping.version_property] = props.get(mapping.version_property, 0) + 1
                kept = stored({p: v for p, v in props.items() if v is not None})
                graph.set_node((mapping.label, key), kept)
                rows.append(_row(mapping, kept))
        else:
            _refuse_restricted(graph, op, matched)
            for key in matched:
                graph.set_node((mapping.label, key), None)
            rows = list(matched)
        outcomes[count_name(at)] = len(matched)
        outcomes[rows_name(at)] = rows
    return outcomes


def _refuse_restricted(graph: MemoryGraph, op: DeleteWhere, matched: Sequence[Any]) -> None:
    for rel in op.mapping.relationships.values():
        if rel.on_delete != "restrict":
            continue
        for key in matched:
            holder = (op.mapping.label, key)
            others = graph.edges_of(holder, rel.type, rel.direction, rel.target.label)
            if any(other != holder or not rel.self_loops for other, _ in others):
                raise GuardFailure(
                    f"{op.mapping.name}.delete_where met {rel.name} (restrict) in the in-memory "
                    "store"
                )
