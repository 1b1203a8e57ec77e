"""The schema a registry declares, and making a graph match it.

Every mapped label gets a unique constraint on its key (a class hierarchy
one, on its root's label, which every node of it carries): it is what makes a
create with a taken key fail (and with it the whole commit) instead of
writing a duplicate node. Mappings may declare more range indexes and
unique constraints (``registry.map(..., indexes=[...], unique=[...])``) and
relationships may index edge properties. Vector fields get a vector index
each (``vectors=``), and the ``fulltext=`` fields of a label one full-text
index.

``ensure_schema`` is idempotent: it creates what is missing, waits until
FalkorDB reports every constraint OPERATIONAL (they are built in the
background), and reports what the graph holds that the mapping does not
declare, without dropping it. A vector index stored with other options
than declared (another dimension or distance) is reported in
``SchemaReport.different``, never dropped: rebuilding it is the operator's
call.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from redis import exceptions as redis_errors

from .errors import SchemaError
from .mapping import EntityMapping, Registry


@dataclass(frozen=True, slots=True, order=True)
class SchemaItem:
    """One index or constraint: on nodes of a label or edges of a type."""

    kind: Literal["UNIQUE", "RANGE", "VECTOR", "FULLTEXT"]
    entity: Literal["NODE", "RELATIONSHIP"]
    label: str
    property: str
    # A vector index's options ("dimension 384, cosine, M 16, ..."): not part of its identity.
    detail: str = field(default="", compare=False)

    def __str__(self) -> str:
        target = f"(:{self.label})" if self.entity == "NODE" else f"[:{self.label}]"
        shown = f" {{{self.detail}}}" if self.detail else ""
        return f"{self.kind} {target}.{self.property}{shown}"


@dataclass(slots=True)
class SchemaReport:
    """What ``ensure_schema`` found and did."""

    declared: list[SchemaItem] = field(default_factory=list)
    created: list[SchemaItem] = field(default_factory=list)
    missing: list[SchemaItem] = field(default_factory=list)  # declared, not in the graph
    undeclared: list[SchemaItem] = field(default_factory=list)  # in the graph, not declared
    # Declared and stored, with other options: (declared, stored). Never dropped.
    different: list[tuple[SchemaItem, SchemaItem]] = field(default_factory=list)

    @property
    def in_sync(self) -> bool:
        return not self.missing and not self.undeclared and not self.different


def declared_schema(registry: Registry) -> list[SchemaItem]:
    """Every index and constraint ``registry`` declares, in a stable order."""
    items: set[SchemaItem] = set()
    for m in registry:
        # One key constraint per class hierarchy, on its root's label (every node carries it).
        items.add(SchemaItem("UNIQUE", "NODE", m.key_label, m.key_property))
        inherited = m.parent.unique if m.parent is not None else ()
        items.update(
            SchemaItem("UNIQUE", "NODE", m.label, p) for p in m.unique if p not in inherited
        )
        items.update(SchemaItem("RANGE", "NODE", m.label, p) for p in m.indexes)
        for rel in m.relationships.values():
            items.update(SchemaItem("RANGE", "RELATIONSHIP", rel.type, p) for p in rel.decl.indexes)
        items.update(
            SchemaItem("VECTOR", "NODE", m.label, p, _vector_detail(v.options()))
            for p, v in m.vectors.items()
        )
        items.update(SchemaItem("FULLTEXT", "NODE", m.label, p) for p in m.fulltext)
    return sorted(items)


def _vector_detail(options: Any) -> str:
    names = ("dimension", "similarityFunction", "M", "efConstruction", "efRuntime")
    return ", ".join(f"{n} {options.get(n)}" for n in names if n in options)


def _call(graph: Any, method: str) -> Any:
    try:
        return getattr(graph, method)()
    except redis_errors.ResponseError as exc:
        if "empty key" in str(exc):  # the graph does not exist yet
            return []
        raise


def stored_schema(graph: Any) -> dict[SchemaItem, str]:
    """``{item: status}`` for the indexes and constraints ``graph`` holds.

    Range indexes that only back a unique constraint are reported as the
    constraint.
    """
    found: dict[SchemaItem, str] = {}
    for c in _call(graph, "list_constraints"):
        if c.get("type") == "UNIQUE" and len(c["properties"]) == 1:
            item = SchemaItem("UNIQUE", c["entitytype"], c["label"], c["properties"][0])
            found[item] = c.get("status", "")
    backing = {(i.entity, i.label, i.property) for i in found}
    listed = _call(graph, "list_indices")
    rows = getattr(listed, "result_set", listed)
    for row in rows:
        label, props, types, options = row[0], row[1], row[2], row[3]
        entity, status = row[6], row[7]
        for prop in props:
            kinds = types.get(prop, [])
            if "RANGE" in kinds and (entity, label, prop) not in backing:
                found[SchemaItem("RANGE", entity, label, prop)] = status
            if "VECTOR" in kinds:
                detail = _vector_detail((options or {}).get(prop) or {})
                found[SchemaItem("VECTOR", entity, label, prop, detail)] = status
            if "FULLTEXT" in kinds:
                found[SchemaItem("FULLTEXT", entity, label, prop)] = status
    return found


def _vector_index(mapping: EntityMapping[Any], prop: str) -> str:
    v = mapping.vectors[prop]
    return (
        f"CREATE VECTOR INDEX FOR (n:{mapping.label}) ON (n.{prop}) OPTIONS {{dimension: "
        f"{v.dimension}, similarityFunction: '{v.similarity}', M: {v.m}, efConstruction: "
        f"{v.ef_construction}, efRuntime: {v.ef_runtime}}}"
    )


def _create_search_indexes(graph: Any, registry: Registry, items: list[SchemaItem]) -> None:
    """Create the missing vector indexes, and each label's missing full-text fields at once."""
    text_fields: dict[str, list[str]] = {}
    for item in items:
        mapping = registry.mapping_for_label(item.label)
        if mapping is None or item.entity != "NODE":
            continue
        if item.kind == "VECTOR":
            with _unless_created_meanwhile():
                graph.query(_vector_index(mapping, item.property))
        elif item.kind == "FULLTEXT":
            text_fields.setdefault(item.label, []).append(f"n.{item.property}")
    for label, props in text_fields.items():
        with _unless_created_meanwhile():
            graph.query(f"CREATE FULLTEXT INDEX FOR (n:{label}) ON ({', '.join(props)})")


@contextlib.contextmanager
def _unless_created_meanwhile() -> Iterator[None]:
    """Let a create pass when another process created the same item first.

    Two processes ensuring one schema at once (``serve`` and ``seed`` started
    together) both see an index missing; the second to create it is told
    "already indexed" or "already exists", which is the state it wanted.
    """
    try:
        yield
    except redis_errors.ResponseError as exc:
        text = str(exc).lower()
        if "already indexed" not in text and "already exists" not in text:
            raise


def _create(graph: Any, item: SchemaItem) -> None:
    with _unless_created_meanwhile():
        _create_now(graph, item)


def _create_now(graph: Any, item: SchemaItem) -> None:
    if item.kind == "UNIQUE":
        if item.entity == "NODE":
            graph.create_node_unique_constraint(item.label, item.property)
        else:
            graph.create_edge_unique_constraint(item.label, item.property)
    elif item.entity == "NODE":
        graph.create_node_range_index(item.label, item.property)
    else:
        graph.create_edge_range_index(item.label, item.property)


def _drop_constraint(graph: Any, item: SchemaItem) -> None:
    if item.entity == "NODE":
        graph.drop_node_unique_constraint(item.label, item.property)
    else:
        graph.drop_edge_unique_constraint(item.label, item.property)


def describe_schema(graph: Any, registry: Registry) -> SchemaReport:
    """Compare ``graph`` with what ``registry`` declares, changing nothing."""
    declared = declared_schema(registry)
    stored = stored_schema(graph)
    by_item = {i: i for i in stored}
    return SchemaReport(
        declared=declared,
        missing=[i for i in declared if i not in stored],
        undeclared=sorted(i for i in stored if i not in set(declared)),
        different=[
            (i, by_item[i]) for i in declared if i in by_item and by_item[i].detail != i.detail
        ],
    )


def ensure_schema(graph: Any, registry: Registry, *, timeout_s: float = 30.0) -> SchemaReport:
    """Create what ``registry`` declares and ``graph`` lacks; wait until it is operational.

    Idempotent. Never drops what the mapping does not declare: that is
    listed in ``SchemaReport.undeclared``. A declared constraint that FAILED
    earlier (duplicate values were stored) is dropped and built again, so a
    run after the data was fixed succeeds.

    Raises:
        SchemaError: a constraint failed (duplicate values stored?) or is
            still pending after ``timeout_s``.
    """
    report = describe_schema(graph, registry)
    stored = stored_schema(graph)
    retry = [i for i in report.declared if stored.get(i) == "FAILED"]
    for item in retry:
        _drop_constraint(graph, item)
    for item in (*report.missing, *retry):
        if item.kind in ("UNIQUE", "RANGE"):
            _create(graph, item)
    _create_search_indexes(graph, registry, report.missing)
    report.created = sorted((*report.missing, *retry))
    deadline = time.monotonic() + timeout_s
    delay = 0.005
    while True:
        stored = stored_schema(graph)
        waiting = [i for i in report.declared if stored.get(i) != "OPERATIONAL"]
        failed = [str(i) for i in waiting if stored.get(i) == "FAILED"]
        if failed:
            raise SchemaError(
                f"constraints failed (are duplicate values stored?): {failed}; remove the "
                "duplicates and run ensure_schema again"
            )
        if not waiting:
            report.missing = []
            return report
        if time.monotonic() > deadline:
            raise SchemaError(f"still pending after {timeout_s}s: {[str(i) for i in waiting]}")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def ensure_key_constraints(graph: Any, registry: Registry, *, timeout_s: float = 30.0) -> None:
    """``ensure_schema`` under its older, narrower name (keys are part of the schema)."""
    ensure_schema(graph, registry, timeout_s=timeout_s)


def format_report(report: SchemaReport) -> Iterable[str]:
    """Lines describing ``report``, for command-line tools."""
    created = set(report.created)
    for item in report.declared:
        yield f"{'created' if item in created else 'present'}  {item}"
    for item in report.missing:
        yield f"missing  {item}"
    for item in report.undeclared:
        yield f"undeclared  {item} (in the graph, not in the mapping)"
    for declared, stored in report.different:
        yield f"different  {declared}: the graph holds {{{stored.detail}}} (not changed)"
