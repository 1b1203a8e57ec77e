"""An in-memory graph for the fake units of work: what they read and commit to.

A ``FakeStore`` holds nodes (each entity's encoded properties, exactly what
FalkorDB would store, and its version) and edges (per relationship type, with
their encoded properties). Units read copies and build their own objects, so
two units on one store are isolated exactly as two units on one graph are.

Reads are answered from each ``Read``'s intent (``persistence.reads``), never
from its Cypher text: keys, criteria evaluated with the layer's own Python
rules for Cypher (three-valued logic, Cypher's ordering), relationship
targets in the column layout of ``reads.related_items``, vector and
full-text searches as ``fakes.search`` documents. A custom query
is answered by the in-memory twin registered for its text, if any.
Commits are applied by ``commit.apply``, all or nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from infrastructure.persistence import reads
from infrastructure.persistence.bulk import BulkOp
from infrastructure.persistence.changes import ChangeSet
from infrastructure.persistence.criteria import sort_key
from infrastructure.persistence.mapping import EntityMapping, Registry, RelationshipMapping

from . import commit
from .graph import Direction, FakeNode, MemoryGraph, Props, Ref, copied, stored
from .search import nearest_rows, text_search_rows

Rows = list[list[Any]]


class FakeQueryError(NotImplementedError):
    """Cypher was sent to an in-memory fake that has no twin answering it."""


class GraphReader:
    """What an in-memory twin of a custom query reads: nodes and edges of the store."""

    def __init__(self, graph: MemoryGraph, registry: Registry) -> None:
        self._graph = graph
        self._registry = registry

    def exists(self, ref: Ref) -> bool:
        """Whether the node (label, encoded key) is stored."""
        return self._graph.node(ref) is not None

    def node(self, ref: Ref) -> FakeNode:
        """The stored node as the client returns it (its version included)."""
        mapping = self._registry.mapping_for_label(ref[0])
        node = self._graph.fake_node(ref, mapping.version_property if mapping else None)
        if mapping is not None:
            node.labels.extend(mapping.extra_labels)
        return node

    def neighbours(
        self, ref: Ref, edge_type: str, direction: Direction = "out", label: str | None = None
    ) -> list[Ref]:
        """Nodes linked to ``ref`` by ``edge_type`` edges (``label``: only those)."""
        return self._graph.neighbours(ref, edge_type, direction, label)


MemoryQuery = Callable[[GraphReader, dict[str, Any]], Rows]
"""The in-memory twin of a custom Cypher query: (store, encoded parameters) -> client rows."""


def _row(mapping: EntityMapping[Any], props: Props) -> list[Any]:
    version = props.get(mapping.version_property, 0) if mapping.version_property else 0
    return [*(copied(props.get(p)) for p in mapping.properties), version]


class FakeStore:
    """Committed nodes and edges of one in-memory graph, shared by the fake units opened on it.

    Thread-safe: a commit is checked and applied under one lock, so units on
    several threads see each other's commits whole or not at all.
    """

    def __init__(self) -> None:
        self._graph = MemoryGraph()
        self._lock = threading.Lock()
        self.commits = 0
        """How many flushes wrote something (a failed commit does not count)."""

    # -- reads ------------------------------------------------------------------

    def answer(
        self,
        read: reads.Read,
        registry: Registry,
        queries: Mapping[str, MemoryQuery] | None = None,
    ) -> Rows:
        """The rows FalkorDB would return for ``read``.

        Raises:
            FakeQueryError: ``read`` is custom Cypher with no twin in
                ``queries``, or a read built without an intent.
        """
        intent = read.intent
        with self._lock:
            if isinstance(intent, reads.Custom):
                query = (queries or {}).get(intent.cypher)
                if query is None:
                    raise FakeQueryError(
                        f"the in-memory fake cannot run this Cypher ({intent.cypher[:60]!r}...); "
                        "register an in-memory twin for it in the fake unit's `queries`"
                    )
                return query(GraphReader(self._graph, registry), dict(intent.params))
            if intent is None:
                raise FakeQueryError(
                    f"the in-memory fake answers reads by their intent; {read.query[:60]!r} has "
                    "none (build reads with persistence.reads)"
                )
            return self._answer(intent)

    def _answer(self, intent: reads.Intent) -> Rows:
        graph = self._graph
        match intent:
            case reads.ByKeys(mapping, keys, load):
                table = graph.table(mapping.label)
                found = [(k, table[k]) for k in keys if k in table]
                return [self._loaded(mapping, k, props, load) for k, props in found]
            case reads.Find(mapping, where, order, limit, offset, load):
                matched = [
                    (k, props)
                    for k, props in graph.table(mapping.label).items()
                    if where.evaluate(mapping, props) is True
                ]
                if order:
                    by = sort_key(order)
                    matched.sort(key=lambda item: by(item[1]))
                start = offset or 0
                end = None if limit is None else start + limit
                return [self._loaded(mapping, k, props, load) for k, props in matched[start:end]]
            case reads.Count(mapping, where, keys):
                table = graph.table(mapping.label)
                total = sum(where.evaluate(mapping, p) is True for p in table.values())
                if not keys:
                    return [[total]]
                held = (table.get(k) for k in dict.fromkeys(keys))
                return [
                    [total, sum(p is not None and where.evaluate(mapping, p) is True for p in held)]
                ]
            case reads.KeyExists(mapping, key):
                return [[key in graph.table(mapping.label)]]
            case reads.Related(rel, keys):
                table = graph.table(rel.source.label)
                return [[k, self._targets(rel, (rel.source.label, k))] for k in keys if k in table]
            case reads.Versions(mapping, keys, olds) if olds is not None:
                table = graph.table(mapping.label)
                return [
                    [k, k in table and commit.holds(table[k], o), 0]
                    for k, o in zip(keys, olds, strict=True)
                ]
            case reads.Versions(mapping, keys):
                table = graph.table(mapping.label)
                return [
                    [k, k in table, _row(mapping, table[k])[-1] if k in table else 0] for k in keys
                ]
            case reads.ExistingKeys(mapping, keys):
                table = graph.table(mapping.label)
                return [[k] for k in keys if k in table]
            case reads.Nearest(mapping, field, vector, k, where):
                return nearest_rows(mapping, graph.table(mapping.label), field, vector, k, where)
            case reads.TextSearch(mapping, terms, fields, prefix, k):
                table = graph.table(mapping.label)
                return text_search_rows(mapping, table, terms, fields, prefix, k)
            case reads.Attached(rel, source, removed, limit):
                found = graph.neighbours(
                    (rel.source.label, source), rel.type, rel.direction, rel.target.label
                )
                return [[key] for _, key in found if key not in removed][:limit]
        raise FakeQueryError(f"the in-memory fake cannot answer {type(intent).__name__}")

    def _loaded(
        self,
        mapping: EntityMapping[Any],
        key: Any,
        props: Props,
        load: Sequence[RelationshipMapping],
    ) -> list[Any]:
        row = _row(mapping, props)
        row.extend(self._targets(rel, (mapping.label, key)) for rel in load)
        return row

    def _targets(self, rel: RelationshipMapping, holder: Ref) -> Rows:
        """``reads.related_items``'s items: target properties and version, edge properties."""
        graph, target = self._graph, rel.target
        items = []
        for other, (start, end) in graph.edges_of(holder, rel.type, rel.direction, target.label):
            node = graph.node(other)
            edge = graph.edge(rel.type, start, end)
            assert node is not None
            assert edge is not None
            items.append(_row(target, node) + [copied(edge.get(p)) for p in rel.edge_properties])
        return items

    # -- writes -----------------------------------------------------------------

    def apply(self, changes: ChangeSet, bulk: Sequence[BulkOp] = ()) -> dict[str, Any]:
        """Write ``changes`` and ``bulk`` atomically, or nothing; what ``bulk`` returned.

        Raises:
            CommitFailure: a check failed, nothing was written (see ``commit.apply``).
        """
        with self._lock:
            outcomes = commit.apply(self._graph, changes, bulk)
            self.commits += 1
            return outcomes

    def put(self, label: str, key: Any, properties: Mapping[str, Any]) -> None:
        """Store a node as another client would write it, bypassing every mapping.

        ``properties`` hold values as FalkorDB returns them: text, numbers, lists,
        ``date``/``time``/``datetime``/``timedelta`` for native temporal values,
        ``readers.StoredVector`` for ``vecf32`` ones; None leaves a property unset.
        """
        with self._lock:
            self._graph.set_node((label, key), stored(properties))

    def put_edge(
        self, edge_type: str, start: Ref, end: Ref, properties: Mapping[str, Any] | None = None
    ) -> None:
        """Store an edge between two stored nodes as another client would write it.

        Raises:
            KeyError: ``start`` or ``end`` (label, encoded key) is not stored.
        """
        with self._lock:
            for ref in (start, end):
                if self._graph.node(ref) is None:
                    raise KeyError(f"no stored node {ref!r}")
            self._graph.set_edge(edge_type, start, end, stored(properties or {}))

    def clear(self) -> None:
        """Forget every stored node and edge."""
        with self._lock:
            self._graph.clear()
