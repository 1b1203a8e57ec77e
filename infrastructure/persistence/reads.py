"""Read queries for repositories: built from a mapping, free of I/O.

Every read returns the mapped properties in ``mapping.properties`` order
followed by the stored version, so ``UnitState.load_rows`` can build or reuse
entities from any of them. Names come from the mapping (validated); values
travel as parameters.

Each ``Read`` built by the layer also carries its ``intent``: a small typed
description of what it asks (these keys, this criterion in this order, the
targets of this relationship...). The server only ever sees the text; the
intent lets an in-memory store answer the same read without parsing Cypher
(``infrastructure.fakes``). Values in an intent are encoded as in the
parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from .criteria import Always, Criterion, OrderKey
from .mapping import EntityMapping, RelationshipMapping

Loads = tuple[RelationshipMapping, ...]


@dataclass(frozen=True, slots=True)
class ByKeys:
    """The entities with ``keys``, in that order (absent ones left out)."""

    mapping: EntityMapping[Any]
    keys: Sequence[Any]
    load: Loads = ()


@dataclass(frozen=True, slots=True)
class KeyExists:
    """One row holding whether an entity with ``key`` exists."""

    mapping: EntityMapping[Any]
    key: Any


@dataclass(frozen=True, slots=True)
class Find:
    """The entities matching ``where``, sorted by ``order``, then skipped and limited."""

    mapping: EntityMapping[Any]
    where: Criterion
    order: tuple[OrderKey, ...] = ()
    limit: int | None = None
    offset: int | None = None
    load: Loads = ()


@dataclass(frozen=True, slots=True)
class Count:
    """One row: how many entities match ``where`` (then, with ``keys``: how many of those)."""

    mapping: EntityMapping[Any]
    where: Criterion
    keys: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class Related:
    """For each holder among ``keys`` that exists: (key, items of ``related_items``)."""

    rel: RelationshipMapping
    keys: Sequence[Any]


@dataclass(frozen=True, slots=True)
class Versions:
    """For each of ``keys``: (key, whether it exists, its stored version).

    With ``olds`` (one ``{property: value}`` per key): whether it exists and
    still holds those values, and 0.
    """

    mapping: EntityMapping[Any]
    keys: Sequence[Any]
    olds: Sequence[dict[str, Any]] | None = None


@dataclass(frozen=True, slots=True)
class ExistingKeys:
    """The keys among ``keys`` that exist, one row each (anywhere in the mapping's class
    hierarchy; with ``foreign``: those stored as another class of it)."""

    mapping: EntityMapping[Any]
    keys: Sequence[Any]
    foreign: bool = False


@dataclass(frozen=True, slots=True)
class Attached:
    """Keys of up to ``limit`` targets ``source`` holds through ``rel``, but ``removed``."""

    rel: RelationshipMapping
    source: Any
    removed: tuple[Any, ...] = ()
    limit: int = 20


@dataclass(frozen=True, slots=True)
class Custom:
    """A custom Cypher query, with its (encoded) parameters."""

    cypher: str
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Nearest:
    """Up to ``k`` entities whose ``field`` is nearest ``vector`` (encoded), filtered by
    ``where`` after the ``k`` are chosen; rows end with the distance, nearest first."""

    mapping: EntityMapping[Any]
    field: str
    vector: Sequence[float]
    k: int
    where: Criterion


@dataclass(frozen=True, slots=True)
class TextSearch:
    """Up to ``k`` entities whose full-text ``fields`` hold every term (``prefix``: as a
    prefix of a word); rows end with the score, best first."""

    mapping: EntityMapping[Any]
    terms: tuple[str, ...]
    fields: tuple[str, ...]
    prefix: bool
    k: int


Intent = (
    ByKeys
    | KeyExists
    | Find
    | Count
    | Related
    | Versions
    | ExistingKeys
    | Attached
    | Custom
    | Nearest
    | TextSearch
)


@dataclass(frozen=True, slots=True)
class Read:
    query: str
    params: dict[str, Any]
    intent: Intent | None = None


def projection(mapping: EntityMapping[Any], var: str = "n") -> str:
    """The RETURN list that loads an entity: its properties, then its version.

    A mapping with mapped subclasses adds the node's kind (which mapped class it
    is) and the properties only subclasses store (``EntityMapping.family``), so
    each node loads as its own class.
    """
    return ", ".join(_columns(mapping, var))


def _columns(mapping: EntityMapping[Any], var: str) -> list[str]:
    columns = [f"{var}.{p}" for p in mapping.properties]
    if mapping.version_property:
        columns.append(f"coalesce({var}.{mapping.version_property}, 0)")
    else:
        columns.append("0")
    if mapping.descendants:
        family = mapping.family
        columns.append(family.kind_column(var))
        columns.extend(f"{var}.{p}" for p in family.extra)
    return columns


def entity_read(
    mapping: EntityMapping[Any],
    match: str,
    params: dict[str, Any],
    intent: ByKeys | Find,
    *,
    order: str = "",
    window: str = "",
    load: Sequence[RelationshipMapping] = (),
) -> Read:
    """The read of the entities ``match`` binds to ``n``, with one more column per ``load``.

    ``order`` is the ``" ORDER BY ..."`` clause and ``window`` the
    ``" SKIP ... LIMIT ..."`` one (either may be empty). With relationships
    the window is chosen first, then each relationship is collected per
    entity (``related_items``), and the order applied again, all in the same
    round trip.
    """
    if not load:
        return Read(f"{match} RETURN {projection(mapping)}{order}{window}", params, intent)
    parts = [f"{match} WITH n{order}{window}"]
    carried = ["n"]
    for i, rel in enumerate(load):
        optional, collect = related_items(rel, i)
        parts.append(f"{optional} WITH {', '.join(carried)}, {collect} AS rel{i}")
        carried.append(f"rel{i}")
    parts.append(f"RETURN {projection(mapping)}, {', '.join(carried[1:])}{order}")
    return Read(" ".join(parts), params, replace(intent, load=tuple(load)))


def by_key(mapping: EntityMapping[Any], key: Any, load: Sequence[RelationshipMapping] = ()) -> Read:
    """The entity with ``key`` (no row when absent), with the relationships ``load``."""
    encoded = mapping.encode_key(key)
    return entity_read(
        mapping,
        f"MATCH (n:{mapping.match_labels} {{{mapping.key_property}: $key}})",
        {"key": encoded},
        ByKeys(mapping, (encoded,)),
        load=load,
    )


def by_stored_keys(
    mapping: EntityMapping[Any], encoded: Sequence[Any], load: Sequence[RelationshipMapping] = ()
) -> Read:
    """The entities with these keys, given as stored (already encoded)."""
    return entity_read(
        mapping,
        f"UNWIND $keys AS key MATCH (n:{mapping.match_labels} {{{mapping.key_property}: key}})",
        {"keys": encoded},
        ByKeys(mapping, encoded),
        load=load,
    )


def every(mapping: EntityMapping[Any]) -> Read:
    """Every node of ``mapping``'s label, as stored."""
    return Read(
        f"MATCH (n:{mapping.label}) RETURN {projection(mapping)}", {}, Find(mapping, Always())
    )


def key_exists(mapping: EntityMapping[Any], key: Any) -> Read:
    encoded = mapping.encode_key(key)
    return Read(
        f"MATCH (n:{mapping.match_labels} {{{mapping.key_property}: $key}}) RETURN count(n) > 0",
        {"key": encoded},
        KeyExists(mapping, encoded),
    )


def related_items(rel: RelationshipMapping, tag: int = 0) -> tuple[str, str]:
    """``(OPTIONAL MATCH ..., collect(...))`` listing ``rel``'s targets of ``n``.

    Each item is the target's properties and version, then the edge's
    properties. Two measured FalkorDB 4.16 facts shape this: a pattern
    comprehension planned before its relationship type exists keeps
    answering empty lists from the plan cache once edges exist, and
    ``OPTIONAL MATCH`` with ``collect`` runs about twice as fast. Each
    relationship of one query gets its own variables (``tag``).
    """
    target = rel.target
    m, r = f"m{tag}", f"r{tag}"
    columns = _columns(target, m)
    columns.extend(f"{r}.{p}" for p in rel.edge_properties)
    match = f"OPTIONAL MATCH {rel.pattern('n', r, f'{m}:{target.label}')}"
    collect = f"collect(CASE WHEN {m} IS NULL THEN NULL ELSE [{', '.join(columns)}] END)"
    return match, collect


def related(rel: RelationshipMapping, keys: Sequence[Any]) -> Read:
    """The targets of ``rel`` for several holders at once: rows of (key, items)."""
    source = rel.source
    encoded = [source.encode_key(k) for k in keys]
    match, collect = related_items(rel)
    return Read(
        f"UNWIND $keys AS key MATCH (n:{source.match_labels} {{{source.key_property}: key}}) "
        f"{match} WITH key, {collect} AS items RETURN key, items",
        {"keys": encoded},
        Related(rel, encoded),
    )
