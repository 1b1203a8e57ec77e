"""Increments of one unversioned counter from several threads of another process."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from infrastructure.persistence import ConcurrencyError, Registry, UnitOfWork, retry_on_conflict
from infrastructure.server import Database


@dataclass
class Counter:
    id: str
    hits: int = 0
    label: str = ""


def counter_registry() -> Registry:
    registry = Registry()
    registry.map(Counter, key="id")  # no version: guarded on the values it changes
    return registry


def increment(graph: object, registry: Registry, times: int) -> int:
    """``times`` units, each adding one to ``hits``; returns the conflicts retried."""
    conflicts = 0

    def once() -> None:
        nonlocal conflicts
        try:
            with UnitOfWork(graph, registry) as uow:  # type: ignore[arg-type]
                uow.repository(Counter).get("c").hits += 1
        except ConcurrencyError:
            conflicts += 1
            raise

    for _ in range(times):
        retry_on_conflict(once, attempts=1000, base_delay_s=0.0005)
    return conflicts


def run(url: str, graph_name: str, threads: int, times: int) -> int:
    """In a spawned process: ``threads`` threads each incrementing ``times`` times."""
    registry = counter_registry()
    with Database(url) as db:
        graph = db.graph(graph_name)
        with ThreadPoolExecutor(threads) as pool:
            return sum(pool.map(lambda _: increment(graph, registry, times), range(threads)))
