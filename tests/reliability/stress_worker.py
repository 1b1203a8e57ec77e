"""One stress worker: transfers between shared accounts for a bounded time.

Runs in a thread of the test process or in a process of its own (its own
client, started with ``spawn``); returns what it did as plain data.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from uuid import UUID

from infrastructure.bank import BankUnitOfWork, bank_registry
from infrastructure.persistence import run_idempotent
from infrastructure.server import Database

from .bank_workload import Intent, random_intent, recording, transfer_stored, transfer_work


@dataclass
class WorkerResult:
    acknowledged: list[Intent] = field(default_factory=list)
    conflicts: int = 0
    retries: int = 0
    errors: Counter[str] = field(default_factory=Counter)


def transfer_for(graph: object, seconds: float, accounts: list[UUID], seed: int) -> WorkerResult:
    """Transfer between ``accounts`` on ``graph`` until ``seconds`` have passed."""
    registry = bank_registry()

    def new_unit() -> BankUnitOfWork:
        return BankUnitOfWork(graph, registry)  # type: ignore[arg-type]

    rng = random.Random(seed)
    result = WorkerResult()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        intent = random_intent(rng, accounts)
        work = recording(transfer_work(new_unit, intent), result.errors)
        run = run_idempotent(work, transfer_stored(new_unit, intent), attempts=200)
        assert not run.applied_earlier  # nothing is in doubt without faults
        result.acknowledged.append(intent)
        result.conflicts += run.conflicts
        result.retries += run.attempts - 1
    return result


def process_main(
    url: str, graph_name: str, seconds: float, accounts: list[UUID], seed: int
) -> WorkerResult:
    """The entry point of a worker process: its own client, then ``transfer_for``."""
    with Database(url) as db:
        return transfer_for(db.graph(graph_name), seconds, accounts, seed)
