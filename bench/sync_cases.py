"""Sync workloads: the layer (``BankUnitOfWork``) against the raw sync client.

Each ``*_case`` returns ``(setup, ours, raw)``: ``setup`` prepares a fresh
graph (untimed) and returns the context both timed runs receive.
"""

from __future__ import annotations

import gc
import time
import uuid
from decimal import Decimal
from typing import Any

from domain.model import Person
from infrastructure.bank import BankUnitOfWork
from infrastructure.persistence import Registry

from . import data
from .bulk_cases import update_where_case, upsert_case
from .harness import Bench, CountingGraph, Result, Run, Setup, Target, stock

Case = tuple[Setup, Run, Run]


class RawConflict(RuntimeError):
    """The raw side's versioned write matched fewer rows than it read."""


# -- people -------------------------------------------------------------------


def insert_case(n: int, registry: Registry) -> Case:
    def setup(graph: Any) -> list[Person]:
        return data.make_people(n)

    def ours(graph: Any, people: list[Person]) -> None:
        with BankUnitOfWork(graph, registry) as uow:
            for person in people:
                uow.people.add(person)

    def raw(graph: Any, people: list[Person]) -> None:
        data.store_people(graph, people)

    return setup, ours, raw


def stored_people(n: int) -> Setup:
    """A setup: ``n`` people stored with the raw client; the case gets their keys."""

    def setup(graph: Any) -> list[Any]:
        people = data.make_people(n)
        data.store_people(graph, people)
        return [p.id for p in people]

    return setup


def get_many_case(n: int, registry: Registry) -> Case:
    def ours(graph: Any, keys: list[Any]) -> None:
        with BankUnitOfWork(graph, registry) as uow:
            uow.people.get_many(keys)

    def raw(graph: Any, keys: list[Any]) -> list[list[Any]]:
        rows: list[list[Any]] = graph.ro_query(
            data.GET_PEOPLE, {"keys": [str(k) for k in keys]}
        ).result_set
        return rows

    return stored_people(n), ours, raw


def update_case(n: int, registry: Registry) -> Case:
    def ours(graph: Any, keys: list[Any]) -> None:
        with BankUnitOfWork(graph, registry) as uow:
            for person in uow.people.get_many(keys)[::10]:
                assert person.age is not None
                person.age += 1

    def raw(graph: Any, keys: list[Any]) -> None:
        rows = graph.ro_query(data.GET_PEOPLE, {"keys": [str(k) for k in keys]}).result_set
        changed = [{"k": row[0], "age": row[3] + 1} for row in rows[::10]]
        graph.query(data.SET_AGES, {"rows": changed})

    return stored_people(n), ours, raw


def delete_case(n: int, registry: Registry) -> Case:
    def ours(graph: Any, keys: list[Any]) -> None:
        with BankUnitOfWork(graph, registry) as uow:
            for person in uow.people.get_many(keys):
                uow.people.remove(person)

    def raw(graph: Any, keys: list[Any]) -> None:
        rows = graph.ro_query(data.GET_PEOPLE, {"keys": [str(k) for k in keys]}).result_set
        graph.query(data.DELETE_PEOPLE, {"keys": [row[0] for row in rows]})

    return stored_people(n), ours, raw


def list_case(n: int, registry: Registry) -> Case:
    def ours(graph: Any, keys: list[Any]) -> None:
        with BankUnitOfWork(graph, registry) as uow:
            uow.people.list()

    def raw(graph: Any, keys: list[Any]) -> list[list[Any]]:
        rows: list[list[Any]] = graph.ro_query(data.LIST_PEOPLE).result_set
        return rows

    return stored_people(n), ours, raw


# A hand-written mapping on the raw client: what a careful user pays to get objects.


def to_person(row: list[Any]) -> Person:
    return Person(id=uuid.UUID(row[0]), name=row[1], email=row[2], age=row[3], version=row[4])


def raw_get_many_objects(graph: Any, keys: list[Any]) -> list[Person]:
    rows = graph.ro_query(data.GET_PEOPLE, {"keys": [str(k) for k in keys]}).result_set
    return [to_person(row) for row in rows]


def raw_list_objects(graph: Any, keys: list[Any]) -> list[Person]:
    return [to_person(row) for row in graph.ro_query(data.LIST_PEOPLE).result_set]


def raw_update_objects(graph: Any, keys: list[Any]) -> None:
    changed = raw_get_many_objects(graph, keys)[::10]
    for person in changed:
        assert person.age is not None
        person.age += 1
    rows = [{"k": str(p.id), "age": p.age} for p in changed]
    graph.query(data.SET_AGES, {"rows": rows})


def raw_delete_objects(graph: Any, keys: list[Any]) -> None:
    people = raw_get_many_objects(graph, keys)
    graph.query(data.DELETE_PEOPLE, {"keys": [str(p.id) for p in people]})


RAW_OBJECTS = {
    "get_many": raw_get_many_objects,
    "list": raw_list_objects,
    "update 10%": raw_update_objects,
    "delete": raw_delete_objects,
}


# -- the commit alone -------------------------------------------------------------
#
# "update 10%" and "delete" above time the whole workload, loading included.
# These time only the write: our unit's commit (after an untimed load and
# edit) against the raw client's one write query (after an untimed read).


def _time_it(run: Any) -> float:
    gc.collect()
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) * 1000


def commit_only(bench: Bench, n: int) -> list[Result]:
    registry = bench.registry
    best = {
        side: float("inf") for side in ("update ours", "update raw", "delete ours", "delete raw")
    }
    for _ in range(bench.reps):
        for side in best:
            _, graph = bench.fresh_graph("commit_only")
            try:
                keys = stored_people(n)(graph)
                handle = graph if side.endswith("ours") else stock(graph)
                if side == "update ours":
                    uow = BankUnitOfWork(handle, registry)
                    for person in uow.people.get_many(keys)[::10]:
                        assert person.age is not None
                        person.age += 1
                    ms = _time_it(uow.commit)
                elif side == "delete ours":
                    uow = BankUnitOfWork(handle, registry)
                    for person in uow.people.get_many(keys):
                        uow.people.remove(person)
                    ms = _time_it(uow.commit)
                else:
                    rows = handle.ro_query(
                        data.GET_PEOPLE, {"keys": [str(k) for k in keys]}
                    ).result_set
                    # The same work as the unit: versions checked (and moved).
                    if side == "update raw":
                        params = {
                            "rows": [
                                {"k": row[0], "age": row[3] + 1, "v": row[4]} for row in rows[::10]
                            ]
                        }
                        query = data.SET_AGES_VERSIONED
                    else:
                        params = {"rows": [{"k": row[0], "v": row[4]} for row in rows]}
                        query = data.DELETE_PEOPLE_VERSIONED
                    ms = _time_it(lambda: handle.query(query, params))  # noqa: B023
                best[side] = min(best[side], ms)
            finally:
                graph.delete()
    return [
        Result(
            f"{what} (commit only)",
            n,
            best[f"{what} ours"],
            best[f"{what} raw"],
            bench.reps,
            raw_side,
            Target("ratio", 1.5),
        )
        for what, raw_side in (
            ("update", "one versioned UNWIND SET of the changed 10% (the read untimed)"),
            ("delete", "one versioned UNWIND MATCH DETACH DELETE (the read untimed)"),
        )
    ]


# -- transfers ------------------------------------------------------------------


def ours_transfer(graph: Any, registry: Registry, source: Any, target: Any) -> None:
    """One unit: read both accounts, move the money, commit."""
    with BankUnitOfWork(graph, registry) as uow:
        src, dst = uow.accounts.get_many([source, target])
        src.withdraw(data.AMOUNT)
        dst.deposit(data.AMOUNT)


def money_moved(rows: list[list[Any]], s: str, t: str) -> list[dict[str, Any]]:
    """The raw transfer's decision: both accounts' new balances, each with the version read.

    Raises:
        ValueError: the source cannot pay.
    """
    found = {row[0]: row for row in rows}
    src, dst = found[s], found[t]
    amount = data.AMOUNT.amount
    left = Decimal(src[1]) - amount
    if left < 0:
        raise ValueError(f"account {s} cannot pay {amount}")
    return [
        {"k": s, "v": src[3], "a": str(left)},
        {"k": t, "v": dst[3], "a": str(Decimal(dst[1]) + amount)},
    ]


def raw_transfer(graph: Any, source: Any, target: Any) -> None:
    """One read and one versioned write, as a careful raw-client user would write it."""
    s, t = str(source), str(target)
    rows = graph.ro_query(data.GET_ACCOUNTS, {"keys": [s, t]}).result_set
    moved = money_moved(rows, s, t)
    if graph.query(data.MOVE_MONEY, {"rows": moved}).result_set[0][0] != 2:
        raise RawConflict(f"transfer {s} -> {t} lost a race")


def bank_setup(bank: data.Bank) -> Setup:
    def setup(graph: Any) -> data.Bank:
        data.store_accounts(graph, bank)
        return bank

    return setup


def transfers_case(bank: data.Bank, registry: Registry) -> Case:
    def ours(graph: Any, bank: data.Bank) -> None:
        for source, target in bank.pairs:
            ours_transfer(graph, registry, source, target)

    def raw(graph: Any, bank: data.Bank) -> None:
        for source, target in bank.pairs:
            raw_transfer(graph, source, target)

    return bank_setup(bank), ours, raw


def transfer_round_trips(bench: Bench, bank: data.Bank) -> tuple[float, bool]:
    """Queries per transfer unit of the layer, counted at the graph handle; and a consistency check."""
    _, graph = bench.fresh_graph("transfer_trips")
    try:
        data.store_accounts(graph, bank)
        counting = CountingGraph(graph)
        for source, target in bank.pairs:
            ours_transfer(counting, bench.registry, source, target)
        consistent = data.bank_consistent(graph, bank, len(bank.pairs))
    finally:
        graph.delete()
    return counting.queries / len(bank.pairs), consistent


# -- identity map -----------------------------------------------------------------


def identity_hit(bench: Bench, loops: int) -> Result:
    """Microseconds per ``uow.people.get(key)`` on a loaded key, next to a dict lookup."""
    _, graph = bench.fresh_graph("identity")
    try:
        people = data.make_people(1)
        data.store_people(graph, people)
        key = people[0].id
        best_ours = best_dict = float("inf")
        with BankUnitOfWork(graph, bench.registry) as uow:
            get = uow.people.get
            entity = get(key)
            table = {key: entity}
            for _ in range(bench.reps):
                start = time.perf_counter()
                for _ in range(loops):
                    get(key)
                best_ours = min(best_ours, time.perf_counter() - start)
                start = time.perf_counter()
                for _ in range(loops):
                    table[key]
                best_dict = min(best_dict, time.perf_counter() - start)
    finally:
        graph.delete()
    us, dict_us = best_ours / loops * 1e6, best_dict / loops * 1e6
    return Result(
        "identity-map hit",
        loops,
        us / 1000,
        dict_us / 1000,
        bench.reps,
        "dict lookup d[key] with the same UUID key (not a database call)",
        Target("us", 0.5),
        us,
        {"us_per_op": round(us, 4), "raw_us_per_op": round(dict_us, 4), "note": "per call"},
    )


# -- all of them ------------------------------------------------------------------

RATIO_TARGETS = {
    "insert": Target("ratio", 1.2),
    "get_many": Target("ratio", 1.3),
    "update 10%": Target("ratio", 1.4),
    "delete": Target("ratio", 1.4),
    "list": Target("ratio", 1.3),
    "upsert (half new)": Target("ratio", 1.3),
    "update_where": Target("ratio", 1.3),
}

PEOPLE_CASES = {
    "insert": (insert_case, "one UNWIND CREATE"),
    "get_many": (get_many_case, "one UNWIND MATCH by key, RETURN properties"),
    "update 10%": (update_case, "same read + one UNWIND SET of the changed 10%"),
    "delete": (delete_case, "same read + one UNWIND MATCH DETACH DELETE"),
    "list": (list_case, "one MATCH RETURN properties"),
    "upsert (half new)": (upsert_case, "one UNWIND MERGE ON CREATE SET / ON MATCH SET"),
    "update_where": (update_where_case, "one MATCH WHERE SET (no read)"),
}


def run_sync(bench: Bench, n: int, bank: data.Bank, identity_loops: int) -> list[Result]:
    results = []
    for name, (make, raw_side) in PEOPLE_CASES.items():
        more: dict[str, Run] = {"raw_objects": RAW_OBJECTS[name]} if name in RAW_OBJECTS else {}
        best = bench.best_of(name.split()[0], *make(n, bench.registry), more)
        result = Result(
            name, n, best["ours"], best["raw"], bench.reps, raw_side, RATIO_TARGETS.get(name)
        )
        if "raw_objects" in best:
            objects_ms = best["raw_objects"]
            result.extra["raw_objects_ms"] = round(objects_ms, 4)
            result.extra["ratio_vs_raw_objects"] = round(best["ours"] / objects_ms, 3)
            result.extra["note"] = (
                f"raw + hand-built Person objects: {objects_ms:.1f} ms "
                f"({best['ours'] / objects_ms:.2f}x)"
            )
        results.append(result)
        print(f"  {name}: {best['ours']:.1f} ms vs raw {best['raw']:.1f} ms", flush=True)

    results.extend(commit_only(bench, n))

    best = bench.best_of("transfers", *transfers_case(bank, bench.registry))
    trips, consistent = transfer_round_trips(bench, bank)
    results.append(
        Result(
            "transfers (sequential)",
            len(bank.pairs),
            best["ours"],
            best["raw"],
            bench.reps,
            "per transfer: one read + one versioned write",
            Target("round_trips", 3),
            trips,
            {
                "round_trips_per_transfer": trips,
                "raw_round_trips_per_transfer": 2,
                "consistent": consistent,
                "note": f"{trips:g} round trips/unit; money conserved: {consistent}",
            },
        )
    )
    print(f"  transfers: {best['ours']:.1f} ms vs raw {best['raw']:.1f} ms", flush=True)
    results.append(identity_hit(bench, identity_loops))
    return results
