"""nearest(), search() and hybrid(): the in-memory fakes answer as FalkorDB does.

Full-text searches stay inside the fakes' documented subset (whole words and
prefixes, no stemming, no score values compared).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from infrastructure.persistence import (
    F,
    Registry,
    ValueEncodingError,
    Vector,
)
from tests.mappings import registry_of
from tests.units import FOUR_WAYS, Units, units_of


@dataclass
class Note:
    id: uuid.UUID
    title: str
    body: str
    embedding: list[float]
    position: list[float] | None = None
    lang: str = "en"
    version: int = 0


def note_registry() -> Registry:
    registry = registry_of(
        Note,
        vectors={"embedding": Vector(3, "cosine"), "position": Vector(2, "euclidean")},
        fulltext=["title", "body"],
    )
    return registry


@pytest.fixture(params=FOUR_WAYS)
def sbe(request: pytest.FixtureRequest) -> Units:
    return units_of(request, note_registry())


def angle(degrees: float) -> list[float]:
    return [math.cos(math.radians(degrees)), math.sin(math.radians(degrees)), 0.0]


TEXTS = [
    ("Graph databases", "property graphs stored as sparse matrices"),
    ("Vector search", "nearest neighbours over embeddings"),
    ("Baking bread", "flour water salt and patience"),
    ("Graph theory", "vertices edges and paths, a short introduction"),
    ("Mail", "write to user@example.com before noon"),
]


async def seed(be: Units) -> list[Note]:
    notes = [
        Note(uuid.uuid4(), title, body, angle(i * 20), [float(i), 0.0], "de" if i % 2 else "en")
        for i, (title, body) in enumerate(TEXTS)
    ]
    async with be.unit() as uow:
        for note in notes:
            uow.add(note)
    return notes


async def test_nearest_returns_tracked_entities_by_distance(sbe: Units) -> None:
    notes = await seed(sbe)
    async with sbe.unit() as uow:
        repo = uow.repository(Note)
        known = await sbe.io(repo.get(notes[1].id))
        hits = await sbe.io(repo.nearest("embedding", angle(0), k=3))
        assert [n.title for n, _ in hits] == ["Graph databases", "Vector search", "Baking bread"]
        assert hits[1][0] is known
        assert [d for _, d in hits] == pytest.approx(
            [0.0, 1 - math.cos(math.radians(20)), 1 - math.cos(math.radians(40))], abs=1e-6
        )
        euclid = await sbe.io(repo.nearest("position", [2.4, 1.0], k=2))
        assert [n.title for n, _ in euclid] == ["Baking bread", "Graph theory"]
        assert [d for _, d in euclid] == pytest.approx(
            [math.hypot(0.4, 1.0), math.hypot(0.6, 1.0)], abs=1e-6
        )
        german = await sbe.io(repo.nearest("embedding", angle(0), k=2, where=F("lang") == "de"))
        assert [n.title for n, _ in german] == ["Vector search", "Graph theory"]


async def test_nearest_sees_pending_changes_and_refuses_a_bad_vector(sbe: Units) -> None:
    notes = await seed(sbe)
    async with sbe.unit() as uow:
        repo = uow.repository(Note)
        first, last = await sbe.io(repo.get_many([notes[0].id, notes[4].id]))
        uow.delete(first)
        last.embedding = angle(1)
        fresh = Note(uuid.uuid4(), "New", "text", angle(2))
        uow.add(fresh)
        hits = await sbe.io(repo.nearest("embedding", angle(0), k=3))
        assert [n for n, _ in hits] == [last, fresh, await sbe.io(repo.get(notes[1].id))]
        with pytest.raises(ValueEncodingError, match="query vector"):
            await sbe.io(repo.nearest("embedding", [1.0, 0.0]))
        last.embedding = [1.0, 2.0]
        with pytest.raises(ValueEncodingError, match=r"Note\[.*\]\.embedding"):
            await sbe.io(uow.commit())
        last.embedding = angle(1)


async def test_search_matches_words_and_prefixes_whatever_the_text(sbe: Units) -> None:
    await seed(sbe)

    async def titles(text: str, **kw: Any) -> list[str]:
        async with sbe.unit() as uow:
            return sorted(n.title for n, _ in await sbe.io(uow.repository(Note).search(text, **kw)))

    assert await titles("graph") == ["Graph databases", "Graph theory"]
    assert await titles("GRAPH sparse") == ["Graph databases"]
    assert await titles("databases", fields=["body"]) == []
    assert await titles("vertices", fields=["body"]) == ["Graph theory"]
    assert await titles("emb neighb", prefix=True) == ["Vector search"]
    assert await titles("intro") == []
    assert await titles("user@example.com") == ["Mail"]
    assert await titles('"graph" -theory `x`') == []
    assert await titles('"graph" -theory') == ["Graph theory"]
    assert await titles("@title:(bread)*") == []
    assert await titles("") == []
    async with sbe.unit() as uow:
        hits = await sbe.io(uow.repository(Note).search("graph", k=1))
        assert len(hits) == 1
        assert hits[0][1] > 0


async def test_search_sees_pending_changes(sbe: Units) -> None:
    notes = await seed(sbe)
    async with sbe.unit() as uow:
        repo = uow.repository(Note)
        databases, theory = await sbe.io(repo.get_many([notes[0].id, notes[3].id]))
        uow.delete(databases)
        theory.title = "Topology"
        fresh = Note(uuid.uuid4(), "Graph algorithms", "shortest paths", angle(5))
        uow.add(fresh)
        assert await sbe.io(repo.search("graph")) == [(fresh, 0.0)]


async def test_hybrid_ranks_what_both_rankings_agree_on_first(sbe: Units) -> None:
    await seed(sbe)
    async with sbe.unit() as uow:
        hits = await sbe.io(uow.repository(Note).hybrid("vertices", "embedding", angle(65), k=3))
        # Graph theory (60 degrees) is first by distance and the only one with the word.
        assert [n.title for n, _ in hits] == ["Graph theory", "Mail", "Baking bread"]
        assert [s for _, s in hits] == pytest.approx([2 / 61, 1 / 62, 1 / 63])
