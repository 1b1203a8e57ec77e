"""A unit's change set applied to the in-memory graph as the one-query commit applies it.

The steps, counts and guard follow ``persistence.planner``: creates, updates
at the version read, the nodes to delete found at their version, edge merges
and property updates, the delete rules' edge counts; then the guard (every
count as expected, or the commit is refused with nothing written); then edge
deletes and node deletes, last. A refused commit raises the kind of
failure the server's answer would be classified as (``GuardFailure`` for
the version and count guard, ``UniqueFailure`` for a taken key or unique
value; see ``persistence.failures``), and the unit explains it with the same
follow-up reads it sends to FalkorDB (answered from memory). Versions follow
``persistence.writes.next_version``, as the commit query stores them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from infrastructure.persistence.bulk import BulkOp
from infrastructure.persistence.cardinality import one_at_most
from infrastructure.persistence.changes import ChangeSet
from infrastructure.persistence.errors import GuardFailure, UniqueFailure
from infrastructure.persistence.mapping import EntityMapping, RelationshipMapping
from infrastructure.persistence.planner import by_mapping, by_relationship, edge_rows, stored_olds
from infrastructure.persistence.writes import next_version

from .bulk import apply_changes, apply_upserts
from .graph import MemoryGraph, Ref, stored


def _ref(mapping: EntityMapping[Any], key: Any) -> Ref:
    return (mapping.label, key)


def _matches(graph: MemoryGraph, rel: RelationshipMapping, a: Ref, b: Ref) -> list[tuple[Ref, Ref]]:
    """The stored edges ``rel.pattern`` matches between the holder ``a`` and the target ``b``."""
    return [edge for other, edge in graph.edges_of(a, rel.type, rel.direction) if other == b]


def _version_ok(mapping: EntityMapping[Any], props: dict[str, Any] | None, version: int) -> bool:
    if props is None:
        return False
    return mapping.version_property is None or props.get(mapping.version_property, 0) == version


def holds(props: dict[str, Any], olds: dict[str, Any]) -> bool:
    """Whether a node still holds the values a unit read (absent stands for None)."""
    return all(props.get(p) == v for p, v in olds.items())


def _link(graph: MemoryGraph, rel: RelationshipMapping, rows: Sequence[dict[str, Any]]) -> int:
    """``MERGE`` each pair whose two nodes exist; the count of edges merged."""
    merged = 0
    for row in rows:
        a, b = _ref(rel.source, row["a"]), _ref(rel.target, row["b"])
        if graph.node(a) is None or graph.node(b) is None:
            continue
        found = _matches(graph, rel, a, b)
        if not found:
            found = [(b, a) if rel.direction == "in" else (a, b)]
        for start, end in found:
            # Properties are replaced only where the relationship has some (``SET r = ...``).
            kept = graph.edge(rel.type, start, end) if not rel.edge_properties else None
            graph.set_edge(rel.type, start, end, kept or stored(row["p"]))
        merged += len(found)
    return merged


def _relink(graph: MemoryGraph, rel: RelationshipMapping, rows: Sequence[dict[str, Any]]) -> int:
    """``SET r += changes`` on each pair's edges; the count of pairs that had one."""
    matched = 0
    for row in rows:
        found = _matches(graph, rel, _ref(rel.source, row["a"]), _ref(rel.target, row["b"]))
        for start, end in found:
            props = {**(graph.edge(rel.type, start, end) or {}), **row["p"]}
            graph.set_edge(rel.type, start, end, stored(props))
        matched += bool(found)
    return matched


def _unlink(graph: MemoryGraph, rel: RelationshipMapping, rows: Sequence[dict[str, Any]]) -> None:
    for row in rows:
        for start, end in _matches(
            graph, rel, _ref(rel.source, row["a"]), _ref(rel.target, row["b"])
        ):
            graph.set_edge(rel.type, start, end, None)


def apply(graph: MemoryGraph, changes: ChangeSet, bulk: Sequence[BulkOp] = ()) -> dict[str, Any]:
    """Write ``changes`` (and ``bulk``) to ``graph`` completely, or not at all.

    Returns what the commit query returns for ``bulk`` (``bulk_plan``), by name.

    Raises:
        GuardFailure: a count check failed (a stale or vanished entity, a
            restrict rule, a cascade that found other targets); ``graph`` is unchanged.
        UniqueFailure: a created key or a unique property is taken; ``graph``
            is unchanged.
    """
    graph.journal = []
    try:
        outcomes = _apply(graph, changes, bulk)
    except BaseException:
        graph.undo()
        raise
    graph.journal = None
    return outcomes


def _apply(graph: MemoryGraph, changes: ChangeSet, bulk: Sequence[BulkOp]) -> dict[str, Any]:
    counts: list[tuple[int, int]] = []  # (found, expected), as the guard compares them
    taken: list[str] = []
    written: list[tuple[EntityMapping[Any], Ref]] = []  # nodes with unique values to check

    for mapping, creates in by_mapping(changes.creates):
        for create in creates:
            values = dict(zip(mapping.properties, create.values, strict=True))
            ref = _ref(mapping, create.values[mapping.key_index])
            if graph.node(ref) is not None:
                taken.append(f"{mapping.label}.{mapping.key_property}")
                continue
            if mapping.version_property:
                values[mapping.version_property] = next_version(None)
            graph.set_node(ref, stored(values))
            if mapping.unique:
                written.append((mapping, ref))

    for mapping, updates in by_mapping(changes.updates):
        for update in updates:
            state = update.state
            ref = _ref(mapping, update.values[mapping.key_index])
            props = graph.node(ref)
            found = _version_ok(mapping, props, state.version)
            if found and props is not None and mapping.guards_values:
                found = holds(props, stored_olds(update))
            if found and props is not None:
                new = {**props, **update.changed}
                if mapping.version_property:
                    new[mapping.version_property] = next_version(state.version)
                graph.set_node(ref, stored(new))
                if any(prop in update.changed for prop in mapping.unique):
                    written.append((mapping, ref))
            counts.append((int(found), 1))

    doomed: list[Ref] = []
    for delete in changes.deletes:
        state = delete.state
        ref = _ref(state.mapping, state.mapping.encode_key(state.key))
        found = _version_ok(state.mapping, graph.node(ref), state.version)
        if found:
            doomed.append(ref)
        counts.append((int(found), 1))

    for rel, links in by_relationship(changes.links):
        rows = edge_rows(rel, links)
        counts.append((_link(graph, rel, rows), len(rows)))
    for rel, relinks in by_relationship(changes.relinks):
        rows = edge_rows(rel, relinks)
        counts.append((_relink(graph, rel, rows), len(rows)))
    for check in one_at_most(changes):  # to_one holders over their allowance: none
        rel = check.rel
        over = sum(
            1
            for holder, allowed in check.rows()
            if sum(
                1
                for _ in graph.edges_of(
                    (rel.source.label, holder), rel.type, rel.direction, rel.target.label
                )
            )
            > allowed
        )
        counts.append((over, 0))
    for rel, rules in by_relationship(changes.rules):
        attached = 0
        for rule in rules:
            holder = _ref(rel.source, rule.source)
            if graph.node(holder) is not None:
                skip = holder if rel.on_delete == "restrict" and rel.self_loops else None
                attached += sum(
                    1
                    for other, _ in graph.edges_of(
                        holder, rel.type, rel.direction, rel.target.label
                    )
                    if other != skip
                )
        counts.append((attached, sum(rule.expected for rule in rules)))

    if any(found != expected for found, expected in counts):
        raise GuardFailure("a count of the in-memory store's version and count guard was off")
    if taken:
        raise UniqueFailure(f"{', '.join(taken)} already held (in-memory store)")

    outcomes, upserted = apply_upserts(graph, bulk)
    written.extend((m, ref) for m, ref in upserted if m.unique)
    for rel, unlinks in by_relationship(changes.unlinks):
        _unlink(graph, rel, edge_rows(rel, unlinks))
    for ref in doomed:
        graph.set_node(ref, None)
    outcomes.update(apply_changes(graph, bulk))
    # Unique values hold on the commit's end state (the real commit frees the
    # values it moves or deletes first): a swap is no clash.
    clashes = [c for mapping, ref in written for c in _clashes(graph, mapping, ref)]
    if clashes:
        raise UniqueFailure(f"{', '.join(clashes)} already held (in-memory store)")
    return outcomes


def _clashes(graph: MemoryGraph, mapping: EntityMapping[Any], ref: Ref) -> list[str]:
    """The declared unique properties of ``ref`` whose value another node also holds."""
    table = graph.table(mapping.label)
    props = table.get(ref[1])
    if props is None:
        return []
    return [
        f"{mapping.label}.{prop}"
        for prop in mapping.unique
        if prop in props
        and any(other.get(prop) == props[prop] for key, other in table.items() if key != ref[1])
    ]
