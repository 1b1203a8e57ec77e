"""Full-text search(), hybrid() and the schema of both index kinds against the real server."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from infrastructure.persistence import (
    F,
    MappingError,
    Registry,
    SchemaItem,
    Vector,
    describe_schema,
    ensure_schema,
)
from infrastructure.persistence.schema import format_report
from infrastructure.persistence.search import fulltext_query, holds_terms, words

if TYPE_CHECKING:
    from tests.integration.conftest import Harness


@dataclass
class Article:
    id: uuid.UUID
    title: str
    body: str
    embedding: list[float]
    lang: str = "en"
    version: int = 0


def article_registry(dimension: int = 2, similarity: Any = "cosine") -> Registry:
    registry = Registry()
    registry.map(
        Article,
        key="id",
        version="version",
        vectors={"embedding": Vector(dimension, similarity)},
        fulltext=["title", "body"],
    )
    return registry


CORPUS = [
    ("Graph databases", "FalkorDB stores property graphs in sparse matrices", [1.0, 0.0]),
    ("Vector search", "nearest neighbours over embeddings, HNSW indexes", [0.0, 1.0]),
    ("Cooking", "a recipe for bread, with flour and water", [0.7, 0.7]),
    ("Email etiquette", "write to user@example.com — never at 3am", [0.9, 0.1]),
    ("Café culture", "the naïve tourist orders a cappuccino after noon", [0.2, 0.8]),
]


@pytest.fixture
def articles(harness: Harness) -> Registry:
    registry = article_registry()
    ensure_schema(harness.graph, registry)
    return registry


async def seed(harness: Harness, registry: Registry) -> dict[str, Article]:
    made = {title: Article(uuid.uuid4(), title, body, vec) for title, body, vec in CORPUS}
    async with harness.unit(registry) as uow:
        for article in made.values():
            uow.add(article)
    return made


async def titles(harness: Harness, registry: Registry, text: str, **kw: Any) -> list[str]:
    async with harness.unit(registry) as uow:
        return [a.title for a, _ in await uow.repository(Article).search(text, **kw)]


def test_words_are_what_the_index_compares() -> None:
    assert words('He said "graph-databases" @home*, `rm -rf`') == (
        "he",
        "said",
        "graph",
        "databases",
        "home",
        "rm",
        "rf",
    )
    assert words("Café ÉCOLE 東京 foo_bar 3.14") == ("café", "École", "東京", "foo_bar", "3", "14")
    assert fulltext_query(("graph", "d"), ("title",), prefix=True) == "@title:(graph* d)"


async def test_search_finds_every_word_and_returns_tracked_entities_with_scores(
    harness: Harness, articles: Registry
) -> None:
    made = await seed(harness, articles)
    assert await titles(harness, articles, "graph") == ["Graph databases"]
    assert await titles(harness, articles, "GRAPH sparse") == ["Graph databases"]
    assert await titles(harness, articles, "graph bread") == []  # every word must be there
    async with harness.unit(articles) as uow:
        repo = uow.repository(Article)
        known = await repo.get(made["Cooking"].id)
        hits = await repo.search("bread flour")
        assert [(a, type(s)) for a, s in hits] == [(known, float)]
        assert hits[0][1] > 0


@pytest.mark.parametrize(
    "text",
    [
        "user@example.com",
        '"unbalanced quote',
        "graph -databases",
        "-",
        "*",
        "a*",
        "`backticks` and 'quotes'",
        "@title:(graph)",
        "(|)~{}[]:;$%^&!?<>=+/\\",
        "naïve Café 東京 \u200b\U0001f600",
        "%fuzzy%",
        "",
        "   ",
    ],
)
async def test_hostile_text_never_produces_a_syntax_error(
    harness: Harness, articles: Registry, text: str
) -> None:
    await seed(harness, articles)
    found = await titles(harness, articles, text)
    expected = {
        "user@example.com": ["Email etiquette"],
        "graph -databases": ["Graph databases"],  # "-" is no negation: both words match
        "a*": ["Café culture", "Cooking"],  # the word "a"
        # The words "title" and "graph": no field selection, no article has both.
        "@title:(graph)": [],
    }
    assert sorted(found) == expected.get(text, [])


async def test_search_narrows_to_fields_matches_prefixes_and_unicode(
    harness: Harness, articles: Registry
) -> None:
    await seed(harness, articles)
    assert await titles(harness, articles, "graph", fields=["title"]) == ["Graph databases"]
    assert await titles(harness, articles, "graphs", fields=["title"]) == ["Graph databases"]
    assert await titles(harness, articles, "sparse", fields=["title"]) == []
    assert await titles(harness, articles, "sparse", fields="body") == ["Graph databases"]
    assert await titles(harness, articles, "embed neighb", prefix=True) == ["Vector search"]
    assert await titles(harness, articles, "embed") == []
    assert await titles(harness, articles, "naïve café") == ["Café culture"]
    assert await titles(harness, articles, "CAFé") == ["Café culture"]
    assert await titles(harness, articles, "CAFÉ") == []  # only ASCII letters are lowered
    async with harness.unit(articles) as uow:
        repo = uow.repository(Article)
        with pytest.raises(MappingError, match="not among the full-text fields"):
            await repo.search("x", fields=["lang"])
        with pytest.raises(ValueError, match="k must be"):
            await repo.search("x", k=0)


async def test_search_honours_k_and_sees_the_units_pending_changes(
    harness: Harness, articles: Registry
) -> None:
    made = await seed(harness, articles)
    async with harness.unit(articles) as uow:
        many = [Article(uuid.uuid4(), f"notes {i}", "shared word", [1.0, 1.0]) for i in range(8)]
        for article in many:
            uow.add(article)
    async with harness.unit(articles) as uow:
        repo = uow.repository(Article)
        assert len(await repo.search("shared", k=3)) == 3
        graph, cooking = await repo.get_many([made["Graph databases"].id, made["Cooking"].id])
        cooking.body = "no more baking"  # no longer matches
        uow.delete(graph)
        fresh = Article(uuid.uuid4(), "Bread and graphs", "sourdough", [0.5, 0.5])
        uow.add(fresh)
        assert [a for a, _ in await repo.search("bread")] == [fresh]
        assert await repo.search("sourdough") == [(fresh, 0.0)]
        assert await repo.search("sparse") == []  # its only article is deleted in the unit


# -- hybrid ---------------------------------------------------------------------------


async def test_hybrid_fuses_nearest_and_search_by_reciprocal_rank(
    harness: Harness, articles: Registry
) -> None:
    made = await seed(harness, articles)
    async with harness.unit(articles) as uow:
        repo = uow.repository(Article)
        hits = await repo.hybrid("graph", "embedding", [1.0, 0.0], k=3)
        # Graph databases is first by both rankings; the others come from nearest alone.
        assert [a.title for a, _ in hits] == ["Graph databases", "Email etiquette", "Cooking"]
        assert hits[0][1] == pytest.approx(2 / 61)
        assert hits[1][1] == pytest.approx(1 / 62)
        filtered = await repo.hybrid(
            "graph", "embedding", [1.0, 0.0], k=3, where=F("title") != "Graph databases"
        )
        assert made["Graph databases"].id not in {a.id for a, _ in filtered}


# -- schema -----------------------------------------------------------------------------


def test_ensure_schema_is_idempotent_for_vector_and_full_text_indexes(graph: Any) -> None:
    registry = article_registry()
    first = ensure_schema(graph, registry)
    searchable = {i for i in first.created if i.kind in ("VECTOR", "FULLTEXT")}
    assert searchable == {
        SchemaItem("VECTOR", "NODE", "Article", "embedding"),
        SchemaItem("FULLTEXT", "NODE", "Article", "title"),
        SchemaItem("FULLTEXT", "NODE", "Article", "body"),
    }
    again = ensure_schema(graph, registry)
    assert again.created == []
    assert again.in_sync
    assert describe_schema(graph, registry).in_sync
    lines = list(format_report(again))
    assert (
        "present  VECTOR (:Article).embedding {dimension 2, similarityFunction cosine, M 16, "
        "efConstruction 200, efRuntime 10}" in lines
    )
    assert "present  FULLTEXT (:Article).body" in lines


def test_a_different_vector_index_is_reported_and_never_dropped(graph: Any) -> None:
    graph.query(
        "CREATE VECTOR INDEX FOR (n:Article) ON (n.embedding) "
        "OPTIONS {dimension: 3, similarityFunction: 'euclidean'}"
    )
    graph.query("CREATE FULLTEXT INDEX FOR (n:Article) ON (n.title, n.summary)")
    report = ensure_schema(graph, article_registry())
    assert [(d.property, s.detail) for d, s in report.different] == [
        (
            "embedding",
            "dimension 3, similarityFunction euclidean, M 16, efConstruction 200, efRuntime 10",
        )
    ]
    assert SchemaItem("FULLTEXT", "NODE", "Article", "body") in report.created
    assert report.undeclared == [SchemaItem("FULLTEXT", "NODE", "Article", "summary")]
    assert not report.in_sync
    assert any(
        line.startswith("different  VECTOR (:Article).embedding") for line in format_report(report)
    )
    options = graph.query(
        "CALL db.indexes() YIELD label, options WHERE label = 'Article' RETURN options"
    ).result_set[0][0]
    assert options["embedding"]["dimension"] == 3  # still the operator's index


async def test_random_hostile_text_is_never_a_syntax_error_and_finds_what_holds_its_words(
    harness: Harness, articles: Registry
) -> None:
    await seed(harness, articles)
    stored = {title: {"title": title, "body": body} for title, body, _ in CORPUS}
    vocabulary = ["sparse", "bread", "flour", "water", "user", "example", "com", "naïve", "noon"]
    noise = [*"\"'`-@*|()~{}[]:;$%^&!?<>=+/\\,.#_ \t\n", "\u200b", "😀", "东", "\x7f"]
    rng = random.Random(13)
    async with harness.unit(articles) as uow:
        repo = uow.repository(Article)
        for _ in range(150):
            parts = [
                rng.choice(vocabulary) if rng.random() < 0.4 else "".join(rng.choices(noise, k=3))
                for _ in range(rng.randint(1, 5))
            ]
            text = "".join(parts)
            terms = words(text)
            expected = sorted(
                t
                for t, values in stored.items()
                if terms and holds_terms(values, terms, ("title", "body"), False)
            )
            found = sorted(a.title for a, _ in await repo.search(text))
            assert found == expected, text
