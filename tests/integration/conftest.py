"""One test body for both units of work, against the real embedded FalkorDB.

A test asks for ``harness`` and is written once, as ``async def``; it runs
twice, once with the sync ``UnitOfWork`` and once with ``AsyncUnitOfWork``.
The sync unit is seen through ``AwaitableUnit``, whose methods are coroutines
that call the sync unit directly (no thread, no event-loop trick), so both
variants offer exactly the async API: awaited reads, flush, commit, rollback
and close; plain ``add``/``delete``/``remove``.

Every query a unit sends goes through a recording proxy (``QueryLog``), so a
test can count round trips and read what the server reported
(``properties_set``) for a write. ``harness.graph`` is a separate sync handle
on the same graph for looking at what is stored, outside any unit.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import pytest

from infrastructure.bank import AsyncBankUnitOfWork, BankUnitOfWork
from infrastructure.persistence import (
    AsyncUnitOfWork,
    Registry,
    Repository,
    UnitOfWork,
    ensure_key_constraints,
    retry_on_conflict,
    retry_on_conflict_async,
)
from infrastructure.persistence.declared import declared_repositories
from infrastructure.server.cypher import AsyncFastGraph
from tests.integration.graph_support import GraphRepository as AwaitableRepository
from tests.integration.graph_support import GraphUnit

R = TypeVar("R")
Variant = Literal["sync", "async"]


# -- recording what units send ----------------------------------------------------------


@dataclass
class Sent:
    """One query a unit sent: ``write`` (``query``) or ``read`` (``ro_query``)."""

    kind: Literal["write", "read"]
    query: str
    params: dict[str, Any]
    result: Any = None  # the client's QueryResult, when the query succeeded
    error: BaseException | None = None


@dataclass
class QueryLog:
    sent: list[Sent] = field(default_factory=list)

    @property
    def writes(self) -> list[Sent]:
        return [s for s in self.sent if s.kind == "write"]

    @property
    def reads(self) -> list[Sent]:
        return [s for s in self.sent if s.kind == "read"]

    def clear(self) -> None:
        self.sent.clear()


class RecordingGraph:
    """A sync graph handle that logs every ``query``/``ro_query`` and forwards it."""

    def __init__(self, graph: Any, log: QueryLog) -> None:
        self._graph = graph
        self._log = log

    def _send(
        self, kind: Literal["write", "read"], call: Any, q: str, params: Any, **kw: Any
    ) -> Any:
        sent = Sent(kind, q, dict(params or {}))
        self._log.sent.append(sent)
        try:
            sent.result = call(q, params, **kw)
        except BaseException as exc:
            sent.error = exc
            raise
        return sent.result

    def query(self, q: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self._send("write", self._graph.query, q, params, **kw)

    def ro_query(self, q: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self._send("read", self._graph.ro_query, q, params, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._graph, name)


class AsyncRecordingGraph:
    """The async twin of ``RecordingGraph``."""

    def __init__(self, graph: Any, log: QueryLog) -> None:
        self._graph = graph
        self._log = log

    async def _send(
        self, kind: Literal["write", "read"], call: Any, q: str, params: Any, **kw: Any
    ) -> Any:
        sent = Sent(kind, q, dict(params or {}))
        self._log.sent.append(sent)
        try:
            sent.result = await call(q, params, **kw)
        except BaseException as exc:
            sent.error = exc
            raise
        return sent.result

    async def query(self, q: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        return await self._send("write", self._graph.query, q, params, **kw)

    async def ro_query(self, q: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        return await self._send("read", self._graph.ro_query, q, params, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._graph, name)


# -- the sync unit behind the async API ----------------------------------------------------


class AwaitableUnit(GraphUnit):
    """``GraphUnit`` with the unit's declared repositories as attributes (``uow.people``)."""

    def __init__(self, unit: UnitOfWork) -> None:
        super().__init__(unit)
        for name in declared_repositories(type(unit), Repository):
            setattr(self, name, AwaitableRepository(getattr(unit, name)))


# -- the harness ----------------------------------------------------------------------------


class Barrier:
    """Lets ``parties`` concurrent units wait for each other (threads or tasks)."""

    def __init__(self, variant: Variant, parties: int) -> None:
        self._threads = threading.Barrier(parties) if variant == "sync" else None
        self._tasks = asyncio.Barrier(parties) if variant == "async" else None

    async def wait(self) -> None:
        # The timeouts only turn a broken test into a failure instead of a hang.
        if self._threads is not None:
            self._threads.wait(timeout=60)
        else:
            assert self._tasks is not None
            await asyncio.wait_for(self._tasks.wait(), timeout=60)


@dataclass
class Harness:
    """Units of one variant on this test's graph, plus ways to look at what is stored."""

    variant: Variant
    graph: Any  # a sync handle on the same graph, for inspection outside any unit
    registry: Registry
    log: QueryLog
    _sync_graph: RecordingGraph
    _async_graph: AsyncRecordingGraph

    def unit(self, registry: Registry | None = None, **options: Any) -> Any:
        """A new unit: the bank's when no registry is given, else a plain one.

        Both variants return an object with the ``AsyncUnitOfWork`` API.
        """
        if registry is None:
            if self.variant == "sync":
                return AwaitableUnit(BankUnitOfWork(self._sync_graph, self.registry, **options))
            return AsyncBankUnitOfWork(self._async_graph, self.registry, **options)
        if self.variant == "sync":
            return AwaitableUnit(UnitOfWork(self._sync_graph, registry, **options))
        return AsyncUnitOfWork(self._async_graph, registry, **options)

    def prepare(self, registry: Registry) -> Registry:
        """Create the key constraints of another registry on this graph."""
        ensure_key_constraints(self.graph, registry)
        return registry

    # -- looking at what is stored --------------------------------------------------

    def nodes(self) -> list[tuple[tuple[str, ...], tuple[tuple[str, Any], ...]]]:
        """Every node as (labels, sorted properties), sorted: a full picture of the graph."""
        rows = self.graph.ro_query("MATCH (n) RETURN labels(n), properties(n)").result_set
        return sorted(
            (tuple(labels), tuple(sorted(props.items(), key=lambda kv: kv[0])))
            for labels, props in rows
        )

    def edges(self) -> list[tuple[str, Any, Any]]:
        """Every edge as (type, source id, target id), sorted."""
        rows = self.graph.ro_query("MATCH (a)-[r]->(b) RETURN type(r), a.id, b.id").result_set
        return sorted((t, a, b) for t, a, b in rows)

    def count(self, label: str | None = None) -> int:
        pattern = f"(n:{label})" if label else "(n)"
        return int(self.graph.ro_query(f"MATCH {pattern} RETURN count(n)").result_set[0][0])

    def stored(self, label: str, key: Any) -> dict[str, Any] | None:
        """The stored properties of one node (keys as stored, i.e. UUIDs as text)."""
        rows = self.graph.ro_query(
            f"MATCH (n:{label} {{id: $k}}) RETURN properties(n)", {"k": key}
        ).result_set
        return dict(rows[0][0]) if rows else None

    # -- running units at the same time ---------------------------------------------

    def barrier(self, parties: int) -> Barrier:
        return Barrier(self.variant, parties)

    async def run_concurrently(
        self, work: Callable[[int], Awaitable[R]], parties: int, *, attempts: int
    ) -> list[R]:
        """Run ``work(0..parties-1)`` at the same time, each rerun on ``ConcurrencyError``.

        async: tasks under ``asyncio.gather`` with ``retry_on_conflict_async``.
        sync: one thread per party with ``retry_on_conflict``; the work's
        coroutine only calls the sync unit, so ``asyncio.run`` in the thread
        just steps through it.
        """
        if self.variant == "async":
            runs = (
                retry_on_conflict_async(lambda i=i: work(i), attempts=attempts)
                for i in range(parties)
            )
            return list(await asyncio.gather(*runs))
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=parties) as pool:
            futures = [
                loop.run_in_executor(
                    pool,
                    lambda i=i: retry_on_conflict(lambda: asyncio.run(work(i)), attempts=attempts),
                )
                for i in range(parties)
            ]
            return list(await asyncio.gather(*futures))


@pytest.fixture(params=["sync", "async"])
def variant(request: pytest.FixtureRequest) -> Variant:
    value: Variant = request.param
    return value


@pytest.fixture
def harness(
    variant: Variant, bank_graph: Any, async_client: Any, graph_name: str, registry: Registry
) -> Harness:
    log = QueryLog()
    return Harness(
        variant=variant,
        graph=bank_graph,
        registry=registry,
        log=log,
        _sync_graph=RecordingGraph(bank_graph, log),
        # As ``Database.async_graph`` hands them out: parameters and plain reads the fast way.
        _async_graph=AsyncRecordingGraph(
            AsyncFastGraph(async_client.select_graph(graph_name)), log
        ),
    )
