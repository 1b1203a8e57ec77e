"""Threads and processes transfer between shared versioned accounts at once.

Each worker reruns a unit that lost the optimistic-concurrency race from
fresh reads. Afterwards nothing is lost: every acknowledged transfer is
stored, each account's balance and version follow exactly from the stored
transfers, and the money is all there.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from infrastructure.bank import BankUnitOfWork, bank_registry
from infrastructure.persistence import ensure_key_constraints
from infrastructure.server import Database

from .bank_workload import audit, open_accounts
from .profile import Figures, Profile
from .stress_worker import WorkerResult, process_main, transfer_for


def test_threads_and_processes_lose_no_update(
    database: Database, graph_name: str, profile: Profile, figures: Figures
) -> None:
    registry = bank_registry()
    graph = database.graph(graph_name)
    ensure_key_constraints(graph, registry)

    def new_unit() -> BankUnitOfWork:
        return BankUnitOfWork(graph, registry)

    accounts = open_accounts(new_unit, profile.stress_accounts)
    seconds = profile.stress_seconds
    results: list[WorkerResult] = []
    spawn = multiprocessing.get_context("spawn")
    try:
        with (
            ProcessPoolExecutor(profile.stress_processes, mp_context=spawn) as processes,
            ThreadPoolExecutor(profile.stress_threads) as threads,
        ):
            in_processes = [
                processes.submit(process_main, database.url, graph_name, seconds, accounts, 100 + i)
                for i in range(profile.stress_processes)
            ]
            in_threads = [
                threads.submit(transfer_for, graph, seconds, accounts, i)
                for i in range(profile.stress_threads)
            ]
            results = [f.result() for f in in_processes + in_threads]
        result = audit(new_unit, accounts)
    finally:
        graph.delete()

    acknowledged = {i.id: i for r in results for i in r.acknowledged}
    errors = sum((r.errors for r in results), start=type(results[0].errors)())
    figures.add(
        "concurrency",
        workers=len(results),
        commits_acknowledged=len(acknowledged),
        commits_found=result.found(acknowledged),
        conflicts=sum(r.conflicts for r in results),
        retries=sum(r.retries for r in results),
        half_applied=len(result.wrong_version),
        lost_updates=len(result.wrong_balance),
    )
    assert all(r.acknowledged for r in results)  # every worker got work done
    assert set(errors) <= {"ConcurrencyError"}, errors
    assert result.found(acknowledged) == len(acknowledged) == len(result.transfers)
    assert result.mismatched(acknowledged) == []
    assert result.wrong_version == []
    assert result.wrong_balance == []
    assert result.total == result.expected_total
