"""Threads here and threads in other processes increment one unversioned counter at
once: the dirty guard turns every overlap into a retried conflict, none into a loss."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

from infrastructure.persistence import UnitOfWork, ensure_key_constraints
from tests.integration import counter_worker
from tests.integration.counter_worker import Counter, counter_registry


def test_threads_and_processes_incrementing_an_unversioned_counter_lose_nothing(
    database: Any, graph: Any, graph_name: str
) -> None:
    registry = counter_registry()
    ensure_key_constraints(graph, registry)
    with UnitOfWork(graph, registry) as uow:
        uow.add(Counter("c"))
    threads, times, processes = 3, 10, 2
    spawn = multiprocessing.get_context("spawn")
    with (
        ProcessPoolExecutor(processes, mp_context=spawn) as pool,
        ThreadPoolExecutor(threads) as local,
    ):
        remote = [
            pool.submit(counter_worker.run, database.url, graph_name, threads, times)
            for _ in range(processes)
        ]
        here = [
            local.submit(counter_worker.increment, graph, registry, times) for _ in range(threads)
        ]
        for future in [*remote, *here]:
            future.result(timeout=300)
    with UnitOfWork(graph, registry) as uow:
        assert uow.repository(Counter).get("c").hits == (processes + 1) * threads * times
