"""Loading relationships: eagerly in the same round trip, lazily in batches, never per entity.

Tests taking ``harness`` run with the sync and the async unit; the lazy
loading tests are sync-only (an async unit refuses to load on attribute
access, tested here too). Round trips are counted on the recorded graph.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest

from infrastructure.persistence import (
    AsyncUnitOfWork,
    F,
    MappingError,
    Registry,
    RelationshipNotLoadedError,
    UnitOfWork,
)
from tests.integration.graph_support import (
    Person,
    Pet,
    RecordingGraph,
    befriend,
    friends_of,
    open_unit,
    prepare,
)

if TYPE_CHECKING:
    from tests.integration.conftest import Harness

ALL = ["friendships", "follows", "followers", "pets"]
N = 100


def ring(n: int) -> list[Person]:
    """``n`` people, each a friend of the next (a ring) and following the one after next."""
    crowd = [Person(f"p{i:03}", f"P{i:03}", age=i % 7) for i in range(n)]
    for i, person in enumerate(crowd):
        befriend(person, crowd[(i + 1) % n], date(2020, 1, 1 + i % 28))
        person.follows.append(crowd[(i + 2) % n])
    crowd[0].pets.append(Pet("rex", "Rex"))
    return crowd


def expected_friends(i: int, n: int = N) -> list[str]:
    return sorted({f"p{(i + 1) % n:03}", f"p{(i - 1) % n:03}"})


def check_ring(found: list[Person]) -> None:
    for person in found:
        i = int(person.id[1:])
        assert friends_of(person) == expected_friends(i), person.id
        assert [p.id for p in person.follows] == [f"p{(i + 2) % N:03}"]


@pytest.fixture
def reg(harness: Harness) -> Registry:
    return prepare(harness.graph)


@pytest.fixture
async def crowd(harness: Harness, reg: Registry) -> list[Person]:
    stored = ring(N)
    async with open_unit(harness, reg) as uow:
        uow.add(stored[0])  # everyone else is reached through relationships
    harness.log.clear()
    return stored


# -- eager: the same round trip ---------------------------------------------------------------


async def test_get_with_load_fetches_every_named_relationship_in_one_round_trip(
    harness: Harness, reg: Registry, crowd: list[Person]
) -> None:
    async with open_unit(harness, reg) as uow:
        p0 = await uow.repository(Person).get("p000", load=ALL)
        rex = await uow.repository(Pet).get("rex", load=["owner"])
        assert len(harness.log.reads) == 2
        assert friends_of(p0) == expected_friends(0)
        assert [p.id for p in p0.follows] == ["p002"]
        assert [p.id for p in p0.followers] == [f"p{N - 2:03}"]
        assert p0.pets == [rex]
        assert p0.pets[0] is rex
        assert rex.owner is p0
    assert len(harness.log.reads) == 2
    assert harness.log.writes == []


FINDERS: dict[str, Callable[[Any], Awaitable[list[Person]]]] = {
    "list": lambda repo: repo.list(load=["friendships", "follows"]),
    "find": lambda repo: repo.find(F("age") >= 0, load=["friendships", "follows"]),
    "find_by": lambda repo: repo.find_by(load=["friendships", "follows"]),
    "get_many": lambda repo: repo.get_many(
        [f"p{i:03}" for i in range(N)], load=["friendships", "follows"]
    ),
    "keyset": lambda repo: _items(repo.keyset(limit=N, load=["friendships", "follows"])),
    "page": lambda repo: _items(repo.page(number=1, size=N, load=["friendships", "follows"])),
}


async def _items(answer: Awaitable[Any]) -> list[Person]:
    items: list[Person] = (await answer).items
    return items


@pytest.mark.parametrize("finder", list(FINDERS))
async def test_eager_loading_a_hundred_entities_is_one_round_trip(
    harness: Harness, reg: Registry, crowd: list[Person], finder: str
) -> None:
    async with open_unit(harness, reg) as uow:
        found = await FINDERS[finder](uow.repository(Person))
        reads = len(harness.log.reads)
        assert len(found) == N
        check_ring(found)
        assert len(harness.log.reads) == reads  # touching them sent nothing more
    # a page also counts its matches: that is its one extra read
    assert reads == (2 if finder == "page" else 1)
    assert harness.log.writes == []


async def test_load_related_fetches_one_relationship_for_all_entities_in_one_read(
    harness: Harness, reg: Registry, crowd: list[Person]
) -> None:
    async with open_unit(harness, reg) as uow:
        repo = uow.repository(Person)
        found = await repo.list()
        assert len(harness.log.reads) == 1
        await repo.load_related(found, "friendships", "follows")
        assert len(harness.log.reads) == 3  # one per relationship, not one per entity
        check_ring(found)
        await repo.load_related(found, "friendships", "follows")
        assert len(harness.log.reads) == 3  # already loaded: nothing to send


async def test_load_on_an_entity_the_unit_already_holds_reads_only_the_relationship(
    harness: Harness, reg: Registry, crowd: list[Person]
) -> None:
    async with open_unit(harness, reg) as uow:
        repo = uow.repository(Person)
        p5 = await repo.get("p005")
        again = await repo.get("p005", load=["friendships"])
        assert again is p5
        assert friends_of(p5) == expected_friends(5)
        assert len(harness.log.reads) == 2


async def test_loaded_targets_are_the_unit_s_objects_and_its_changes_win(
    harness: Harness, reg: Registry, crowd: list[Person]
) -> None:
    async with open_unit(harness, reg) as uow:
        repo = uow.repository(Person)
        p1 = await repo.get("p001")
        p1.name = "Edited here"
        p99 = await repo.get("p099")
        uow.delete(p99)
        p0 = await repo.get("p000", load=["friendships"])
        assert [f.friend for f in p0.friendships] == [p1]  # p099 is deleted in this unit
        assert p0.friendships[0].friend is p1
        assert p1.name == "Edited here"
        await uow.rollback()


@pytest.mark.parametrize(
    "name", ["enemies", "friendships] RETURN 1 //", "friendships, follows", "Friendships"]
)
async def test_loading_an_unknown_relationship_is_refused_before_anything_is_sent(
    harness: Harness, reg: Registry, name: str
) -> None:
    async with open_unit(harness, reg) as uow:
        repo = uow.repository(Person)
        for call in (
            lambda: repo.get("p000", load=[name]),
            lambda: repo.list(load=[name]),
            lambda: repo.find(F("age") > 1, load=["follows", name]),
            lambda: repo.load_related([], name),
        ):
            with pytest.raises(MappingError, match="has no relationship") as refused:
                await call()
            assert repr(name) in str(refused.value)
            assert "friendships" in str(refused.value)  # the known ones are listed
    assert harness.log.sent == []


# -- lazy: sync units load on first access, for the whole read at once ------------------------


@pytest.fixture
def recorded(graph: Any) -> tuple[RecordingGraph, Registry]:
    reg = prepare(graph)
    with UnitOfWork(graph, reg) as uow:
        uow.add(ring(N)[0])
    return RecordingGraph(graph), reg


def test_touching_one_entity_s_relationship_loads_it_for_everything_the_same_read_returned(
    recorded: tuple[RecordingGraph, Registry],
) -> None:
    graph, reg = recorded
    with UnitOfWork(graph, reg) as uow:
        found = uow.repository(Person).list()
        assert len(graph.reads) == 1
        friends = {p.id: friends_of(p) for p in found}  # the friendships of all 100
        assert len(graph.reads) == 2  # one more read in total, not one per entity
        assert friends == {f"p{i:03}": expected_friends(i) for i in range(N)}
        check_ring(found)  # and their follows
        assert len(graph.reads) == 3
        # the friends came with the first lazy read; their own relationships load together too
        friend = found[0].friendships[0].friend
        assert friend in found
        other = uow.repository(Person).get("p050")
        assert len(graph.reads) == 3  # from the identity map
        assert [p.id for p in other.followers] == ["p048"]
        assert len(graph.reads) == 4
        assert all(p.followers for p in found)
        assert len(graph.reads) == 4
    assert graph.writes == []


def test_lazy_loading_by_assignment_diffs_against_what_was_stored(
    recorded: tuple[RecordingGraph, Registry],
) -> None:
    graph, reg = recorded
    with UnitOfWork(graph, reg) as uow:
        p0 = uow.repository(Person).get("p000")
        p0.follows = [uow.repository(Person).get("p003")]  # loads, then replaces
    with UnitOfWork(graph, reg) as uow:
        assert [p.id for p in uow.repository(Person).get("p000").follows] == ["p003"]
        assert uow.repository(Person).get("p002").followers == []
        assert sorted(p.id for p in uow.repository(Person).get("p003").followers) == [
            "p000",
            "p001",
        ]


def test_an_unloaded_relationship_cannot_be_loaded_once_the_unit_closed(
    recorded: tuple[RecordingGraph, Registry],
) -> None:
    graph, reg = recorded
    with UnitOfWork(graph, reg) as uow:
        p0 = uow.repository(Person).get("p000", load=["follows"])
    assert [p.id for p in p0.follows] == ["p002"]  # loaded inside: still there
    with pytest.raises(RelationshipNotLoadedError) as refused:
        _ = p0.friendships
    message = str(refused.value)
    assert "Person['p000'].friendships" in message
    assert "closed" in message
    assert "load=['friendships']" in message


async def test_an_async_unit_refuses_to_load_on_attribute_access(
    graph: Any, async_client: Any, graph_name: str
) -> None:
    reg = prepare(graph)
    with UnitOfWork(graph, reg) as uow:
        uow.add(ring(10)[0])
    async with AsyncUnitOfWork(async_client.select_graph(graph_name), reg) as uow:
        repo = uow.repository(Person)
        p0 = await repo.get("p000", load=["follows"])
        assert [p.id for p in p0.follows] == ["p002"]
        with pytest.raises(RelationshipNotLoadedError) as refused:
            _ = p0.friendships
        message = str(refused.value)
        assert "Person['p000'].friendships" in message
        assert "async" in message
        assert "load_related" in message
        with pytest.raises(RelationshipNotLoadedError):
            p0.pets = []  # replacing needs what is stored too
        await repo.load_related([p0], "friendships", "pets")
        assert friends_of(p0) == ["p001", "p009"]
        assert [p.id for p in p0.pets] == ["rex"]
    with pytest.raises(RelationshipNotLoadedError, match="closed"):
        _ = p0.followers


def test_entities_from_a_custom_query_load_their_relationships_together(
    recorded: tuple[RecordingGraph, Registry],
) -> None:
    graph, reg = recorded
    with UnitOfWork(graph, reg) as uow:
        repo = uow.repository(Person)
        found = repo.query_entities("MATCH (n:Person) RETURN n ORDER BY n.id")
        pairs = repo.query("MATCH (a:Person)-[:FOLLOWS]->(b:Person) RETURN [a, b]")
        assert len(graph.reads) == 2
        check_ring(found)
        assert len(graph.reads) == 4  # one read per relationship, not one per entity
        assert all(a.follows == [b] for [[a, b]] in pairs)
        assert len(graph.reads) == 4
