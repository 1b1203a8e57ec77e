"""A small graph domain, and the sync unit behind the async API, for the graph-native tests.

The classes are plain dataclasses holding plain references; ``graph_registry``
maps them with every relationship shape the layer supports:

- ``Person.friendships``: undirected FRIEND edges carrying a ``since`` date
  (a ``Friendship`` object per edge), indexed on ``since``;
- ``Person.follows`` / ``Person.followers``: the two ends of FOLLOWS edges;
- ``Person.pets`` (cascade) and ``Pet.owner`` (to-one, the same OWNS edges
  seen from the pet);
- ``Account.transfers`` (restrict).

``GraphUnit`` gives a sync ``UnitOfWork`` the ``AsyncUnitOfWork`` API (every
read-backed call a coroutine that calls the sync unit directly), so one test
body written with ``await`` runs against both units. ``RecordingGraph`` counts
what a sync unit sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from types import TracebackType
from typing import Any

from infrastructure.persistence import (
    AsyncUnitOfWork,
    Registry,
    UnitOfWork,
    ensure_schema,
    to_many,
    to_one,
)
from tests.mappings import registry_of


@dataclass
class Friendship:
    friend: Person
    since: date
    note: str | None = None


@dataclass
class Person:
    id: str
    name: str
    age: int | None = None
    email: str | None = None
    version: int = 0
    friendships: list[Friendship] = field(default_factory=list, repr=False, compare=False)
    follows: list[Person] = field(default_factory=list, repr=False, compare=False)
    followers: list[Person] = field(default_factory=list, repr=False, compare=False)
    pets: list[Pet] = field(default_factory=list, repr=False, compare=False)


@dataclass
class Pet:
    id: str
    name: str
    owner: Person | None = field(default=None, repr=False, compare=False)


@dataclass
class Transfer:
    id: str
    amount: int


@dataclass
class Account:
    id: str
    balance: int = 0
    transfers: list[Transfer] = field(default_factory=list, repr=False, compare=False)


def graph_registry() -> Registry:
    registry = registry_of(
        Person,
        indexes=["age"],
        unique=["email"],
        relationships={
            "friendships": to_many(
                Person,
                "FRIEND",
                direction="both",
                via=Friendship,
                target_field="friend",
                indexes=["since"],
            ),
            "follows": to_many(Person, "FOLLOWS"),
            "followers": to_many(Person, "FOLLOWS", direction="in"),
            "pets": to_many(Pet, "OWNS", on_delete="cascade"),
        },
    )
    registry.map(Pet, key="id", relationships={"owner": to_one(Person, "OWNS", direction="in")})
    registry.map(Transfer, key="id")
    registry.map(
        Account,
        key="id",
        relationships={"transfers": to_many(Transfer, "SENT", on_delete="restrict")},
    )
    return registry


def befriend(a: Person, b: Person, since: date = date(2020, 1, 1)) -> None:
    """Make ``a`` hold ``b`` as a friend (one undirected edge once stored)."""
    a.friendships.append(Friendship(b, since))


def friends_of(person: Person) -> list[str]:
    return sorted(f.friend.id for f in person.friendships)


# -- what the server holds ------------------------------------------------------------------


def stored_edges(graph: Any, edge_type: str | None = None) -> list[tuple[str, str, str]]:
    """Every edge as (type, source id, target id), sorted; only ``edge_type`` when given."""
    pattern = f"[r:{edge_type}]" if edge_type else "[r]"
    rows = graph.ro_query(f"MATCH (a)-{pattern}->(b) RETURN type(r), a.id, b.id").result_set
    return sorted((t, a, b) for t, a, b in rows)


def stored_edge_props(graph: Any, edge_type: str) -> dict[tuple[str, str], dict[str, Any]]:
    rows = graph.ro_query(
        f"MATCH (a)-[r:{edge_type}]->(b) RETURN a.id, b.id, properties(r)"
    ).result_set
    return {(a, b): dict(props) for a, b, props in rows}


def undirected(graph: Any, edge_type: str) -> list[tuple[str, str]]:
    """The stored edges of ``edge_type`` as unordered pairs of keys, sorted."""
    return sorted(tuple(sorted((a, b))) for _, a, b in stored_edges(graph, edge_type))


def stored_ids(graph: Any, label: str) -> list[str]:
    rows = graph.ro_query(f"MATCH (n:{label}) RETURN n.id").result_set
    return sorted(r[0] for r in rows)


def picture(graph: Any) -> tuple[list[Any], list[Any]]:
    """Every node (labels, properties) and every edge (type, ends, properties), sorted."""
    nodes = graph.ro_query("MATCH (n) RETURN labels(n), properties(n)").result_set
    edges = graph.ro_query(
        "MATCH (a)-[r]->(b) RETURN type(r), a.id, b.id, properties(r)"
    ).result_set
    return (
        sorted((tuple(labels), sorted(props.items())) for labels, props in nodes),
        sorted((t, a, b, sorted(p.items())) for t, a, b, p in edges),
    )


# -- counting what a unit sends -------------------------------------------------------------


class RecordingGraph:
    """A sync graph handle that records each ``query``/``ro_query`` and forwards everything."""

    def __init__(self, graph: Any) -> None:
        self._graph = graph
        self.reads: list[tuple[str, dict[str, Any]]] = []
        self.writes: list[tuple[str, dict[str, Any]]] = []

    def query(self, q: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        self.writes.append((q, dict(params or {})))
        return self._graph.query(q, params, **kw)

    def ro_query(self, q: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        self.reads.append((q, dict(params or {})))
        return self._graph.ro_query(q, params, **kw)

    def clear(self) -> None:
        self.reads.clear()
        self.writes.clear()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._graph, name)


# -- the sync unit behind the async API -----------------------------------------------------


class GraphRepository:
    """A sync repository whose read-backed methods are coroutines (``add``/``remove`` stay plain)."""

    _PLAIN = frozenset(
        {"add", "remove", "entity_type", "mapping", "upsert", "upsert_many"}
        | {"update_where", "delete_where"}
    )

    def __init__(self, repository: Any) -> None:
        self.sync = repository

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.sync, name)
        if name in self._PLAIN or not callable(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            return attr(*args, **kwargs)

        return call


class GraphUnit:
    """A sync ``UnitOfWork`` with the ``AsyncUnitOfWork`` API, ``async with`` included."""

    def __init__(self, unit: UnitOfWork) -> None:
        self.sync = unit

    async def __aenter__(self) -> GraphUnit:
        self.sync.__enter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.sync.__exit__(exc_type, exc, tb)

    @property
    def is_active(self) -> bool:
        return self.sync.is_active

    @property
    def has_pending_changes(self) -> bool:
        return self.sync.has_pending_changes

    def repository(self, entity_type: type) -> GraphRepository:
        return GraphRepository(self.sync.repository(entity_type))

    def add(self, entity: Any) -> None:
        self.sync.add(entity)

    def delete(self, entity: Any) -> None:
        self.sync.delete(entity)

    async def get(self, entity_type: type, key: Any) -> Any:
        return self.sync.get(entity_type, key)

    async def flush(self) -> None:
        self.sync.flush()

    async def commit(self) -> None:
        self.sync.commit()

    async def plan(self) -> Any:
        return self.sync.plan()

    def listen(self, event: str, handler: Any, **options: Any) -> None:
        self.sync.listen(event, handler, **options)

    async def rollback(self) -> None:
        self.sync.rollback()

    async def close(self) -> None:
        self.sync.close()


def open_unit(harness: Any, registry: Registry, **options: Any) -> Any:
    """A unit of ``harness``'s variant on its (recorded) graph, with the async API."""
    unit = harness.unit(registry, **options)
    if isinstance(unit, AsyncUnitOfWork):
        return unit
    return GraphUnit(unit.sync)


def prepare(graph: Any) -> Registry:
    """A fresh registry of the graph domain, its schema in place on ``graph``."""
    registry = graph_registry()
    ensure_schema(graph, registry)
    return registry
