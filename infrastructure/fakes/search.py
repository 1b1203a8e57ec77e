"""Vector and full-text searches over the in-memory store.

``nearest`` is exact: every stored vector of the field is scored with the
server's formula (cosine: ``1 - cos``; euclidean: the L2 distance), the
``k`` nearest are taken (ties by key), then ``where`` filters them, as the
server's ``WHERE`` after ``queryNodes`` does. The server's index is
approximate (HNSW); on the small, well-separated data of service tests it
answers the same.

``search`` answers a documented subset of the server's full-text search:
an entity matches when the words of its full-text fields (``search.words``:
Unicode letters, digits and ``_``, ASCII letters lowered) hold every term,
or, with ``prefix``, a word starting with each term of two characters or
more. Not reproduced: stemming (the server's English stemmer matches
``graphs`` for ``graph``) and its scores; the score here is how many times
the terms occur in those fields, so only clear-cut orders agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from infrastructure.persistence.criteria import Criterion
from infrastructure.persistence.mapping import EntityMapping
from infrastructure.persistence.search import holds_terms, words
from infrastructure.persistence.vectors import DISTANCES

from .graph import Props, copied

Rows = list[list[Any]]


def _row(mapping: EntityMapping[Any], props: Props, score: float) -> list[Any]:
    version = props.get(mapping.version_property, 0) if mapping.version_property else 0
    return [*(copied(props.get(p)) for p in mapping.properties), version, score]


def nearest_rows(
    mapping: EntityMapping[Any],
    table: Mapping[Any, Props],
    field: str,
    vector: Sequence[float],
    k: int,
    where: Criterion,
) -> Rows:
    """Rows of ``projection`` + distance for the ``k`` nearest, then those matching ``where``."""
    distance = DISTANCES[mapping.vectors[field].similarity]
    scored = []
    for key, props in table.items():
        stored = props.get(field)
        if isinstance(stored, list) and len(stored) == len(vector):
            scored.append((distance(stored, vector), str(key), props))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [
        _row(mapping, props, score)
        for score, _, props in scored[:k]
        if where.evaluate(mapping, props) is True
    ]


def _occurrences(props: Props, terms: Sequence[str], fields: Sequence[str], prefix: bool) -> int:
    found = [w for f in fields if isinstance(props.get(f), str) for w in words(props[f])]
    return sum(
        1 for w in found for t in terms if w == t or (prefix and len(t) >= 2 and w.startswith(t))
    )


def text_search_rows(
    mapping: EntityMapping[Any],
    table: Mapping[Any, Props],
    terms: Sequence[str],
    fields: Sequence[str],
    prefix: bool,
    k: int,
) -> Rows:
    """Rows of ``projection`` + score for up to ``k`` matches, best first (ties by key)."""
    hits = [
        (float(_occurrences(props, terms, fields, prefix)), str(key), props)
        for key, props in table.items()
        if holds_terms(props, terms, fields, prefix)
    ]
    hits.sort(key=lambda item: (-item[0], item[1]))
    return [_row(mapping, props, score) for score, _, props in hits[:k]]
