"""Vector fields and nearest() against the real server: vecf32 writes the index sees."""

from __future__ import annotations

import math
import uuid
from array import array
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from infrastructure.persistence import (
    F,
    MappingError,
    Registry,
    SearchQueryError,
    ValueEncodingError,
    Vector,
    as_vector,
    ensure_schema,
)
from infrastructure.persistence.vectors import cosine_distance
from tests.mappings import registry_of

if TYPE_CHECKING:
    from tests.integration.conftest import Harness


@dataclass
class Doc:
    id: uuid.UUID
    title: str
    lang: str
    embedding: list[float]
    extra: list[float] | None = None
    version: int = 0


@dataclass
class PlainDoc:  # the same shape, with the list not declared as a vector
    id: uuid.UUID
    embedding: list[float]


def doc_registry() -> Registry:
    registry = registry_of(
        Doc,
        vectors={"embedding": Vector(3, "cosine"), "extra": Vector(2, "euclidean")},
    )
    registry.map(PlainDoc, key="id")
    return registry


@pytest.fixture
def docs(harness: Harness) -> Registry:
    registry = doc_registry()
    ensure_schema(harness.graph, registry)
    # The plain list gets a vector index too: only what is stored as vecf32 is in it.
    harness.graph.query(
        "CREATE VECTOR INDEX FOR (n:PlainDoc) ON (n.embedding) "
        "OPTIONS {dimension: 3, similarityFunction: 'cosine'}"
    )
    return registry


def doc(title: str, vector: list[float], lang: str = "en", **kw: Any) -> Doc:
    return Doc(uuid.uuid4(), title, lang, vector, **kw)


def indexed(graph: Any, label: str, vector: list[float], k: int = 10) -> list[str]:
    """What the vector index itself answers, outside the layer: keys, nearest first.

    It asks for 10 more than ``k``: after a vector property is removed the
    index can hold stale entries that count against the number asked for.
    """
    rows = graph.query(
        f"CALL db.idx.vector.queryNodes('{label}', 'embedding', $k, vecf32($q)) "
        "YIELD node, score RETURN node.id ORDER BY score",
        {"k": k + 10, "q": vector},
    ).result_set
    return [r[0] for r in rows][:k]


def kinds(graph: Any, label: str, prop: str) -> set[str]:
    rows = graph.query(f"MATCH (n:{label}) RETURN typeOf(n.{prop})").result_set
    return {r[0] for r in rows}


async def test_vectors_written_by_a_commit_are_found_by_the_index_and_a_plain_list_never_is(
    harness: Harness, docs: Registry
) -> None:
    a, b = doc("a", [1.0, 0.0, 0.0]), doc("b", [0.0, 1.0, 0.0], extra=[3.0, 4.0])
    plain = PlainDoc(uuid.uuid4(), [1.0, 0.0, 0.0])
    async with harness.unit(docs) as uow:
        uow.add(a)
        uow.add(b)
        uow.add(plain)
    assert indexed(harness.graph, "Doc", [1.0, 0.1, 0.0]) == [str(a.id), str(b.id)]
    assert kinds(harness.graph, "Doc", "embedding") == {"Vectorf32"}
    assert kinds(harness.graph, "Doc", "extra") == {"Vectorf32", "Null"}
    assert indexed(harness.graph, "PlainDoc", [1.0, 0.0, 0.0]) == []
    assert kinds(harness.graph, "PlainDoc", "embedding") == {"List"}

    # Updates keep the vecf32 type: a vector changed, a vector untouched, a vector removed.
    async with harness.unit(docs) as uow:
        repo = uow.repository(Doc)
        first, second = await repo.get_many([a.id, b.id])
        first.embedding = [0.0, 0.0, 1.0]
        second.title = "b2"
        second.extra = None
    assert indexed(harness.graph, "Doc", [0.0, 0.0, 1.0], k=1) == [str(a.id)]
    assert indexed(harness.graph, "Doc", [0.0, 1.0, 0.0], k=1) == [str(b.id)]
    assert kinds(harness.graph, "Doc", "embedding") == {"Vectorf32"}
    assert harness.stored("Doc", str(b.id))["title"] == "b2"  # type: ignore[index]
    assert "extra" not in harness.stored("Doc", str(b.id))  # type: ignore[operator]
    # The server's index now answers nothing for k=1 (a stale entry takes the place);
    # nearest() still returns the nearest.
    raw = harness.graph.query(
        "CALL db.idx.vector.queryNodes('Doc', 'embedding', 1, vecf32([0.0, 1.0, 0.0])) "
        "YIELD node RETURN node.id"
    ).result_set
    async with harness.unit(docs) as uow:
        hits = await uow.repository(Doc).nearest("embedding", [0.0, 1.0, 0.0], k=1)
    assert [str(e.id) for e, _ in hits] == [str(b.id)]
    assert len(raw) <= 1


async def test_vectors_read_back_as_float32_and_a_read_only_unit_writes_nothing(
    harness: Harness, docs: Registry
) -> None:
    written = doc("a", [0.1, 0.2, 0.3], extra=[1e-3, 7.7])
    async with harness.unit(docs) as uow:
        uow.add(written)
    # Another client writes a vector of values float32 cannot hold exactly.
    other = uuid.uuid4()
    harness.graph.query(
        "CREATE (:Doc {id: $id, title: 'raw', lang: 'en', version: 1, "
        "embedding: vecf32([0.123456789, 1.1, -2.2])})",
        {"id": str(other)},
    )
    harness.log.clear()
    async with harness.unit(docs) as uow:
        loaded = await uow.repository(Doc).get_many([written.id, other])
        for entity in loaded:  # float32 values exactly, as the server holds them
            assert entity.embedding == array("f", entity.embedding).tolist()
        assert loaded[0].embedding == pytest.approx([0.1, 0.2, 0.3], rel=1e-7)
        assert loaded[0].extra == pytest.approx([1e-3, 7.7], rel=1e-7)
        assert loaded[1].embedding == pytest.approx([0.123456789, 1.1, -2.2], rel=1e-7)
        assert not uow.has_pending_changes
        # Assigning the same values as float64 is no change either: they round alike.
        loaded[0].embedding = [0.1, 0.2, 0.3]
        assert not uow.has_pending_changes
    assert harness.log.writes == []


@pytest.mark.parametrize(
    ("vector", "why"),
    [
        ([1.0, 2.0], "it has 2 values"),
        ([1.0, 2.0, 3.0, 4.0], "it has 4 values"),
        ([1.0, math.nan, 0.0], "value 1"),
        ([math.inf, 0.0, 0.0], "value 0"),
        ([1e39, 0.0, 0.0], "value 0"),
        ([1.0, "x", 0.0], "'x' is not a number"),
        ("abc", "not a sequence"),
        ([0.0, 0.0, 0.0], "every value is 0"),
        (None, "not optional"),
    ],
)
async def test_a_bad_vector_is_refused_naming_entity_key_and_field_before_any_write(
    harness: Harness, docs: Registry, vector: Any, why: str
) -> None:
    good, bad = doc("good", [1.0, 0.0, 0.0]), doc("bad", vector)
    harness.log.clear()
    unit = harness.unit(docs)
    unit.add(good)
    unit.add(bad)
    with pytest.raises(ValueEncodingError) as caught:
        await unit.commit()
    await unit.close()
    message = str(caught.value)
    assert f"Doc[{bad.id!r}].embedding" in message
    assert why in message
    assert harness.log.writes == []
    assert harness.count("Doc") == 0


async def test_criteria_on_a_vector_are_refused(harness: Harness, docs: Registry) -> None:
    async with harness.unit(docs) as uow:
        repo = uow.repository(Doc)
        for where in (F("embedding") == [1.0, 0.0, 0.0], F("embedding") > [0.0, 0.0, 0.0]):
            with pytest.raises(MappingError, match="is a vector"):
                await repo.find(where)
        with pytest.raises(MappingError, match="embedding"):
            await repo.find(order_by="embedding")
        assert await repo.find(F("extra").is_null()) == []


# -- nearest ----------------------------------------------------------------------------


def on_circle(i: int, n: int) -> list[float]:
    angle = math.pi / 2 * i / n  # 0 .. 90 degrees from the x axis
    return [math.cos(angle), math.sin(angle), 0.0]


async def test_nearest_returns_tracked_entities_in_distance_order(
    harness: Harness, docs: Registry
) -> None:
    stored = [doc(f"d{i}", on_circle(i, 20)) for i in range(20)]
    async with harness.unit(docs) as uow:
        for d in stored:
            uow.add(d)
    query = [1.0, 0.0, 0.0]
    async with harness.unit(docs) as uow:
        repo = uow.repository(Doc)
        already = await repo.get(stored[3].id)
        hits = await repo.nearest("embedding", query, k=5)
        assert [e.title for e, _ in hits] == ["d0", "d1", "d2", "d3", "d4"]
        distances = [d for _, d in hits]
        assert distances == sorted(distances)
        for entity, distance in hits:
            assert distance == pytest.approx(cosine_distance(entity.embedding, query), abs=1e-6)
        assert hits[3][0] is already
        assert await repo.get(stored[0].id) is hits[0][0]
        euclid = await repo.nearest("extra", [0.0, 0.0], k=3)
        assert euclid == []  # no document has the optional vector


async def test_nearest_honours_k_with_a_filter_that_few_candidates_pass(
    harness: Harness, docs: Registry
) -> None:
    # Only every tenth document is German, and the German ones are the farthest.
    stored = [doc(f"d{i}", on_circle(i, 60), "de" if i % 10 == 9 else "en") for i in range(60)]
    async with harness.unit(docs) as uow:
        for d in stored:
            uow.add(d)
    async with harness.unit(docs) as uow:
        hits = await uow.repository(Doc).nearest(
            "embedding", [1.0, 0.0, 0.0], k=4, where=F("lang") == "de"
        )
        assert [e.title for e, _ in hits] == ["d9", "d19", "d29", "d39"]
        everything = await uow.repository(Doc).nearest(
            "embedding", [1.0, 0.0, 0.0], k=50, where=F("lang") == "de"
        )
        assert [e.title for e, _ in everything] == ["d9", "d19", "d29", "d39", "d49", "d59"]


async def test_nearest_sees_the_units_pending_changes(harness: Harness, docs: Registry) -> None:
    stored = [doc(f"d{i}", on_circle(i, 10)) for i in range(10)]
    async with harness.unit(docs) as uow:
        for d in stored:
            uow.add(d)
    async with harness.unit(docs) as uow:
        repo = uow.repository(Doc)
        first, second, far = await repo.get_many([stored[0].id, stored[1].id, stored[9].id])
        uow.delete(first)  # the nearest one: gone
        second.lang = "de"  # filtered out now
        far.embedding = [1.0, 0.01, 0.0]  # moved next to the query
        fresh = doc("fresh", [1.0, 0.0, 0.0])  # new, exactly on the query
        uow.add(fresh)
        hits = await repo.nearest("embedding", [1.0, 0.0, 0.0], k=3, where=F("lang") == "en")
        assert [e.title for e, _ in hits] == ["fresh", "d9", "d2"]
        assert hits[0][1] == pytest.approx(0.0, abs=1e-6)
        assert hits[1][0] is far
    assert harness.count("Doc") == 10  # and the commit wrote it all


async def test_nearest_refuses_bad_arguments_and_reports_a_missing_index(
    harness: Harness,
) -> None:
    registry = doc_registry()  # and no ensure_schema: no vector index
    async with harness.unit(registry) as uow:
        uow.add(doc("a", [1.0, 0.0, 0.0]))
    async with harness.unit(registry) as uow:
        repo = uow.repository(Doc)
        with pytest.raises(MappingError, match="not a vector field"):
            await repo.nearest("title", [1.0, 0.0, 0.0])
        with pytest.raises(ValueEncodingError, match="query vector"):
            await repo.nearest("embedding", [1.0, 0.0])
        with pytest.raises(ValueError, match="k must be"):
            await repo.nearest("embedding", [1.0, 0.0, 0.0], k=0)
        with pytest.raises(SearchQueryError, match="vector index"):
            await repo.nearest("embedding", [1.0, 0.0, 0.0])


async def test_vectors_other_clients_stored_are_loaded_and_only_written_when_the_entity_changes(
    harness: Harness, docs: Registry
) -> None:
    as_list, too_short = uuid.uuid4(), uuid.uuid4()
    # A plain List (no vecf32) and a vector of the wrong dimension, from the raw client.
    harness.graph.query(
        "CREATE (:Doc {id: $a, title: 'list', lang: 'en', version: 1, embedding: [0.1, 0.2, 0.3]}),"
        " (:Doc {id: $b, title: 'short', lang: 'en', version: 1, embedding: vecf32([1.0, 2.0])})",
        {"a": str(as_list), "b": str(too_short)},
    )
    harness.log.clear()
    async with harness.unit(docs) as uow:
        listed, short = await uow.repository(Doc).get_many([as_list, too_short])
        assert listed.embedding == array("f", [0.1, 0.2, 0.3]).tolist()
        assert short.embedding == [1.0, 2.0]
    assert harness.log.writes == []  # loaded, untouched: nothing written
    assert indexed(harness.graph, "Doc", [0.1, 0.2, 0.3]) == []

    async with harness.unit(docs) as uow:
        listed = await uow.repository(Doc).get(as_list)
        listed.title = "list, edited"  # the commit writes the vector as vecf32 with it
    assert kinds(harness.graph, "Doc", "embedding") == {"Vectorf32"}
    assert indexed(harness.graph, "Doc", [0.1, 0.2, 0.3]) == [str(as_list)]

    unit = harness.unit(docs)
    short = await unit.repository(Doc).get(too_short)
    short.title = "edited"
    with pytest.raises(ValueEncodingError, match="it has 2 values"):
        await unit.commit()
    await unit.close()


async def test_custom_queries_take_query_vectors_through_as_vector(
    harness: Harness, docs: Registry
) -> None:
    async with harness.unit(docs) as uow:
        uow.add(doc("a", [1.0, 0.0, 0.0]))
        uow.add(doc("b", [0.0, 1.0, 0.0]))
    probe = [math.cos(0.3), math.sin(0.3), 0.0]  # 17 significant digits
    text = (
        "CALL db.idx.vector.queryNodes('Doc', 'embedding', 2, vecf32($q)) YIELD node, score "
        "RETURN node, score ORDER BY score"
    )
    async with harness.unit(docs) as uow:
        repo = uow.repository(Doc)
        rows = await repo.query(text, q=as_vector(probe))
        assert [d.title for d, _ in rows] == ["a", "b"]
        assert rows[0][0] is await repo.get(rows[0][0].id)
        with pytest.raises(ValueEncodingError, match="15 significant digits"):
            await repo.query(text, q=probe)
        with pytest.raises(ValueEncodingError, match="finite"):
            as_vector([math.nan])
