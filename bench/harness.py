"""Timing, fresh graphs, targets and the results table."""

from __future__ import annotations

import gc
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from infrastructure.persistence import Registry, ensure_key_constraints
from infrastructure.server import Database
from infrastructure.server.cypher import AsyncFastGraph

Setup = Callable[[Any], Any]  # sync graph -> context handed to the timed run
Run = Callable[[Any, Any], Any]  # (graph, context) -> anything
AsyncRun = Callable[[Any, Any], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Target:
    """A goal for one figure: ``ratio`` (ms / raw_ms), ``us`` (per op), ``round_trips``, ``bytes``."""

    kind: str
    limit: float
    inclusive: bool = True

    @property
    def text(self) -> str:
        op = "<=" if self.inclusive else "<"
        unit = {"ratio": "x raw", "us": " us", "round_trips": " round trips", "bytes": " B"}[
            self.kind
        ]
        return f"{op} {self.limit:g}{unit}"

    def met(self, value: float) -> bool:
        return value <= self.limit if self.inclusive else value < self.limit


@dataclass(slots=True)
class Result:
    name: str
    n: int
    ms: float
    raw_ms: float | None
    reps: int
    raw_side: str
    target: Target | None = None
    measured: float | None = None  # the value compared with the target
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return None if self.raw_ms in (None, 0) else self.ms / self.raw_ms

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        value = self.ratio if self.target.kind == "ratio" else self.measured
        return None if value is None else self.target.met(value)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "n": self.n,
            "ms": round(self.ms, 6),
            "raw_ms": None if self.raw_ms is None else round(self.raw_ms, 6),
            "ratio": None if self.ratio is None else round(self.ratio, 3),
            "reps": self.reps,
            "raw_side": self.raw_side,
            "target": self.target.text if self.target else None,
            "met": self.met,
            **self.extra,
        }


class Bench:
    """One embedded server, a registry, and fresh graphs on demand."""

    def __init__(self, db: Database, registry: Registry, reps: int) -> None:
        self.db = db
        self.registry = registry
        self.reps = reps
        self._serial = 0

    def fresh_graph(self, tag: str) -> tuple[str, Any]:
        """A new, empty graph with the registry's key constraints (the raw side gets them too)."""
        self._serial += 1
        name = f"bench_{tag}_{self._serial}_{uuid.uuid4().hex[:6]}"
        graph = self.db.graph(name)
        ensure_key_constraints(graph, self.registry)
        return name, graph

    def _sides(self, rep: int, sides: dict[str, Any]) -> list[tuple[str, Any]]:
        # Interleave: which side goes first rotates between repetitions.
        order = list(sides.items())
        shift = rep % len(order)
        return order[shift:] + order[:shift]

    def best_of(
        self, tag: str, setup: Setup, ours: Run, raw: Run, more: dict[str, Run] | None = None
    ) -> dict[str, float]:
        """Best wall time in ms of each side (``more``: extra sides); each on a fresh graph."""
        sides = {"ours": ours, "raw": raw, **(more or {})}
        best = dict.fromkeys(sides, float("inf"))
        for rep in range(self.reps):
            for side, run in self._sides(rep, sides):
                _, graph = self.fresh_graph(f"{tag}_{side}")
                try:
                    context = setup(graph)
                    handle = graph if side == "ours" else stock(graph)
                    gc.collect()
                    start = time.perf_counter()
                    run(handle, context)
                    best[side] = min(best[side], (time.perf_counter() - start) * 1000)
                finally:
                    graph.delete()
        return best

    async def best_of_async(
        self, client: Any, tag: str, setup: Setup, ours: AsyncRun, raw: AsyncRun
    ) -> dict[str, float]:
        """``best_of`` for async runs: set up through the sync client, run on ``client``."""
        sides = {"ours": ours, "raw": raw}
        best = dict.fromkeys(sides, float("inf"))
        for rep in range(self.reps):
            for side, run in self._sides(rep, sides):
                name, graph = self.fresh_graph(f"{tag}_{side}")
                try:
                    context = setup(graph)
                    agraph = client.select_graph(name)
                    if side == "ours":  # the layer's own handle, as Database.async_graph gives
                        agraph = AsyncFastGraph(agraph)
                    gc.collect()
                    start = time.perf_counter()
                    await run(agraph, context)
                    best[side] = min(best[side], (time.perf_counter() - start) * 1000)
                finally:
                    graph.delete()
        return best


def stock(graph: Any) -> Any:
    """The plain falkordb handle inside ``Database.graph``'s, for the raw side."""
    return getattr(graph, "inner", graph)


class CountingGraph:
    """A graph handle that counts the queries sent through it (round trips)."""

    def __init__(self, graph: Any) -> None:
        self._graph = graph
        self.queries = 0

    def query(
        self, q: str, params: dict[str, Any] | None = None, timeout: int | None = None
    ) -> Any:
        self.queries += 1
        return self._graph.query(q, params, timeout=timeout)

    def ro_query(
        self, q: str, params: dict[str, Any] | None = None, timeout: int | None = None
    ) -> Any:
        self.queries += 1
        return self._graph.ro_query(q, params, timeout=timeout)


def _fmt_ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _row_cells(r: Result) -> list[str]:
    if "ours_cell" in r.extra:
        ours, raw = r.extra["ours_cell"], r.extra.get("raw_cell", "-")
    elif "us_per_op" in r.extra:
        ours = f"{r.extra['us_per_op']:.3f} us"
        raw = f"{r.extra['raw_us_per_op']:.3f} us" if "raw_us_per_op" in r.extra else "-"
    else:
        ours, raw = _fmt_ms(r.ms), _fmt_ms(r.raw_ms)
    ratio = "-" if r.ratio is None else f"{r.ratio:.2f}x"
    met = {None: "", True: "met", False: "MISSED"}[r.met]
    target = r.target.text if r.target else ""
    return [r.name, str(r.n), ours, raw, ratio, target, met, r.extra.get("note", "")]


def render(results: list[Result]) -> str:
    """A plain-text table of ``results``."""
    head = ["workload", "n", "ours ms", "raw ms", "ratio", "target", "", "note"]
    rows = [head, *(_row_cells(r) for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    right = {1, 2, 3, 4}

    def line(row: list[str]) -> str:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    rule = "-" * len(line(head))
    return "\n".join([line(head), rule, *(line(r) for r in rows[1:])])
