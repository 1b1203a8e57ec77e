"""Graph workloads: people with friendship edges, written in one unit and loaded with their friends.

The graph is ``(:Person)-[:FRIEND]->(:Person)``: every person has ``friends``
out-edges to other people (distinct, never itself). Two mappings of it:

- ``Member.friends: list[Member]``: edges without properties;
- ``DatedMember.friendships: list[Friendship]``: each edge carries ``since``
  (a ``date``, stored as ISO text as the layer stores dates), through the
  edge dataclass ``Friendship(friend, since)``.

Workloads, each against the fastest raw-client query found for it:

- ``graph insert``: every person added to one unit, committed (one query).
  Raw: ONE query that creates the nodes and then, from the same rows, the
  edges: each row carries its person's friend keys (with ``since``), so the
  holder is matched once per person instead of once per edge. Measured here
  against two queries (UNWIND CREATE + UNWIND MATCH/CREATE of flat edge
  rows): about 2x faster for both.
- ``graph eager load``: a fresh unit's ``list(load=[...])`` of everybody.
  Raw: one ``MATCH ... OPTIONAL MATCH ... collect(...)`` query (a pattern
  comprehension took about twice its server time).
- ``graph lazy load``: ``list()`` then touching every person's relationship;
  the target is the number of queries (one list + one batched load).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from infrastructure.persistence import Registry, Repository, UnitOfWork, to_many
from infrastructure.server import Database

from .harness import Bench, CountingGraph, Result, Run, Setup, Target
from .profiling import profiled

Case = tuple[Setup, Run, Run]

# -- the domain of these workloads ------------------------------------------------


@dataclass
class _Profile:
    """The stored fields of a member, whichever way its friendships are held."""

    id: uuid.UUID
    name: str
    email: str
    age: int | None = None
    version: int = 0


@dataclass
class Member(_Profile):
    friends: list[Member] = field(default_factory=list, repr=False, compare=False)


@dataclass
class DatedMember(_Profile):
    friendships: list[Friendship] = field(default_factory=list, repr=False, compare=False)


@dataclass
class Friendship:
    friend: DatedMember
    since: date


def member_registry() -> Registry:
    registry = Registry()
    registry.map(
        Member,
        key="id",
        label="Person",
        version="version",
        relationships={"friends": to_many(Member, "FRIEND")},
    )
    return registry


def dated_registry() -> Registry:
    registry = Registry()
    registry.map(
        DatedMember,
        key="id",
        label="Person",
        version="version",
        relationships={
            "friendships": to_many(DatedMember, "FRIEND", via=Friendship, target_field="friend")
        },
    )
    return registry


class MemberUnit(UnitOfWork):
    people: Repository[Member]


class DatedUnit(UnitOfWork):
    people: Repository[DatedMember]


# -- the network and the raw side ---------------------------------------------------

PERSON = "n.id, n.name, n.email, n.age, n.version"
FRIEND = "m.id, m.name, m.email, m.age, m.version"
CREATE_NODES = (
    "UNWIND $rows AS row CREATE (:Person {id: row.id, name: row.name, email: row.email, "
    "age: row.age, version: row.version}) WITH count(*) AS created "
    "UNWIND $rows AS row MATCH (a:Person {id: row.id}) UNWIND row.f AS f "
)
CREATE_NETWORK = CREATE_NODES + "MATCH (b:Person {id: f}) CREATE (a)-[:FRIEND]->(b)"
CREATE_DATED_NETWORK = (
    CREATE_NODES + "MATCH (b:Person {id: f[0]}) CREATE (a)-[:FRIEND {since: f[1]}]->(b)"
)
# The CASE keeps a person without friends at an empty list (not one list of nulls).
LOAD_NETWORK = (
    f"MATCH (n:Person) OPTIONAL MATCH (n)-[:FRIEND]->(m:Person) "
    f"RETURN {PERSON}, collect(CASE WHEN m IS NULL THEN NULL ELSE [{FRIEND}] END)"
)
LOAD_DATED_NETWORK = (
    f"MATCH (n:Person) OPTIONAL MATCH (n)-[r:FRIEND]->(m:Person) "
    f"RETURN {PERSON}, collect(CASE WHEN m IS NULL THEN NULL ELSE [{FRIEND}, r.since] END)"
)
STORED_EDGES = "MATCH (a:Person)-[r:FRIEND]->(b:Person) RETURN a.id, b.id, r.since"
STORED_PEOPLE = f"MATCH (n:Person) RETURN {PERSON}"


@dataclass(frozen=True, slots=True)
class Network:
    """Who is whose friend since when, by index; objects and rows are built from it."""

    ids: list[uuid.UUID]
    friends: list[list[int]]
    since: list[list[date]]

    @property
    def people(self) -> int:
        return len(self.ids)

    @property
    def edges(self) -> int:
        return sum(len(f) for f in self.friends)

    def expected_edges(self, dated: bool) -> set[tuple[str, str, str | None]]:
        ids = [str(i) for i in self.ids]
        return {
            (ids[i], ids[j], s.isoformat() if dated else None)
            for i, (fs, ss) in enumerate(zip(self.friends, self.since, strict=True))
            for j, s in zip(fs, ss, strict=True)
        }


def make_network(people: int, friends: int, seed: int = 5) -> Network:
    rng = random.Random(seed)
    friends = min(friends, people - 1)
    ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(people)]
    chosen = []
    for i in range(people):
        picks = rng.sample(range(people - 1), friends)
        chosen.append([j if j < i else j + 1 for j in picks])  # never itself
    start = date(2000, 1, 1)
    since = [[start + timedelta(days=rng.randrange(9000)) for _ in fs] for fs in chosen]
    return Network(ids, chosen, since)


def _person_fields(i: int, key: uuid.UUID) -> dict[str, Any]:
    return {"id": key, "name": f"person {i}", "email": f"p{i}@example.com", "age": 20 + i % 60}


def build_members(net: Network) -> list[Member]:
    people = [Member(**_person_fields(i, key)) for i, key in enumerate(net.ids)]
    for person, fs in zip(people, net.friends, strict=True):
        person.friends = [people[j] for j in fs]
    return people


def build_dated(net: Network) -> list[DatedMember]:
    people = [DatedMember(**_person_fields(i, key)) for i, key in enumerate(net.ids)]
    for person, fs, ss in zip(people, net.friends, net.since, strict=True):
        person.friendships = [Friendship(people[j], s) for j, s in zip(fs, ss, strict=True)]
    return people


def member_rows(people: list[Member]) -> list[dict[str, Any]]:
    """What the raw side sends: the stored properties and the friends' keys."""
    return [
        {
            "id": str(p.id),
            "name": p.name,
            "email": p.email,
            "age": p.age,
            "version": 1,
            "f": [str(f.id) for f in p.friends],
        }
        for p in people
    ]


def dated_rows(people: list[DatedMember]) -> list[dict[str, Any]]:
    return [
        {
            "id": str(p.id),
            "name": p.name,
            "email": p.email,
            "age": p.age,
            "version": 1,
            "f": [[str(f.friend.id), f.since.isoformat()] for f in p.friendships],
        }
        for p in people
    ]


def _member(row: list[Any]) -> Member:
    return Member(id=uuid.UUID(row[0]), name=row[1], email=row[2], age=row[3], version=row[4])


def raw_member_objects(rows: list[list[Any]]) -> list[Member]:
    """Hand-built objects from ``LOAD_NETWORK`` rows, one object per person."""
    by_key = {row[0]: _member(row) for row in rows}
    out = []
    for row in rows:
        person = by_key[row[0]]
        person.friends = [by_key.get(f[0]) or _member(f) for f in row[5]]
        out.append(person)
    return out


def _dated(row: list[Any]) -> DatedMember:
    return DatedMember(id=uuid.UUID(row[0]), name=row[1], email=row[2], age=row[3], version=row[4])


def raw_dated_objects(rows: list[list[Any]]) -> list[DatedMember]:
    by_key = {row[0]: _dated(row) for row in rows}
    out = []
    for row in rows:
        person = by_key[row[0]]
        person.friendships = [
            Friendship(by_key.get(f[0]) or _dated(f), date.fromisoformat(f[5])) for f in row[5]
        ]
        out.append(person)
    return out


@dataclass(frozen=True, slots=True)
class Variant:
    """One mapping of the network and everything its workloads need."""

    suffix: str  # appended to the workload names
    entity: type
    dated: bool
    relationship: str
    make_registry: Callable[[], Registry]
    unit: type[UnitOfWork]
    build: Callable[[Network], list[Any]]
    rows: Callable[[list[Any]], list[dict[str, Any]]]
    create: str
    load: str
    objects: Callable[[list[list[Any]]], list[Any]]

    def targets(self, person: Any) -> list[Any]:
        held = getattr(person, self.relationship)
        return [f.friend for f in held] if self.dated else list(held)


PLAIN = Variant(
    "",
    Member,
    False,
    "friends",
    member_registry,
    MemberUnit,
    build_members,
    member_rows,
    CREATE_NETWORK,
    LOAD_NETWORK,
    raw_member_objects,
)
DATED = Variant(
    " +since",
    DatedMember,
    True,
    "friendships",
    dated_registry,
    DatedUnit,
    build_dated,
    dated_rows,
    CREATE_DATED_NETWORK,
    LOAD_DATED_NETWORK,
    raw_dated_objects,
)
VARIANTS = (PLAIN, DATED)


# -- the cases ------------------------------------------------------------------------


def insert_case(variant: Variant, net: Network, registry: Registry) -> Case:
    def setup(graph: Any) -> list[Any]:
        return variant.build(net)

    def ours(graph: Any, people: list[Any]) -> None:
        with variant.unit(graph, registry) as uow:
            repository = uow.repository(variant.entity)
            for person in people:
                repository.add(person)

    def raw(graph: Any, people: list[Any]) -> None:
        graph.query(variant.create, {"rows": variant.rows(people)})

    return setup, ours, raw


def _stored(variant: Variant, net: Network) -> Setup:
    def setup(graph: Any) -> list[uuid.UUID]:
        graph.query(variant.create, {"rows": variant.rows(variant.build(net))})
        return net.ids

    return setup


def eager_case(variant: Variant, net: Network, registry: Registry) -> Case:
    def ours(graph: Any, keys: list[uuid.UUID]) -> list[Any]:
        with variant.unit(graph, registry) as uow:
            people: list[Any] = uow.repository(variant.entity).list(load=[variant.relationship])
        return people

    def raw(graph: Any, keys: list[uuid.UUID]) -> list[list[Any]]:
        rows: list[list[Any]] = graph.ro_query(variant.load).result_set
        return rows

    return _stored(variant, net), ours, raw


def eager_get_many(variant: Variant, registry: Registry) -> Run:
    def run(graph: Any, keys: list[uuid.UUID]) -> list[Any]:
        with variant.unit(graph, registry) as uow:
            people: list[Any] = uow.repository(variant.entity).get_many(
                keys, load=[variant.relationship]
            )
        return people

    return run


def raw_objects(variant: Variant) -> Run:
    def run(graph: Any, keys: list[uuid.UUID]) -> list[Any]:
        return variant.objects(graph.ro_query(variant.load).result_set)

    return run


def lazy_case(variant: Variant, net: Network, registry: Registry) -> Case:
    def ours(graph: Any, keys: list[uuid.UUID]) -> int:
        with variant.unit(graph, registry) as uow:
            people = uow.repository(variant.entity).list()
            return sum(len(getattr(p, variant.relationship)) for p in people)

    setup, _, raw = eager_case(variant, net, registry)
    return setup, ours, raw


# -- checks: round trips, and both sides storing/loading the same graph ---------------


def _edges_of(people: list[Any], variant: Variant) -> set[tuple[str, str, str | None]]:
    out = set()
    for p in people:
        held = getattr(p, variant.relationship)
        for item in held:
            target = item.friend if variant.dated else item
            since = item.since.isoformat() if variant.dated else None
            out.add((str(p.id), str(target.id), since))
    return out


def _stored_edges(graph: Any) -> set[tuple[str, str, str | None]]:
    return {(a, b, s) for a, b, s in graph.ro_query(STORED_EDGES).result_set}


def _once(
    bench: Bench, tag: str, setup: Setup, run: Run, check: Callable[[Any, Any], bool]
) -> tuple[int, bool]:
    """Queries ``run`` sent (counted at the graph handle) and whether ``check`` passed."""
    _, graph = bench.fresh_graph(tag)
    try:
        context = setup(graph)
        counting = CountingGraph(graph)
        answer = run(counting, context)
        return counting.queries, check(graph, answer)
    finally:
        graph.delete()


def check_insert(bench: Bench, variant: Variant, net: Network) -> dict[str, Any]:
    setup, ours, raw = insert_case(variant, net, bench.registry)
    expected = net.expected_edges(variant.dated)
    columns = ("id", "name", "email", "age", "version")
    people = {tuple(row[c] for c in columns) for row in variant.rows(variant.build(net))}

    def same_graph(graph: Any, _: Any) -> bool:
        stored = {tuple(row) for row in graph.ro_query(STORED_PEOPLE).result_set}
        return stored == people and _stored_edges(graph) == expected

    trips, ours_ok = _once(bench, "graph_check", setup, ours, same_graph)
    _, raw_ok = _once(bench, "graph_check", setup, raw, same_graph)
    return {"round_trips": trips, "stored_as_expected": ours_ok and raw_ok}


def check_loads(bench: Bench, variant: Variant, net: Network) -> dict[str, Any]:
    registry = bench.registry
    setup, eager, raw = eager_case(variant, net, registry)
    _, lazy, _ = lazy_case(variant, net, registry)
    expected = net.expected_edges(variant.dated)

    def loaded(graph: Any, people: list[Any]) -> bool:
        return len(people) == net.people and _edges_of(people, variant) == expected

    def counted(graph: Any, total: int) -> bool:
        return total == net.edges

    def raw_loaded(graph: Any, rows: list[list[Any]]) -> bool:
        return loaded(graph, variant.objects(rows))

    list_trips, list_ok = _once(bench, "graph_check", setup, eager, loaded)
    many_trips, many_ok = _once(
        bench, "graph_check", setup, eager_get_many(variant, registry), loaded
    )
    lazy_trips, lazy_ok = _once(bench, "graph_check", setup, lazy, counted)
    _, raw_ok = _once(bench, "graph_check", setup, raw, raw_loaded)
    return {
        "eager_round_trips": list_trips,
        "get_many_round_trips": many_trips,
        "lazy_queries": lazy_trips,
        "loaded_as_expected": list_ok and many_ok and lazy_ok and raw_ok,
    }


# -- running them ----------------------------------------------------------------------

RAW_SIDES = {
    "insert": "ONE query: UNWIND CREATE nodes, then per row MATCH holder, UNWIND friend keys, "
    "MATCH target, CREATE edge",
    "eager": "one MATCH + OPTIONAL MATCH + collect(CASE m IS NULL .. [friend props]) query",
    "lazy": "the eager raw query (one round trip)",
}


GRAPH_CASES: dict[str, tuple[Variant, Callable[[Variant, Network, Registry], Case]]] = {
    f"graph {kind}{variant.suffix}": (variant, make)
    for variant in VARIANTS
    for kind, make in (
        ("insert", insert_case),
        ("eager load", eager_case),
        ("lazy load", lazy_case),
    )
}


def run_variant(db: Database, variant: Variant, net: Network, reps: int) -> list[Result]:
    bench = Bench(db, variant.make_registry(), reps)
    registry = bench.registry
    n = net.people
    size = f"{net.people} people x {len(net.friends[0])} friends"
    results = []
    tag = "dated" if variant.dated else "plain"

    best = bench.best_of(f"ginsert_{tag}", *insert_case(variant, net, registry))
    checked = check_insert(bench, variant, net)
    trips = checked["round_trips"]
    results.append(
        Result(
            f"graph insert{variant.suffix}",
            n,
            best["ours"],
            best["raw"],
            reps,
            RAW_SIDES["insert"],
            Target("ratio", 1.5),
            extra={
                "edges": net.edges,
                **checked,
                "note": f"{size}; {trips} round trip(s); same graph stored: "
                f"{checked['stored_as_expected']}",
            },
        )
    )
    _print(results[-1])

    more = {"ours_get_many": eager_get_many(variant, registry), "raw_objects": raw_objects(variant)}
    best = bench.best_of(f"geager_{tag}", *eager_case(variant, net, registry), more)
    loads = check_loads(bench, variant, net)
    eager_ok = loads["eager_round_trips"] == 1 and loads["get_many_round_trips"] == 1
    results.append(
        Result(
            f"graph eager load{variant.suffix}",
            n,
            best["ours"],
            best["raw"],
            reps,
            RAW_SIDES["eager"],
            Target("ratio", 1.5),
            extra={
                "edges": net.edges,
                "get_many_ms": round(best["ours_get_many"], 4),
                "raw_objects_ms": round(best["raw_objects"], 4),
                "ratio_vs_raw_objects": round(best["ours"] / best["raw_objects"], 3),
                "round_trips_met": eager_ok,
                **loads,
                "note": f"list(load=); round trips {loads['eager_round_trips']} "
                f"(get_many {loads['get_many_round_trips']}, must be 1: "
                f"{'met' if eager_ok else 'MISSED'}); get_many(load=) "
                f"{best['ours_get_many']:.1f} ms; raw + objects {best['raw_objects']:.1f} ms "
                f"({best['ours'] / best['raw_objects']:.2f}x); loaded right: "
                f"{loads['loaded_as_expected']}",
            },
        )
    )
    _print(results[-1])

    best = bench.best_of(f"glazy_{tag}", *lazy_case(variant, net, registry))
    lazy = loads["lazy_queries"]
    results.append(
        Result(
            f"graph lazy load{variant.suffix}",
            n,
            best["ours"],
            best["raw"],
            reps,
            RAW_SIDES["lazy"],
            Target("round_trips", 2),
            lazy,
            {
                "edges": net.edges,
                "queries": lazy,
                "note": f"list() then every .{variant.relationship}: {lazy} queries",
            },
        )
    )
    _print(results[-1])
    return results


def _print(r: Result) -> None:
    print(f"  {r.name}: {r.ms:.1f} ms vs raw {r.raw_ms:.1f} ms", flush=True)


def run_graph(
    db: Database, people: int, friends: int, reps: int, dated: bool = True
) -> list[Result]:
    net = make_network(people, friends)
    results = []
    for variant in VARIANTS if dated else (PLAIN,):
        results += run_variant(db, variant, net, reps)
    return results


# -- profiling our side -----------------------------------------------------------------


def hotspots(db: Database, name: str, people: int, friends: int, top: int) -> list[dict[str, Any]]:
    """cProfile of our side of the graph workload ``name``, shaped like ``profiling.hotspots``."""
    variant, make = GRAPH_CASES[name]
    bench = Bench(db, variant.make_registry(), 1)
    setup, ours, _ = make(variant, make_network(people, friends), bench.registry)
    return profiled(bench, "gprofile", setup, ours, top)
