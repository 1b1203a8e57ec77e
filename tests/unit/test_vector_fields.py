"""Vector fields without a server: mapping, codec, commit text, distances, fusion, words."""

from __future__ import annotations

import math
import uuid
from array import array
from dataclasses import dataclass

import pytest

from infrastructure.persistence import MappingError, Registry, ValueEncodingError, Vector
from infrastructure.persistence.planner import plan_commit
from infrastructure.persistence.search import fulltext_query, fuse, holds_terms, words
from infrastructure.persistence.state import UnitState
from infrastructure.persistence.vectors import cosine_distance, euclidean_distance
from infrastructure.server.cypher import header
from tests.mappings import registry_of


@dataclass
class Doc:
    id: uuid.UUID
    title: str
    embedding: list[float]
    extra: list[float] | None = None
    version: int = 0


def registry() -> Registry:
    reg = registry_of(
        Doc,
        vectors={"embedding": Vector(3), "extra": Vector(2, "euclidean")},
        fulltext=["title"],
    )
    return reg


def test_declarations_are_checked_when_mapping() -> None:
    @dataclass
    class Bad:
        id: str
        vec: list[int]
        text: int = 0

    with pytest.raises(MappingError, match="list\\[float\\]"):
        Registry().map(Bad, key="id", vectors={"vec": Vector(2)})
    with pytest.raises(MappingError, match="not a stored field"):
        Registry().map(Bad, key="id", vectors={"nope": Vector(2)})
    with pytest.raises(MappingError, match="full-text field must be a str"):
        Registry().map(Bad, key="id", fulltext=["text"])
    with pytest.raises(MappingError, match="dimension must be a positive int"):
        Vector(0)
    with pytest.raises(MappingError, match="similarity"):
        Vector(3, "dot")  # type: ignore[arg-type]


def test_vectors_encode_as_float32_and_refuse_what_cannot_be_indexed() -> None:
    codec = registry().mapping_for(Doc).codec_of("embedding")
    encoded = codec.encode([0.1, 2, -3.5])
    assert encoded == array("f", [0.1, 2.0, -3.5]).tolist()
    assert all(type(v) is float for v in encoded)
    assert codec.encode((1.0, 0.0, 0.0)) == [1.0, 0.0, 0.0]
    assert codec.encode(codec.decode(encoded)) == encoded
    for bad in ([1.0], [True, 0.0, 0.0], [math.nan, 0.0, 0.0], [3.5e38, 0.0, 0.0], "abc", 3):
        with pytest.raises(ValueEncodingError):
            codec.encode(bad)
    # 3.4e38 is float32's largest; a value that rounds within it passes
    assert codec.encode([3.4e38, 0.0, 0.0])[0] == pytest.approx(3.4e38, rel=1e-6)


def test_the_commit_writes_vectors_through_vecf32_grouped_by_what_changed() -> None:
    unit = UnitState(registry())
    mapping = unit.registry.mapping_for(Doc)
    unit.add(Doc(uuid.uuid4(), "new", [1.0, 0.0, 0.0]))
    rows = [
        (*mapping.encode(Doc(uuid.uuid4(), f"d{i}", [1.0, 0.0, 0.0], [1.0, 2.0])), 1)
        for i in range(3)
    ]
    a, b, c = unit.load_rows(mapping, rows)
    a.embedding = [0.0, 1.0, 0.0]
    b.title = "plain"
    c.embedding, c.extra = [0.0, 0.0, 1.0], None
    planned = plan_commit(unit.changes())
    assert planned is not None
    text = planned.query
    assert "CREATE (n:Doc {id: row[0], title: row[1], embedding: vecf32(row[2]), " in text
    assert "extra: vecf32(row[3])" in text
    assert "SET n += row.p, n.version = row.v + 1" in text  # b: no vector changed
    assert "SET n += row.p, n.embedding = vecf32(row.x0), n.version" in text  # a
    assert "n.embedding = vecf32(row.x0), n.extra = vecf32(row.x1)" in text  # c
    by_vector = planned.params["update_Doc_v_embedding"]
    assert by_vector[0]["x0"] == [0.0, 1.0, 0.0]
    assert by_vector[0]["p"] == {}
    both = planned.params["update_Doc_v_embedding_extra"][0]
    assert both["x1"] is None
    assert "embedding" not in both["p"]
    # Vectors travel as short, exact float32 literals.
    assert header({"v": mapping.encode(a)[2]}) == "CYPHER v=[0,1,0] "
    assert header({"v": mapping.codec_of("embedding").encode([0.1, 0.2, 0.3])}) == (
        "CYPHER v=[0.100000001,0.200000003,0.300000012] "
    )


def test_criteria_and_ordering_refuse_vectors() -> None:
    from infrastructure.persistence import F
    from infrastructure.persistence.criteria import parse_order

    mapping = registry().mapping_for(Doc)
    with pytest.raises(MappingError, match="is a vector"):
        (F("embedding") == [1.0, 0.0, 0.0]).compile(mapping, {})
    with pytest.raises(MappingError):
        parse_order(mapping, "embedding")
    assert F("extra").is_null().compile(mapping, {}) == "n.extra IS NULL"


def test_distances_are_the_servers() -> None:
    assert cosine_distance([1.0, 0.0], [0.0, 1.0]) == pytest.approx(1.0)
    assert cosine_distance([1.0, 1.0], [2.0, 2.0]) == pytest.approx(0.0)
    assert euclidean_distance([0.0, 0.0], [3.0, 4.0]) == 5.0  # not squared


def test_words_queries_and_matching() -> None:
    assert words("Hello, wörld! user@example.com x-ray *") == (
        "hello",
        "wörld",
        "user",
        "example",
        "com",
        "x",
        "ray",
    )
    assert fulltext_query(["graph", "db"]) == "graph db"
    assert (
        fulltext_query(["graph", "d"], ["title", "body"], prefix=True) == "@title|body:(graph* d)"
    )
    values = {"title": "Graph databases", "body": None}
    assert holds_terms(values, ["graph"], ["title", "body"], False)
    assert not holds_terms(values, ["data"], ["title"], False)
    assert holds_terms(values, ["data"], ["title"], True)
    assert not holds_terms(values, ["d"], ["title"], True)  # prefixes need two characters


def test_reciprocal_rank_fusion() -> None:
    a, b, c = object(), object(), object()
    fused = fuse([[(a, 0.1), (b, 0.2)], [(b, 9.0), (c, 3.0)]], k=3)
    assert [e for e, _ in fused] == [b, a, c]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)
    assert fuse([[(a, 0.0)]], k=0) == []
