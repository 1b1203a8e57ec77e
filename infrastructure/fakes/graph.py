"""The in-memory graph behind ``FakeStore``: property nodes and typed edges.

Nodes are identified by (label, encoded key) and hold their stored
properties as FalkorDB does: a property set to None is absent, the version
is a property like any other. Edges are unique per (type, start, end) and
hold their properties the same way. Every write can be undone (``journal``),
so a commit that fails its checks leaves nothing behind.

Custom-query twins (``FakeUnitOfWork.queries``) read this graph and return
rows shaped as the client returns them: ``FakeNode`` and ``FakePath`` stand
for its nodes and paths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Ref = tuple[str, Any]
"""A node: (label, encoded key)."""

Props = dict[str, Any]
Direction = Literal["out", "in", "both"]


def copied(value: Any) -> Any:
    # Stored values are scalars or lists of scalars; lists are the only mutable part
    # (a vector stays a vector).
    return type(value)(value) if isinstance(value, list) else value


def stored(props: Mapping[str, Any]) -> Props:
    """``props`` as a graph stores them: None means absent, lists are copied."""
    return {k: copied(v) for k, v in props.items() if v is not None}


@dataclass(frozen=True)
class FakeNode:
    """A node as a custom query returns it (``labels`` and ``properties``, like the client's)."""

    labels: list[str]
    properties: Props


@dataclass(frozen=True)
class FakePath:
    """A path as a custom query returns it: its nodes, in order."""

    path_nodes: list[FakeNode] = field(default_factory=list)

    def nodes(self) -> list[FakeNode]:
        return list(self.path_nodes)


class MemoryGraph:
    """Nodes and edges; not thread-safe (``FakeStore`` holds the lock)."""

    def __init__(self) -> None:
        self.nodes: dict[str, dict[Any, Props]] = {}
        # The labels a node carries besides its ref's (the subclasses of a hierarchy, whose
        # nodes are all keyed under the root's label): it is listed in their tables too.
        self.kinds: dict[Ref, tuple[str, ...]] = {}
        self._roots: dict[str, str] = {}  # such a label -> the label its nodes are keyed under
        self._edges: dict[str, dict[tuple[Ref, Ref], Props]] = {}
        # type -> node -> neighbour -> None (ordered sets), both ways round
        self._out: dict[str, dict[Ref, dict[Ref, None]]] = {}
        self._in: dict[str, dict[Ref, dict[Ref, None]]] = {}
        self.journal: list[Callable[[], None]] | None = None

    # -- nodes --------------------------------------------------------------------

    def node(self, ref: Ref) -> Props | None:
        """The stored properties of ``ref`` (not a copy: do not modify), or None."""
        return self.nodes.get(ref[0], {}).get(ref[1])

    def table(self, label: str) -> dict[Any, Props]:
        return self.nodes.get(label, {})

    def labels_of(self, ref: Ref) -> list[str]:
        """The labels the node carries (its ref's first)."""
        return [ref[0], *self.kinds.get(ref, ())]

    def has_label(self, ref: Ref, label: str) -> bool:
        return ref[0] == label or label in self.kinds.get(ref, ())

    def set_node(self, ref: Ref, props: Props | None, labels: tuple[str, ...] = ()) -> None:
        """Store ``props`` as the node's properties; None deletes it and its edges.

        ``labels``: the labels a node created now carries besides ``ref[0]``.
        """
        label, key = ref
        table = self.nodes.setdefault(label, {})
        before = table.get(key)
        kinds = self.kinds.get(ref, ())
        if props is None:
            if before is None:
                return
            for edge_type in list(self._edges):
                for other in list(self._out.get(edge_type, {}).get(ref, {})):
                    self.set_edge(edge_type, ref, other, None)
                for other in list(self._in.get(edge_type, {}).get(ref, {})):
                    self.set_edge(edge_type, other, ref, None)
            del table[key]
            self._list(ref, None, ())
        else:
            table[key] = props
            self._list(ref, props, kinds if before is not None else labels)
        self._remember(lambda: self._restore_node(ref, before, kinds))

    def _list(self, ref: Ref, props: Props | None, kinds: tuple[str, ...]) -> None:
        """List the node under its other labels (None: under none)."""
        for other in self.kinds.pop(ref, ()):
            self.nodes.get(other, {}).pop(ref[1], None)
        if props is not None and kinds:
            self.kinds[ref] = kinds
            for other in kinds:
                self.nodes.setdefault(other, {})[ref[1]] = props
                self._roots[other] = ref[0]

    def canonical(self, ref: Ref) -> Ref:
        """``ref`` keyed under the label its node is keyed by (a hierarchy's root label)."""
        return (self._roots.get(ref[0], ref[0]), ref[1])

    def _restore_node(self, ref: Ref, props: Props | None, kinds: tuple[str, ...]) -> None:
        table = self.nodes.setdefault(ref[0], {})
        if props is None:
            table.pop(ref[1], None)
        else:
            table[ref[1]] = props
        self._list(ref, props, kinds)

    def fake_node(self, ref: Ref, version: str | None) -> FakeNode:
        """The node as the client would return it (a copy)."""
        props = stored(self.nodes[ref[0]][ref[1]])
        if version is not None:
            props.setdefault(version, 0)
        return FakeNode(self.labels_of(ref), props)

    # -- edges --------------------------------------------------------------------

    def edge(self, edge_type: str, start: Ref, end: Ref) -> Props | None:
        return self._edges.get(edge_type, {}).get((start, end))

    def set_edge(self, edge_type: str, start: Ref, end: Ref, props: Props | None) -> None:
        """Create or replace the edge's properties; None deletes the edge."""
        edges = self._edges.setdefault(edge_type, {})
        before = edges.get((start, end))
        if props is None:
            if before is None:
                return
            del edges[start, end]
            del self._out[edge_type][start][end]
            del self._in[edge_type][end][start]
        else:
            edges[start, end] = props
            self._out.setdefault(edge_type, {}).setdefault(start, {})[end] = None
            self._in.setdefault(edge_type, {}).setdefault(end, {})[start] = None
        self._remember(lambda: self.set_edge(edge_type, start, end, before))

    def edges_of(
        self, ref: Ref, edge_type: str, direction: Direction, label: str | None = None
    ) -> Iterator[tuple[Ref, tuple[Ref, Ref]]]:
        """(neighbour, edge) for each edge of ``edge_type`` at ``ref``, as a pattern matches.

        ``direction`` is seen from ``ref``: "out" follows edges it starts,
        "in" edges it ends, "both" either (a self-loop once, as FalkorDB matches
        it); ``label`` keeps neighbours of that label.
        """
        if direction in ("out", "both"):
            for other in self._out.get(edge_type, {}).get(ref, {}):
                if label is None or self.has_label(other, label):
                    yield other, (ref, other)
        if direction in ("in", "both"):
            for other in self._in.get(edge_type, {}).get(ref, {}):
                if direction == "both" and other == ref:
                    continue  # a self-loop: an undirected pattern matches it once
                if label is None or self.has_label(other, label):
                    yield other, (other, ref)

    def neighbours(
        self, ref: Ref, edge_type: str, direction: Direction = "out", label: str | None = None
    ) -> list[Ref]:
        """The nodes linked to ``ref`` by ``edge_type`` edges (each once, in edge order)."""
        return list(
            dict.fromkeys(other for other, _ in self.edges_of(ref, edge_type, direction, label))
        )

    # -- undo ---------------------------------------------------------------------

    def _remember(self, undo: Callable[[], None]) -> None:
        if self.journal is not None:
            self.journal.append(undo)

    def undo(self) -> None:
        """Undo every write since ``journal`` was set to an empty list (and stop journaling)."""
        journal, self.journal = self.journal or [], None
        for step in reversed(journal):
            step()

    def clear(self) -> None:
        self.nodes.clear()
        self.kinds.clear()
        self._roots.clear()
        self._edges.clear()
        self._out.clear()
        self._in.clear()
