"""The commit planner: a change set in, one parameterized Cypher query out.

The whole unit becomes ONE ``GRAPH.QUERY``, which FalkorDB runs atomically: a
runtime error anywhere in it undoes every write it made. The query is a chain
of ``CALL { UNWIND $rows ... }`` blocks, one per (label, operation), in this
order:

0. the unique values that updates change and deletes drop, cleared
   (FalkorDB checks a unique constraint as each block writes, so without
   this a swap of two values would be refused; with it the constraint
   holds on the commit's end state);
1. node creates, by label, each after counting the keys it creates that are
   already stored (the guard wants none: keys stay unique without the key
   constraint too);
2. node updates, by label, each matching on the key and, for versioned
   entities, on the version read by this unit, for unversioned ones (unless
   mapped with ``concurrency=None``) on the stored values, as read, of the
   properties the unit changes; each block counts what it matched;
3. edge creates (MERGE: an edge is unique per pair, even when two units
   link the same pair) and edge property updates, by relationship, counting the
   pairs whose endpoints were found;
4. read-only checks: ``restrict``/``cascade`` rules of deleted entities
   (their stored edges must number what the unit expects) and, for node
   deletes, the rows still at the version read;
5. a guard that divides by zero (a runtime error, so nothing is written)
   unless every count equals what was expected (``failures.guard_clause``;
   ``failures.classify`` tells its error from the others);
6. edge deletes, then node deletes, last (a FalkorDB bug restores deleted
   nodes badly when a later create in the same query fails).

Only names validated by the mapping are written into the text; all values
travel as parameters. The text depends only on the shape of the change (which
labels, which operations), so equal shapes give equal text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from .bulk_plan import BulkPlan, foreign_labels
from .cardinality import OneAtMost, block, one_at_most
from .changes import ChangeSet, Create, Delete, DeleteRule, EdgeWrite, Update
from .codec import zero_signs_differ
from .failures import guard_clause
from .identity import InstanceState
from .mapping import EntityMapping, RelationshipMapping
from .vectors import UpdateShape, stored, update_shapes
from .writes import FIRST_VERSION, next_version_cypher


@dataclass(frozen=True, slots=True)
class CheckedBatch:
    """Rows whose match count is guarded: enough to name the stale ones later."""

    mapping: EntityMapping[Any]
    operation: str  # "update", "delete", "link" or "relink"
    rows: tuple[tuple[Any, int], ...]  # (encoded key, expected version)
    # Unversioned updates guarded on stored values: per row, property -> value read.
    olds: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class CommitPlan:
    query: str
    params: dict[str, Any]
    checked: tuple[CheckedBatch, ...]
    created: tuple[tuple[EntityMapping[Any], tuple[Any, ...]], ...]  # mapping, encoded keys
    restricted: tuple[DeleteRule, ...] = ()
    guards: tuple[tuple[str, int], ...] = ()  # (counted block, expected count), checked in order
    returns: tuple[str, ...] = ()  # what the query returns after its leading 1 (``bulk_plan``)
    refusals: tuple[str, ...] = ()  # why a set-based delete's own guard fires (``bulk_plan``)
    one_at_most: tuple[OneAtMost, ...] = ()  # to_one holders counted after the links
    # Upserted keys of a class hierarchy, which another class of it must not hold (``bulk_plan``).
    claimed: tuple[tuple[EntityMapping[Any], tuple[Any, ...]], ...] = ()


C = TypeVar("C", Create, Update, Delete)


def _by_mapping(items: Sequence[C]) -> list[tuple[EntityMapping[Any], list[C]]]:
    groups: dict[str, tuple[EntityMapping[Any], list[C]]] = {}
    for item in items:
        mapping = item.state.mapping
        groups.setdefault(mapping.label, (mapping, []))[1].append(item)
    return [groups[label] for label in sorted(groups)]


def _update_groups(
    updates: Sequence[Update],
) -> list[tuple[EntityMapping[Any], list[Update], UpdateShape]]:
    """Updates by label, then by which vector properties they change (each needs ``vecf32``)."""
    out = []
    for mapping, group in _by_mapping(updates):
        for shape, positions in update_shapes(mapping.vectors, [u.changed for u in group]):
            out.append((mapping, [group[i] for i in positions], shape))
    return out


R = TypeVar("R", EdgeWrite, DeleteRule)


def _by_relationship(items: Sequence[R]) -> list[tuple[RelationshipMapping, list[R]]]:
    groups: dict[str, tuple[RelationshipMapping, list[R]]] = {}
    for item in items:
        groups.setdefault(item.rel.label, (item.rel, []))[1].append(item)
    return [groups[label] for label in sorted(groups)]


def _distinct_edges(writes: Sequence[EdgeWrite]) -> list[EdgeWrite]:
    """``writes`` with each stored edge once.

    Both holders of an undirected edge, or two relationships declared over
    the same edges (``Person.pets`` and ``Pet.owner``), may write one edge in
    one unit: it is written once.
    """
    out = []
    seen: set[tuple[Any, ...]] = set()
    for w in writes:
        rel = w.rel
        start, end = (rel.source.label, w.source), (rel.target.label, w.target)
        undirected = rel.direction == "both"
        if rel.direction == "in" or (undirected and repr(end) < repr(start)):
            start, end = end, start
        edge = (rel.type, undirected, start, end)
        if edge not in seen:
            seen.add(edge)
            out.append(w)
    return out


def _edge_values(rel: RelationshipMapping) -> str:
    """``since: t[1], note: t[2]``: a new edge's properties from its link row."""
    return ", ".join(f"{p}: t[{i}]" for i, p in enumerate(rel.edge_properties, start=1))


def _merge_sets(rel: RelationshipMapping) -> str:
    """`` SET r.since = t[1], ...``: a merged edge's properties from its link row."""
    if not rel.edge_properties:
        return ""
    return " SET " + ", ".join(
        f"r.{p} = t[{i}]" for i, p in enumerate(rel.edge_properties, start=1)
    )


def _link_rows(rel: RelationshipMapping, writes: Sequence[EdgeWrite]) -> list[dict[str, Any]]:
    """One row per holder, with its new targets (and their edge properties, if any)."""
    rows: dict[Any, list[Any]] = {}
    with_props = bool(rel.edge_properties)
    for w in writes:
        # With properties: [target, property values in edge_properties order].
        rows.setdefault(w.source, []).append(
            [w.target, *w.props.values()] if with_props else w.target
        )
    return [{"a": source, "t": targets} for source, targets in rows.items()]


def _edge_rows(rel: RelationshipMapping, writes: Sequence[EdgeWrite]) -> list[dict[str, Any]]:
    """One row per distinct edge: holder key, target key, properties."""
    return [{"a": w.source, "b": w.target, "p": w.props} for w in _distinct_edges(writes)]


#: The rows of one relationship's edge writes, each edge once, and the groups the
#: blocks are written in: public for the in-memory store (``infrastructure.fakes``),
#: which replays them in the same order.
edge_rows = _edge_rows
by_mapping = _by_mapping
by_relationship = _by_relationship


def _edge_match(rel: RelationshipMapping) -> str:
    target = rel.target
    return rel.pattern(
        f"a:{rel.source.match_labels} {{{rel.source.key_property}: row.a}}",
        "r",
        f"b:{target.match_labels} {{{target.key_property}: row.b}}",
    )


def _edge_call(
    params: dict[str, Any],
    name: str,
    rel: RelationshipMapping,
    writes: Sequence[EdgeWrite],
    change: str,
    returned: str,
) -> str:
    """A block matching each edge of ``writes`` (parameter ``name``) and applying ``change``.

    It returns ``returned`` as ``name``.
    """
    params[name] = _edge_rows(rel, writes)
    return (
        f"CALL {{ UNWIND ${name} AS row MATCH {_edge_match(rel)} {change} "
        f"RETURN {returned} AS {name} }}"
    )


#: Properties of ``row.o`` whose stored value is no longer the one the unit read.
_MOVED = "[k IN keys(row.o) WHERE NOT coalesce(n[k] = row.o[k], n[k] IS NULL AND row.o[k] IS NULL)]"


def _values_match(mapping: EntityMapping[Any]) -> str:
    # FalkorDB 4.16 answers ``WHERE all(k IN keys(row.o) WHERE n[k] = ...)`` right after
    # a MATCH with no rows even when it holds; the list, then its size, is right.
    if not mapping.guards_values:
        return ""
    return f" WITH n, row, {_MOVED} AS moved WHERE size(moved) = 0"


def _sendable(value: Any) -> bool:
    kind = type(value)
    if kind is list:
        return all(_sendable(v) for v in value)
    return kind in (str, int, float, bool) or value is None


def stored_olds(update: Update) -> dict[str, Any]:
    """The stored values, as read, of the properties ``update`` changes (the dirty guard).

    Values another client wrote natively (temporal, vectors) cannot travel as
    parameters; those properties are not guarded.
    """
    state = update.state
    base = state.raw if state.raw is not None else state.snapshot
    assert base is not None
    at = state.mapping.property_index
    olds = {p: base[at[p]] for p in update.changed}
    return {p: v for p, v in olds.items() if _sendable(v)}


def _version_match(mapping: EntityMapping[Any], expected: str = "row.v") -> str:
    if mapping.version_property is None:
        return ""
    return f" WHERE coalesce(n.{mapping.version_property}, 0) = {expected}"


def _freed(changes: ChangeSet) -> list[tuple[EntityMapping[Any], list[dict[str, Any]]]]:
    """Per label, the rows clearing the unique values that updates change and deletes drop."""
    rows: dict[str, tuple[EntityMapping[Any], list[dict[str, Any]]]] = {}
    freed: list[tuple[InstanceState, dict[str, None]]] = [
        (u.state, {p: None for p in u.state.mapping.unique if p in u.changed})
        for u in changes.updates
    ]
    freed.extend((d.state, dict.fromkeys(d.state.mapping.unique)) for d in changes.deletes)
    for state, cleared in freed:
        if cleared:
            row = {"k": state.stored_key, "v": state.version, "z": cleared}
            rows.setdefault(state.mapping.label, (state.mapping, []))[1].append(row)
    return [rows[label] for label in sorted(rows)]


def _sign_only(update: Update) -> dict[str, None]:
    """The changed properties equal to their stored value but for the sign of a zero."""
    changed = update.changed
    if not any(type(v) is float or type(v) is list for v in changed.values()):
        return {}  # only a float (alone or in a list) has a signed zero
    snapshot = update.state.snapshot
    if snapshot is None:
        return {}
    return {
        p: None
        for p, old in zip(update.state.mapping.properties, snapshot, strict=True)
        if p in changed and changed[p] == old and zero_signs_differ(changed[p], old)
    }


def plan_commit(changes: ChangeSet, bulk: BulkPlan | None = None) -> CommitPlan | None:
    """Compile ``changes`` (and ``bulk``'s upserts and set-based changes) into one atomic
    query, or ``None`` when there is nothing to do."""
    if not changes and bulk is None:
        return None
    blocks: list[str] = []
    params: dict[str, Any] = dict(bulk.params) if bulk is not None else {}
    counted: list[str] = []
    checked: list[CheckedBatch] = []
    created: list[tuple[EntityMapping[Any], tuple[Any, ...]]] = []
    expected: list[int] = []
    restricted: list[DeleteRule] = []

    for mapping, rows in _freed(changes):
        # FalkorDB checks a unique constraint as each block writes, against
        # values other nodes still hold (a value being moved away included):
        # freeing first the unique values this commit moves or deletes makes
        # the constraint hold on the commit's end state, so swaps work.
        name = f"free_{mapping.label}"
        params[name] = rows
        blocks.append(
            f"CALL {{ UNWIND ${name} AS row MATCH (n:{mapping.match_labels} "
            f"{{{mapping.key_property}: row.k}}){_version_match(mapping)} "
            f"SET n += row.z RETURN count(n) AS {name} }}"
        )

    for mapping, creates in _by_mapping(changes.creates):
        name = f"create_{mapping.label}"
        # Rows are the encoded values themselves, in ``properties`` order: no
        # map per row to build or send (null values leave a property unset).
        params[name] = [c.values for c in creates]
        assigned = [
            f"{p}: {stored(mapping.vectors, p, f'row[{i}]')}"
            for i, p in enumerate(mapping.properties)
        ]
        if mapping.version_property:
            assigned.append(f"{mapping.version_property}: {FIRST_VERSION}")
        created.append((mapping, tuple(c.values[mapping.key_index] for c in creates)))
        # Keys already stored are counted first (and must number 0), so a key stays
        # unique whether or not the graph has the key constraint. (A MATCH counted
        # costs next to nothing with the key index; OPTIONAL MATCH doubled the create.)
        taken = f"taken_{mapping.label}"
        blocks.append(
            f"CALL {{ UNWIND ${name} AS row MATCH (e:{mapping.key_label} "
            f"{{{mapping.key_property}: row[{mapping.key_index}]}}) RETURN count(e) AS {taken} }}"
        )
        counted.append(taken)
        expected.append(0)
        blocks.append(
            f"CALL {{ UNWIND ${name} AS row CREATE (n:{mapping.node_labels} "
            f"{{{', '.join(assigned)}}}) "
            f"RETURN count(*) AS {name} }}"
        )

    for mapping, updates, shape in _update_groups(changes.updates):
        name = f"update_{mapping.label}{shape.suffix}"
        vprop = mapping.version_property
        key_index = mapping.key_index
        rows = [
            {"k": u.values[key_index], "v": u.state.version, **shape.row(u.changed)}
            for u in updates
        ]
        bump = f", n.{vprop} = {next_version_cypher('row.v')}" if vprop else ""
        signs = [_sign_only(u) for u in updates]
        clear = ""
        if any(signs):
            # FalkorDB skips a SET whose value equals the stored one, and
            # -0.0 = 0.0: such properties are cleared first, then set.
            for row, sign in zip(rows, signs, strict=True):
                row["z"] = sign
            clear = "SET n += row.z "
        olds = tuple(stored_olds(u) for u in updates) if mapping.guards_values else ()
        for row, old in zip(rows, olds, strict=False):  # the stored values, as read
            row["o"] = old
        params[name] = rows
        blocks.append(
            f"CALL {{ UNWIND ${name} AS row MATCH (n:{mapping.match_labels} "
            f"{{{mapping.key_property}: row.k}}){_version_match(mapping)}{_values_match(mapping)} "
            f"{clear}SET n += row.p{shape.sets()}{bump} RETURN count(n) AS {name} }}"
        )
        counted.append(name)
        expected.append(len(updates))
        checked.append(
            CheckedBatch(
                mapping,
                "update",
                tuple((u.values[key_index], u.state.version) for u in updates),
                olds,
            )
        )

    delete_groups = _by_mapping(changes.deletes)
    for mapping, deletes in delete_groups:
        name = f"delete_{mapping.label}"
        keyed = tuple((d.state.stored_key, d.state.version) for d in deletes)
        params[name] = [[k, v] for k, v in keyed]
        # The nodes found at the version read are collected, checked by the
        # guard and deleted at the end, with no second lookup.
        blocks.append(
            f"CALL {{ UNWIND ${name} AS row MATCH (n:{mapping.match_labels} "
            f"{{{mapping.key_property}: row[0]}}){_version_match(mapping, 'row[1]')} "
            f"RETURN collect(n) AS doomed_{mapping.label} }}"
        )
        counted.append(f"doomed_{mapping.label}")
        expected.append(len(deletes))
        checked.append(CheckedBatch(mapping, "delete", keyed))

    for rel, unique in _by_relationship(_distinct_edges(changes.links)):
        # An edge from a node this commit creates cannot exist yet: CREATE it.
        # Other edges MERGE, so a pair stays unique when another unit linked
        # it meanwhile. Each holder is matched once, then each of its targets.
        for fresh in (True, False):
            writes = [w for w in unique if w.fresh is fresh]
            if not writes:
                continue
            name = f"{'attach' if fresh else 'link'}_{rel.label}"
            params[name] = _link_rows(rel, writes)
            target = rel.target
            each = "t[0]" if rel.edge_properties else "t"
            if fresh:
                write = f"CREATE {rel.create_pattern('a', 'r', 'b', _edge_values(rel))}"
            else:
                write = f"MERGE {rel.pattern('a', 'r', 'b')}{_merge_sets(rel)}"
            blocks.append(
                f"CALL {{ UNWIND ${name} AS row MATCH (a:{rel.source.match_labels} "
                f"{{{rel.source.key_property}: row.a}}) UNWIND row.t AS t MATCH (b:{target.match_labels} "
                f"{{{target.key_property}: {each}}}) {write} RETURN count(r) AS {name} }}"
            )
            counted.append(name)
            expected.append(len(writes))
            checked.append(CheckedBatch(rel.source, "link", ()))

    for rel, relinks in _by_relationship(changes.relinks):
        name = f"relink_{rel.label}"
        blocks.append(
            _edge_call(
                params,
                name,
                rel,
                relinks,
                "SET r += row.p WITH row, count(r) AS matched",
                "count(row)",
            )
        )
        counted.append(name)
        expected.append(len(params[name]))
        checked.append(CheckedBatch(rel.source, "relink", ()))

    cardinal = one_at_most(changes)
    for check in cardinal:
        name = f"one_{check.rel.label}"
        params[name] = check.rows()
        blocks.append(block(check, name))
        counted.append(name)
        expected.append(0)

    for rel, rules in _by_relationship(changes.rules):
        name = f"{rel.on_delete}_{rel.label}"
        params[name] = [{"k": rule.source} for rule in rules]
        target = rel.target
        others = ""
        if rel.on_delete == "restrict" and rel.self_loops:
            others = f" WHERE b.{target.key_property} <> row.k"
        blocks.append(
            f"CALL {{ UNWIND ${name} AS row MATCH (a:{rel.source.match_labels} "
            f"{{{rel.source.key_property}: row.k}}) OPTIONAL MATCH "
            f"{rel.pattern('a', 'r', 'b:' + target.label)}{others} RETURN count(r) AS {name} }}"
        )
        counted.append(name)
        expected.append(sum(rule.expected for rule in rules))
        restricted.extend(rule for rule in rules if rel.on_delete == "restrict")

    if counted:
        params["expected"] = expected
        condition = " AND ".join(
            f"{'size(' + c + ')' if c.startswith('doomed_') else c} = $expected[{i}]"
            for i, c in enumerate(counted)
        )
        blocks.append(guard_clause(", ".join(counted), condition))

    if bulk is not None:
        blocks.extend(bulk.upserts)

    for rel, unlinks in _by_relationship(changes.unlinks):
        name = f"unlink_{rel.label}"
        blocks.append(_edge_call(params, name, rel, unlinks, "DELETE r", "count(*)"))

    for mapping, _ in delete_groups:
        doomed = f"doomed_{mapping.label}"
        blocks.append(
            f"CALL {{ WITH {doomed} UNWIND {doomed} AS n DETACH DELETE n "
            f"RETURN count(*) AS done_{mapping.label} }}"
        )

    returns = bulk.returns if bulk is not None else ()
    if bulk is not None:
        blocks.extend(bulk.changes)
    blocks.append(", ".join(("RETURN 1", *returns)))
    return CommitPlan(
        "\n".join(blocks),
        params,
        tuple(checked),
        tuple(created),
        tuple(restricted),
        tuple(zip(counted, expected, strict=True)),
        returns,
        bulk.refusals if bulk is not None else (),
        tuple(cardinal),
        bulk.claimed if bulk is not None else (),
    )


def restrict_probe(rule: DeleteRule) -> tuple[str, dict[str, Any]]:
    """A read naming what is still attached to an entity whose delete a rule refused.

    Targets the commit removed itself do not count.
    """
    rel = rule.rel
    target = rel.target
    holder = f"a:{rel.source.match_labels} {{{rel.source.key_property}: $k}}"
    query = (
        f"MATCH {rel.pattern(holder, 'r', f'b:{target.label}')} "
        f"WHERE NOT b.{target.key_property} IN $removed "
        f"RETURN b.{target.key_property} LIMIT 20"
    )
    return query, {"k": rule.source, "removed": list(rule.removed)}


def stale_probe(batch: CheckedBatch) -> tuple[str, dict[str, Any]]:
    """A read that returns, for each checked row, its key and stored version (if any)."""
    mapping = batch.mapping
    match = f"UNWIND $rows AS row OPTIONAL MATCH (n:{mapping.match_labels} {{{mapping.key_property}: row.k}})"
    if batch.olds:  # found means: still holding the values read
        query = (
            f"{match} WITH row, n, CASE WHEN n IS NULL THEN [] ELSE {_MOVED} END AS moved "
            "RETURN row.k, n IS NOT NULL AND size(moved) = 0, 0"
        )
        rows = [{"k": k, "o": o} for (k, _), o in zip(batch.rows, batch.olds, strict=True)]
        return query, {"rows": rows}
    version = f"coalesce(n.{mapping.version_property}, 0)" if mapping.version_property else "0"
    query = f"{match} RETURN row.k, n IS NOT NULL, {version}"
    return query, {"rows": [{"k": k} for k, _ in batch.rows]}


def stale_keys(batch: CheckedBatch, probe_rows: Sequence[Sequence[Any]]) -> list[Any]:
    """Decoded keys of the rows that are gone or no longer at the version this unit read."""
    expected = dict(batch.rows)
    decode = batch.mapping.key_codec.decode
    stale = []
    for key, found, version in probe_rows:
        if not found or (batch.mapping.version_property and version != expected.get(key)):
            stale.append(decode(key))
    return stale


def existing_keys_probe(
    mapping: EntityMapping[Any], keys: Sequence[Any], foreign: bool = False
) -> tuple[str, dict[str, Any]]:
    """A read returning which of ``keys`` already exist (to name duplicate keys) anywhere
    in the class hierarchy; with ``foreign``, which are stored as another class of it."""
    where = f" WHERE {foreign_labels(mapping, 'n')}" if foreign else ""
    query = (
        f"UNWIND $keys AS k MATCH (n:{mapping.key_label} {{{mapping.key_property}: k}})"
        f"{where} RETURN k"
    )
    return query, {"keys": list(keys)}
