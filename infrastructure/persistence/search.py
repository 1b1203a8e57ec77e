"""Vector and full-text search conversations: ``nearest``, ``search`` and their fusion.

Like every finder (see ``finders``), each is a generator yielding the reads
it needs, so the sync and async repositories share it, and each returns
tracked entities: the same objects as any other read of the unit.

Both see the unit's pending changes as ``find`` does. ``nearest`` asks the
vector index for enough candidates to survive every pending entity leaving,
then drops deleted ones and scores new and edited ones in Python with the
server's formula (cosine: ``1 - cos``; euclidean: the L2 distance). The
index has no pre-filter: a ``where`` criterion applies to the candidates it
returns, so ``nearest`` asks for more (four times as many, then more) until
``k`` match or every entity of the label was a candidate. It does the same
without a filter when the index answers fewer than asked: after a vector
property of a node is removed, FalkorDB 4.16 can keep stale entries that
count against ``k`` and are then left out of the answer.

``search`` sends user text as plain words: the text is split into words
(letters, digits and ``_``, Unicode included), so quotes, ``-``, ``@``,
``*``, backticks and other punctuation never reach RediSearch's query
parser. The server ranks what is stored; entities of the unit deleted, or
edited so that they no longer hold every word, are left out, and entities
added or edited to hold them come after the ranked ones with score 0.0
(their score is the server's to compute, at the next search after commit).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from redis import exceptions as redis_errors

from .conversation import Conversation
from .errors import MappingError, SearchQueryError, ValueEncodingError
from .identity import InstanceState, Status
from .mapping import EntityMapping
from .overlay import criterion, current_values, matches, pending_states
from .reads import Count, Nearest, Read, TextSearch, projection
from .state import UnitState
from .vectors import DISTANCES

T = TypeVar("T")

Hits = list[tuple[T, float]]

#: How many more candidates ``nearest`` asks for, each time a filter left fewer than k.
OVERFETCH = 4


@contextlib.contextmanager
def search_errors() -> Iterator[None]:
    """Turn the server's refusal of a search query into ``SearchQueryError``."""
    try:
        yield
    except redis_errors.ResponseError as exc:
        if "timed out" in str(exc).lower():
            raise
        hint = ""
        if "Invalid arguments for procedure 'db.idx.vector" in str(exc):
            hint = " (is there a vector index on that field? ensure_schema creates it)"
        raise SearchQueryError(f"the server refused the search: {exc}{hint}") from exc


def _check_k(k: Any) -> int:
    if type(k) is not int or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}")
    return k


def _hits(
    unit: UnitState, mapping: EntityMapping[T], rows: Sequence[Sequence[Any]]
) -> list[tuple[T, float, InstanceState]]:
    """Tracked entities for rows of ``projection`` + a score column, in row order."""
    unit.load_rows(mapping, [row[:-1] for row in rows])
    by_stored = unit.identity.table(mapping).by_stored
    at = mapping.key_index
    out = []
    for row in rows:
        state = by_stored.get(row[at])
        if state is not None and state.status is not Status.DELETED:
            out.append((state.entity, float(row[-1]), state))
    return out


# -- nearest -------------------------------------------------------------------------


def nearest(
    unit: UnitState,
    mapping: EntityMapping[T],
    field: str,
    vector: Any,
    k: int,
    where: Any,
) -> Conversation[Hits[T]]:
    """The ``k`` entities nearest ``vector`` by ``field`` that match ``where``, nearest first."""
    unit.check_open()
    decl = mapping.vectors.get(field)
    if decl is None:
        vectors = ", ".join(mapping.vectors) or "none"
        raise MappingError(
            f"{mapping.name}.{field} is not a vector field (vector fields: {vectors}); "
            'declare it with vectors={"field": Vector(dimension)}'
        )
    _check_k(k)
    try:
        query = mapping.codec_of(field).encode(vector)
    except ValueEncodingError as exc:
        raise ValueEncodingError(f"{mapping.name}.{field} query vector: {exc}") from None
    if query is None:
        raise ValueEncodingError(f"{mapping.name}.{field} query vector: got None")
    condition = criterion(where)
    params: dict[str, Any] = {}
    clause = condition.compile(mapping, params)
    pending = pending_states(unit, mapping)
    wanted = k + len(pending)  # enough to survive every pending entity leaving
    fetch = wanted if where is None else wanted * OVERFETCH
    text = (
        f"CALL db.idx.vector.queryNodes('{mapping.label}', '{field}', $k, vecf32($q)) "
        f"YIELD node AS n, score{'' if where is None else f' WHERE {clause}'} "
        f"RETURN {projection(mapping)}, score"
    )
    total: int | None = None
    while True:
        asked = {**params, "k": fetch, "q": query}
        rows = yield Read(text, asked, Nearest(mapping, field, query, fetch, condition))
        if len(rows) >= wanted:
            break
        if total is None:
            counted = yield Read(
                f"MATCH (n:{mapping.label}) RETURN count(n)", {}, Count(mapping, criterion(None))
            )
            total = int(counted[0][0])
        if fetch >= total:
            break
        fetch = min(fetch * OVERFETCH, total)
    at = mapping.key_index
    rows = sorted(rows, key=lambda row: (row[-1], str(row[at])))  # ties: by key, as the fakes
    distance = DISTANCES[decl.similarity]
    changed = {id(s) for s in pending}
    found = [(e, score) for e, score, s in _hits(unit, mapping, rows) if id(s) not in changed]
    for state in pending:
        if state.status is Status.DELETED:
            continue
        values = current_values(state)
        stored = values.get(field)
        if stored is not None and len(stored) == len(query) and matches(condition, mapping, values):
            found.append((state.entity, distance(stored, query)))
    found.sort(key=lambda hit: hit[1])
    return found[:k]


# -- full-text search ------------------------------------------------------------------

_WORD = re.compile(r"\w+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def words(text: str) -> tuple[str, ...]:
    """The words of ``text`` as the full-text index compares them.

    Runs of letters, digits and ``_`` (Unicode included); everything else
    separates words; underscores alone are no word (the index drops them).
    Only ASCII letters are lowered, as FalkorDB does (``École`` stays
    ``École``).
    """
    return tuple(w for w in _WORD.findall(text.translate(_ASCII_LOWER)) if w.strip("_"))


def fulltext_query(
    terms: Sequence[str], fields: Sequence[str] | None = None, prefix: bool = False
) -> str:
    """A RediSearch query asking for every term (``prefix``: words starting with them).

    ``terms`` must come from ``words``: nothing in them is RediSearch syntax.
    A prefix needs two characters (RediSearch's minimum); shorter terms match
    whole words. ``fields`` restricts the match to those fields.
    """
    body = " ".join(f"{t}*" if prefix and len(t) >= 2 else t for t in terms)
    if fields:
        return f"@{'|'.join(fields)}:({body})"
    return body


def holds_terms(
    values: dict[str, Any], terms: Sequence[str], fields: Sequence[str], prefix: bool
) -> bool:
    """Whether the words of ``fields`` (encoded values) hold every term."""
    found: set[str] = set()
    for name in fields:
        text = values.get(name)
        if isinstance(text, str):
            found.update(words(text))
    for term in terms:
        if term in found:
            continue
        if prefix and len(term) >= 2 and any(w.startswith(term) for w in found):
            continue
        return False
    return True


def _search_fields(mapping: EntityMapping[Any], fields: Sequence[str] | None) -> tuple[str, ...]:
    if not mapping.fulltext:
        raise MappingError(
            f"{mapping.name} has no full-text fields; declare them with fulltext=[...]"
        )
    if fields is None:
        return mapping.fulltext
    if isinstance(fields, str):
        fields = [fields]
    unknown = [f for f in fields if f not in mapping.fulltext]
    if unknown or not fields:
        raise MappingError(
            f"{mapping.name}: {unknown or 'no field'} not among the full-text fields "
            f"({', '.join(mapping.fulltext)})"
        )
    return tuple(dict.fromkeys(fields))


def search(
    unit: UnitState,
    mapping: EntityMapping[T],
    text: str,
    fields: Sequence[str] | None,
    k: int,
    prefix: bool,
) -> Conversation[Hits[T]]:
    """Up to ``k`` entities whose full-text fields hold every word of ``text``, best first."""
    unit.check_open()
    if not isinstance(text, str):
        raise TypeError(f"search text must be a str, got {type(text).__name__}")
    chosen = _search_fields(mapping, fields)
    _check_k(k)
    terms = words(text)
    if not terms:
        return []
    pending = pending_states(unit, mapping)
    narrowed = None if chosen == mapping.fulltext else chosen
    query = fulltext_query(terms, narrowed, prefix)
    fetch = k + len(pending)
    rows = yield Read(
        f"CALL db.idx.fulltext.queryNodes('{mapping.label}', $q) YIELD node, score "
        f"WITH node AS n, score RETURN {projection(mapping)}, score "
        f"ORDER BY score DESC, n.{mapping.key_property} LIMIT $k",
        {"q": query, "k": fetch},
        TextSearch(mapping, terms, chosen, prefix, fetch),
    )
    ranked: list[tuple[T, float]] = []
    changed = {id(s) for s in pending}
    for entity, score, state in _hits(unit, mapping, rows):
        if id(state) in changed and not holds_terms(current_values(state), terms, chosen, prefix):
            continue
        ranked.append((entity, score))
    seen = {id(e) for e, _ in ranked}
    for state in pending:
        if state.status is Status.DELETED or id(state.entity) in seen:
            continue
        if holds_terms(current_values(state), terms, chosen, prefix):
            ranked.append((state.entity, 0.0))
    return ranked[:k]


# -- both ----------------------------------------------------------------------------


def fuse(rankings: Sequence[Sequence[tuple[T, float]]], k: int, constant: int = 60) -> Hits[T]:
    """Reciprocal rank fusion: each entity scores ``sum(1 / (constant + rank))``, best first.

    Ranks count from 1 in each ranking; an entity absent from a ranking gets
    nothing from it. Ties keep the order of first appearance.
    """
    scores: dict[int, list[Any]] = {}
    for ranking in rankings:
        for rank, (entity, _) in enumerate(ranking, start=1):
            entry = scores.setdefault(id(entity), [entity, 0.0])
            entry[1] += 1.0 / (constant + rank)
    fused = sorted(scores.values(), key=lambda e: -e[1])
    return [(entity, score) for entity, score in fused[:k]]
