"""Async workloads: ``AsyncBankUnitOfWork`` against the raw async client (``falkordb.asyncio``)."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable
from typing import Any

from domain.model import Person
from infrastructure.bank import AsyncBankUnitOfWork
from infrastructure.persistence import Registry, retry_on_conflict_async
from infrastructure.server.cypher import AsyncFastGraph

from . import data
from .harness import Bench, Result, Setup, Target
from .sync_cases import RawConflict, bank_setup, money_moved, stored_people

AsyncCase = tuple[Setup, Callable[[Any, Any], Awaitable[Any]], Callable[[Any, Any], Awaitable[Any]]]


def insert_case(n: int, registry: Registry) -> AsyncCase:
    def setup(graph: Any) -> list[Person]:
        return data.make_people(n)

    async def ours(graph: Any, people: list[Person]) -> None:
        async with AsyncBankUnitOfWork(graph, registry) as uow:
            for person in people:
                uow.people.add(person)

    async def raw(graph: Any, people: list[Person]) -> None:
        await graph.query(data.CREATE_PEOPLE, {"rows": data.person_rows(people)})

    return setup, ours, raw


def get_many_case(n: int, registry: Registry) -> AsyncCase:
    async def ours(graph: Any, keys: list[Any]) -> None:
        async with AsyncBankUnitOfWork(graph, registry) as uow:
            await uow.people.get_many(keys)

    async def raw(graph: Any, keys: list[Any]) -> list[list[Any]]:
        result = await graph.ro_query(data.GET_PEOPLE, {"keys": [str(k) for k in keys]})
        rows: list[list[Any]] = result.result_set
        return rows

    return stored_people(n), ours, raw


def list_case(n: int, registry: Registry) -> AsyncCase:
    async def ours(graph: Any, keys: list[Any]) -> None:
        async with AsyncBankUnitOfWork(graph, registry) as uow:
            await uow.people.list()

    async def raw(graph: Any, keys: list[Any]) -> list[list[Any]]:
        result = await graph.ro_query(data.LIST_PEOPLE)
        rows: list[list[Any]] = result.result_set
        return rows

    return stored_people(n), ours, raw


async def ours_transfer(graph: Any, registry: Registry, source: Any, target: Any) -> None:
    async with AsyncBankUnitOfWork(graph, registry) as uow:
        src, dst = await uow.accounts.get_many([source, target])
        src.withdraw(data.AMOUNT)
        dst.deposit(data.AMOUNT)


async def raw_transfer(graph: Any, source: Any, target: Any) -> None:
    s, t = str(source), str(target)
    rows = (await graph.ro_query(data.GET_ACCOUNTS, {"keys": [s, t]})).result_set
    moved = money_moved(rows, s, t)
    if (await graph.query(data.MOVE_MONEY, {"rows": moved})).result_set[0][0] != 2:
        raise RawConflict(f"transfer {s} -> {t} lost a race")


def transfers_case(bank: data.Bank, registry: Registry) -> AsyncCase:
    async def ours(graph: Any, bank: data.Bank) -> None:
        for source, target in bank.pairs:
            await ours_transfer(graph, registry, source, target)

    async def raw(graph: Any, bank: data.Bank) -> None:
        for source, target in bank.pairs:
            await raw_transfer(graph, source, target)

    return bank_setup(bank), ours, raw


async def concurrent_transfers(
    graph: Any, registry: Registry, bank: data.Bank, workers: int
) -> int:
    """All of ``bank.pairs`` spread over ``workers`` tasks; returns how many attempts were made."""
    attempts = 0
    pending = iter(bank.pairs)

    async def transfer(source: Any, target: Any) -> None:
        async def attempt() -> None:
            nonlocal attempts
            attempts += 1
            await ours_transfer(graph, registry, source, target)

        await retry_on_conflict_async(attempt, attempts=100)

    async def worker() -> None:
        for source, target in pending:
            await transfer(source, target)

    await asyncio.gather(*(worker() for _ in range(workers)))
    return attempts


async def concurrent_run(
    bench: Bench,
    client: Any,
    bank: data.Bank,
    workers: int,
    sequential_ms: float,
    async_sequential_ms: float,
) -> Result:
    """Best of ``bench.reps`` concurrent runs, compared with the sync sequential run."""
    best = float("inf")
    conflicts: list[int] = []
    consistent = True
    for _ in range(bench.reps):
        name, graph = bench.fresh_graph("concurrent")
        try:
            data.store_accounts(graph, bank)
            agraph = AsyncFastGraph(client.select_graph(name))
            gc.collect()
            start = time.perf_counter()
            attempts = await concurrent_transfers(agraph, bench.registry, bank, workers)
            best = min(best, (time.perf_counter() - start) * 1000)
            conflicts.append(attempts - len(bank.pairs))
            consistent = consistent and data.bank_consistent(graph, bank, len(bank.pairs))
        finally:
            graph.delete()
    return Result(
        f"async transfers, {workers} workers",
        len(bank.pairs),
        best,
        sequential_ms,
        bench.reps,
        "OUR sync sequential transfers run (not the raw client)",
        Target("ratio", 0.4),
        extra={
            "workers": workers,
            "accounts": len(bank.accounts),
            "conflicts_per_run": conflicts,
            "consistent": consistent,
            "async_sequential_ms": round(async_sequential_ms, 4),
            "note": (
                f"vs our sync sequential (async sequential: {async_sequential_ms:.1f} ms); "
                f"retries per run {conflicts}; consistent: {consistent}"
            ),
        },
    )


ASYNC_CASES = {
    "async insert": (insert_case, "raw async: one UNWIND CREATE"),
    "async get_many": (get_many_case, "raw async: one UNWIND MATCH by key"),
    "async list": (list_case, "raw async: one MATCH RETURN properties"),
}


async def run_async(
    bench: Bench, n: int, bank: data.Bank, workers: int, sequential_ms: float
) -> list[Result]:
    client = bench.db.async_client()
    try:
        results = []
        for name, (make, raw_side) in ASYNC_CASES.items():
            best = await bench.best_of_async(
                client, name.replace(" ", "_"), *make(n, bench.registry)
            )
            results.append(Result(name, n, best["ours"], best["raw"], bench.reps, raw_side))
            print(f"  {name}: {best['ours']:.1f} ms vs raw {best['raw']:.1f} ms", flush=True)
        best = await bench.best_of_async(
            client, "async_transfers", *transfers_case(bank, bench.registry)
        )
        results.append(
            Result(
                "async transfers (sequential)",
                len(bank.pairs),
                best["ours"],
                best["raw"],
                bench.reps,
                "raw async: per transfer one read + one versioned write",
            )
        )
        print(f"  async transfers: {best['ours']:.1f} ms vs raw {best['raw']:.1f} ms", flush=True)
        results.append(
            await concurrent_run(bench, client, bank, workers, sequential_ms, best["ours"])
        )
        print(f"  concurrent transfers: {results[-1].ms:.1f} ms", flush=True)
    finally:
        await bench.db.aclose()
    return results
