"""Semantic search: notes with embeddings, found by meaning, by words, and near a person.

Notes carry an embedding (a plain ``list[float]`` in the class) declared as
a vector field, and their title and body are full-text fields. The
embeddings here are deterministic, from hashed words (no model to
download): notes sharing words point the same way. ``ensure_schema``
creates the vector and full-text indexes; ``nearest`` and ``search`` return
tracked entities with their distance or score; a custom query runs a vector
search and a graph traversal in one round trip ("notes about X written by Y
or Y's friends").
"""

from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import dataclass, field

from _support import example_database, example_graph

from infrastructure.persistence import (
    F,
    Registry,
    Repository,
    UnitOfWork,
    Vector,
    as_vector,
    ensure_schema,
    to_many,
    to_one,
)
from infrastructure.persistence.search import words

DIMENSION = 64


def embed(text: str) -> list[float]:
    """A unit vector from the text's words: each word adds +1 or -1 at a hashed position."""
    values = [0.0] * DIMENSION
    for word in words(text):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        values[int.from_bytes(digest[:4], "little") % DIMENSION] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


@dataclass
class Author:
    id: uuid.UUID
    name: str
    friends: list[Author] = field(default_factory=list, repr=False, compare=False)


@dataclass
class Note:
    id: uuid.UUID
    title: str
    body: str
    embedding: list[float] = field(repr=False)
    lang: str = "en"
    author: Author | None = field(default=None, repr=False, compare=False)

    @classmethod
    def write(cls, author: Author, title: str, body: str, lang: str = "en") -> Note:
        return cls(uuid.uuid4(), title, body, embed(f"{title} {body}"), lang, author)


registry = Registry()
registry.map(
    Author, key="id", relationships={"friends": to_many(Author, "FRIEND", direction="both")}
)
registry.map(
    Note,
    key="id",
    vectors={"embedding": Vector(DIMENSION, "cosine")},
    fulltext=["title", "body"],
    relationships={"author": to_one(Author, "WROTE", direction="in")},
)


class NotesUnit(UnitOfWork):
    notes: Repository[Note]
    authors: Repository[Author]


# A vector search, then a walk through the graph: notes near the query, written by
# the person or by one of their friends.
ABOUT_NEAR = (
    "CALL db.idx.vector.queryNodes('Note', 'embedding', $k, vecf32($q)) YIELD node, score "
    "MATCH (node)<-[:WROTE]-(writer:Author) "
    "WHERE writer.id = $person OR (writer)-[:FRIEND]-(:Author {id: $person}) "
    "RETURN node, writer.name, score ORDER BY score LIMIT $limit"
)


def main() -> None:
    with example_database() as db, example_graph(db, "semantic") as graph:
        report = ensure_schema(graph, registry)
        kinds = sorted({item.kind for item in report.created})
        print(f"indexes created: {', '.join(kinds)}")

        ada, bob, cyd = (Author(uuid.uuid4(), name) for name in ("Ada", "Bob", "Cyd"))
        ada.friends.append(bob)
        with NotesUnit(graph, registry) as uow:
            for author in (ada, bob, cyd):
                uow.authors.add(author)
            for author, title, body, lang in [
                (ada, "Graph databases", "nodes and edges stored as sparse matrices", "en"),
                (bob, "Graph queries", "Cypher queries over nodes and edges", "en"),
                (cyd, "Sourdough bread", "flour, water, salt and patience", "en"),
                (cyd, "Graph theory", "nodes, edges and paths for beginners", "en"),
                (bob, "Brot backen", "Mehl, Wasser und Salz", "de"),
            ]:
                uow.notes.add(Note.write(author, title, body, lang))

        with NotesUnit(graph, registry) as uow:
            query = embed("nodes and edges")
            similar = uow.notes.nearest("embedding", query, k=3)
            print("nearest 'nodes and edges':", ", ".join(n.title for n, _ in similar))
            distances = [d for _, d in similar]
            print(f"distances ascending: {distances == sorted(distances)}")
            same = uow.notes.find_one_by(title=similar[0][0].title)
            print(f"a found note is the unit's object: {same is similar[0][0]}")
            german = uow.notes.nearest("embedding", query, k=1, where=F("lang") == "de")
            print("nearest German note:", german[0][0].title)

            found = uow.notes.search("GRAPH")
            print("search 'GRAPH':", ", ".join(sorted(n.title for n, _ in found)))
            hostile = uow.notes.search('sparse -"matrices" `*`')  # "-" negates nothing here
            print("hostile text:", ", ".join(n.title for n, _ in hostile))
            print("prefix 'sour':", uow.notes.search("sour", prefix=True)[0][0].title)
            fused = uow.notes.hybrid("bread", "embedding", embed("flour water"), k=2)
            print("hybrid 'bread' + 'flour water':", ", ".join(n.title for n, _ in fused))

            # as_vector: float32 values, sent exactly (plain float parameters are limited
            # to the 15 significant digits the server keeps).
            rows = uow.notes.query(ABOUT_NEAR, k=5, q=as_vector(query), person=ada.id, limit=2)
            print(
                "about 'nodes and edges', near Ada:",
                ", ".join(f"{note.title} by {writer}" for note, writer, _ in rows),
            )
            print(f"has pending changes after searching: {uow.has_pending_changes}")


if __name__ == "__main__":
    main()
