"""The outbox: domain events stored as nodes in the same commit as the state.

An ``OutboxRecord`` is a plain mapped entity. ``OutboxHook`` adds one per
domain event to the unit being flushed, so the records are written by the
unit's single atomic query or not at all. The relay later reads the
undelivered ones (``GraphOutboxSource``) and marks them delivered.

Each record names its aggregate (entity class name and encoded key) and a
per-aggregate ``sequence``; see ``OutboxHook`` for how it is numbered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from redis import exceptions as redis_errors

from infrastructure.persistence import EntityMapping, Registry
from infrastructure.persistence.aio import AsyncGraph
from infrastructure.persistence.reads import Read, projection
from infrastructure.persistence.steps import Steps, run_steps, run_steps_async, twin_of
from infrastructure.persistence.unit_of_work import SyncGraph

OUTBOX_LABEL = "OutboxRecord"


@dataclass
class OutboxRecord:
    """One domain event waiting to be published (or published, once delivered)."""

    id: UUID
    aggregate_type: str
    aggregate_id: str
    sequence: int
    event_type: str
    payload: str  # JSON text, see ``EventRegistry``
    created_at: datetime
    delivered: bool = False
    delivered_at: datetime | None = None


def register_outbox(
    registry: Registry, *, label: str = OUTBOX_LABEL
) -> EntityMapping[OutboxRecord]:
    """Map ``OutboxRecord`` in an application's registry (key ``id``, not versioned).

    The mapping declares the range indexes the relay reads by (``delivered``,
    ``aggregate_id``), so ``ensure_schema`` creates them with the unique key.

    Raises:
        MappingError: ``OutboxRecord`` or ``label`` is already mapped.
    """
    return registry.map(OutboxRecord, key="id", label=label, indexes=OUTBOX_INDEXES)


OUTBOX_INDEXES = ("delivered", "aggregate_id")


def ensure_outbox_indexes(graph: SyncGraph, mapping: EntityMapping[OutboxRecord]) -> None:
    """Create the outbox's declared range indexes on ``graph`` alone. Idempotent.

    ``ensure_schema`` does this along with everything else a registry declares.
    """
    for prop in mapping.indexes:
        try:
            graph.query(f"CREATE INDEX FOR (r:{mapping.label}) ON (r.{prop})")
        except redis_errors.ResponseError as exc:
            if "already indexed" not in str(exc):
                raise


class OutboxQueries:
    """The relay's reads and writes on the outbox nodes, free of I/O."""

    def __init__(self, mapping: EntityMapping[OutboxRecord]) -> None:
        self.mapping = mapping
        self._at = mapping.codec_of("delivered_at").encode
        self._id = mapping.codec_of("id").encode
        label = mapping.label
        # The oldest aggregates first; each aggregate's records in sequence
        # order, grouped, so a LIMIT cuts at most one aggregate's run and
        # what it keeps is that aggregate's earliest pending records.
        self._pending = (
            f"MATCH (r:{label}) WHERE r.delivered = false "
            "WITH r.aggregate_type AS t, r.aggregate_id AS a, min(r.created_at) AS first "
            "ORDER BY first, t, a LIMIT $limit "
            f"MATCH (r:{label} {{aggregate_type: t, aggregate_id: a}}) WHERE r.delivered = false "
            f"RETURN {projection(mapping, 'r')} ORDER BY first, t, a, r.sequence LIMIT $limit"
        )
        self._mark = (
            f"UNWIND $ids AS id MATCH (r:{label} {{id: id}}) WHERE r.delivered = false "
            "SET r.delivered = true, r.delivered_at = $at RETURN count(r)"
        )
        self._prune = (
            f"MATCH (r:{label}) WHERE r.delivered = true AND r.delivered_at < $before "
            "WITH r LIMIT $limit DELETE r RETURN count(*)"
        )

    def pending(self, limit: int) -> Read:
        if type(limit) is not int or limit < 1:
            raise ValueError(f"limit must be a positive int, got {limit!r}")
        return Read(self._pending, {"limit": limit})

    def records(self, rows: Sequence[Sequence[Any]]) -> list[OutboxRecord]:
        return [self.mapping.decode(row[:-1]) for row in rows]

    def mark(self, ids: Sequence[UUID], at: datetime) -> Read:
        return Read(self._mark, {"ids": [self._id(i) for i in ids], "at": self._at(at)})

    def prune(self, before: datetime, limit: int) -> Read:
        return Read(self._prune, {"before": self._at(before), "limit": limit})


G = TypeVar("G")


class _OutboxSourceBase(Generic[G]):
    """The bodies of the outbox sources (see ``persistence.steps``); subclasses drive them.

    Args:
        graph: a graph handle (``Database.graph(name)``, or its async twin).
        mapping: what ``register_outbox`` returned, or
            ``registry.mapping_for(OutboxRecord)``.
    """

    def __init__(self, graph: G, mapping: EntityMapping[OutboxRecord]) -> None:
        self.graph = graph
        self.queries = OutboxQueries(mapping)

    def _pending(self, limit: int) -> Steps[list[OutboxRecord]]:
        read = self.queries.pending(limit)
        graph: Any = self.graph
        result = yield graph.ro_query(read.query, read.params)
        return self.queries.records(result.result_set)

    def _count(self, read: Read) -> Steps[int]:
        graph: Any = self.graph
        result = yield graph.query(read.query, read.params)
        counted: int = result.result_set[0][0]
        return counted

    def _marking(self, ids: Sequence[UUID], at: datetime) -> Steps[int]:
        if not ids:
            return 0
        return (yield from self._count(self.queries.mark(ids, at)))

    def _pruning(self, before: datetime, limit: int) -> Steps[int]:
        return (yield from self._count(self.queries.prune(before, limit)))


class GraphOutboxSource(_OutboxSourceBase[SyncGraph]):
    """The outbox records stored in one FalkorDB graph (sync); see ``_OutboxSourceBase``."""

    def pending(self, limit: int) -> list[OutboxRecord]:
        """Up to ``limit`` undelivered records: whole aggregates, each in sequence order."""
        return run_steps(self._pending(limit))

    def mark_delivered(self, ids: Sequence[UUID], at: datetime) -> int:
        """Mark records delivered at ``at``; returns how many were still undelivered."""
        return run_steps(self._marking(ids, at))

    def prune_delivered(self, before: datetime, *, limit: int = 10_000) -> int:
        """Delete up to ``limit`` records delivered before ``before``; returns how many."""
        return run_steps(self._pruning(before, limit))


@twin_of(GraphOutboxSource)
class AsyncGraphOutboxSource(_OutboxSourceBase[AsyncGraph]):
    """``GraphOutboxSource`` on an async graph handle."""

    async def pending(self, limit: int) -> list[OutboxRecord]:
        return await run_steps_async(self._pending(limit))

    async def mark_delivered(self, ids: Sequence[UUID], at: datetime) -> int:
        return await run_steps_async(self._marking(ids, at))

    async def prune_delivered(self, before: datetime, *, limit: int = 10_000) -> int:
        return await run_steps_async(self._pruning(before, limit))
