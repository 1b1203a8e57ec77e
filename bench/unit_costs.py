"""What a small unit costs: a transfer against one raw query, an empty unit, memory per entity.

Web requests are small units, so their fixed costs matter as much as bulk
throughput: the round trips a read-then-write unit needs, the work of
opening and closing a unit that does nothing, and the memory the identity
map and the change tracker keep per loaded entity.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from typing import Any

from infrastructure.bank import BankUnitOfWork

from . import data
from .harness import Bench, Result, Target, stock
from .sync_cases import ours_transfer, to_person

# The raw client's best transfer: check and move both balances in ONE conditional
# query (no read first). The layer stores amounts as exact decimal text; this query
# computes on floats, which is exact for the whole amounts the bench moves.
ONE_QUERY_TRANSFER = (
    "MATCH (s:Account {id: $s}), (t:Account {id: $t}) "
    "WITH s, t, toFloat(s.balance_amount) - $amount AS left WHERE left >= 0 "
    "SET s.balance_amount = toString(left), s.version = s.version + 1, "
    "t.balance_amount = toString(toFloat(t.balance_amount) + $amount), "
    "t.version = t.version + 1 RETURN count(s)"
)


def raw_one_query_transfer(graph: Any, source: Any, target: Any) -> None:
    amount = float(data.AMOUNT.amount)
    rows = graph.query(ONE_QUERY_TRANSFER, {"s": str(source), "t": str(target), "amount": amount})
    if rows.result_set[0][0] != 1:
        raise ValueError(f"account {source} cannot pay {amount}")


def transfer_vs_one_query(bench: Bench, bank: data.Bank) -> Result:
    """A transfer unit (read both accounts, write both, commit) against one raw query."""

    def setup(graph: Any) -> data.Bank:
        data.store_accounts(graph, bank)
        return bank

    def ours(graph: Any, bank: data.Bank) -> None:
        for source, target in bank.pairs:
            ours_transfer(graph, bench.registry, source, target)

    def raw(graph: Any, bank: data.Bank) -> None:
        for source, target in bank.pairs:
            raw_one_query_transfer(graph, source, target)

    best = bench.best_of("transfer_one_query", setup, ours, raw)
    per_unit = best["ours"] / len(bank.pairs) * 1000
    per_raw = best["raw"] / len(bank.pairs) * 1000
    return Result(
        "transfer unit vs one-query raw transfer",
        len(bank.pairs),
        best["ours"],
        best["raw"],
        bench.reps,
        "per transfer ONE conditional MATCH .. SET query (no read round trip)",
        Target("ratio", 2.5),
        extra={
            "us_per_unit": round(per_unit, 1),
            "raw_us_per_transfer": round(per_raw, 1),
            "note": f"{per_unit:.0f} us per unit vs {per_raw:.0f} us per raw query; "
            "2 round trips are the floor of a read-then-write unit",
        },
    )


def empty_unit(bench: Bench, loops: int) -> Result:
    """Microseconds to open a unit, commit nothing and close it."""
    _, graph = bench.fresh_graph("empty_unit")
    registry = bench.registry
    try:
        for _ in range(100):  # warm the per-class caches
            with BankUnitOfWork(graph, registry):
                pass
        best = float("inf")
        for _ in range(bench.reps):
            gc.collect()
            start = time.perf_counter()
            for _ in range(loops):
                with BankUnitOfWork(graph, registry):
                    pass
            best = min(best, time.perf_counter() - start)
    finally:
        graph.delete()
    us = best / loops * 1e6
    return Result(
        "empty unit (open, commit nothing, close)",
        loops,
        us / 1000,
        None,
        bench.reps,
        "no raw counterpart: the fixed cost every unit pays",
        Target("us", 20),
        us,
        {"us_per_op": round(us, 3), "note": "per unit; sends no query"},
    )


def _traced(build: Any) -> tuple[int, Any]:
    """Bytes still allocated after ``build()`` returns (what its result keeps alive)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = build()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return after - before, kept


def memory_per_entity(bench: Bench, n: int) -> Result:
    """Bytes per tracked entity beyond the same object built by hand from the same row."""
    _, graph = bench.fresh_graph("memory")
    try:
        people = data.make_people(n)
        data.store_people(graph, people)
        keys = [p.id for p in people]
        raw_graph = stock(graph)
        # Both sides are handed the keys as the stored text: neither pays for building them.
        texts = [str(k) for k in keys]

        def by_hand() -> list[Any]:
            rows = raw_graph.ro_query(data.GET_PEOPLE, {"keys": texts}).result_set
            return [to_person(row) for row in rows]

        objects_bytes, objects = _traced(by_hand)
        del objects
        uow = BankUnitOfWork(graph, bench.registry)
        try:
            ours_bytes, loaded = _traced(lambda: uow.people.get_many(keys))
            assert len(loaded) == n
            del loaded
        finally:
            uow.close()
    finally:
        graph.delete()
    beyond = (ours_bytes - objects_bytes) / n
    return Result(
        "memory per tracked entity",
        n,
        ours_bytes / n / 1000,
        objects_bytes / n / 1000,
        1,
        "the same Person objects built by hand from the raw rows (tracemalloc)",
        Target("bytes", 500),
        beyond,
        {
            "ours_cell": f"{ours_bytes / n:.0f} B",
            "raw_cell": f"{objects_bytes / n:.0f} B",
            "bytes_per_entity": round(ours_bytes / n),
            "raw_bytes_per_entity": round(objects_bytes / n),
            "beyond_object_bytes": round(beyond),
            "note": f"{ours_bytes / n:.0f} B per loaded entity in an open unit vs "
            f"{objects_bytes / n:.0f} B per hand-built object: {beyond:.0f} B beyond",
        },
    )


def run_unit_costs(bench: Bench, bank: data.Bank, loops: int, n: int) -> list[Result]:
    results = [transfer_vs_one_query(bench, bank), empty_unit(bench, loops)]
    results.append(memory_per_entity(bench, n))
    for r in results:
        print(f"  {r.name}: {r.extra['note']}", flush=True)
    return results
