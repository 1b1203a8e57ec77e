"""Read queries for repositories: built from a mapping, free of I/O.

Every read returns the mapped properties in ``mapping.properties`` order
followed by the stored version, so ``UnitState.load_rows`` can build or reuse
entities from any of them. Names come from the mapping (validated); values
travel as parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import MappingError, ValueEncodingError
from .mapping import EntityMapping
from .relationships import RelationshipMapping


@dataclass(frozen=True, slots=True)
class Read:
    query: str
    params: dict[str, Any]


def projection(mapping: EntityMapping[Any], var: str = "n") -> str:
    """The RETURN list that loads an entity: its properties, then its version."""
    columns = [f"{var}.{p}" for p in mapping.properties]
    if mapping.version_property:
        columns.append(f"coalesce({var}.{mapping.version_property}, 0)")
    else:
        columns.append("0")
    return ", ".join(columns)


def by_key(mapping: EntityMapping[Any], key: Any) -> Read:
    return Read(
        f"MATCH (n:{mapping.label} {{{mapping.key_property}: $key}}) RETURN {projection(mapping)}",
        {"key": mapping.encode_key(key)},
    )


def by_keys(mapping: EntityMapping[Any], keys: Sequence[Any]) -> Read:
    return Read(
        f"UNWIND $keys AS key MATCH (n:{mapping.label} {{{mapping.key_property}: key}}) "
        f"RETURN {projection(mapping)}",
        {"keys": [mapping.encode_key(k) for k in keys]},
    )


def key_exists(mapping: EntityMapping[Any], key: Any) -> Read:
    return Read(
        f"MATCH (n:{mapping.label} {{{mapping.key_property}: $key}}) RETURN count(n) > 0",
        {"key": mapping.encode_key(key)},
    )


def _where(mapping: EntityMapping[Any], equals: Mapping[str, Any], params: dict[str, Any]) -> str:
    terms = []
    for i, (field, value) in enumerate(sorted(equals.items())):
        codec = mapping.codec_of(field)
        if value is None:
            terms.append(f"n.{field} IS NULL")
            continue
        name = f"eq{i}"
        try:
            params[name] = codec.encode(value)
        except ValueEncodingError as exc:
            raise ValueEncodingError(f"{mapping.name}.{field} criterion: {exc}") from None
        terms.append(f"n.{field} = ${name}")
    return f" WHERE {' AND '.join(terms)}" if terms else ""


def _order(mapping: EntityMapping[Any], order_by: str | Sequence[str] | None) -> str:
    if order_by is None:
        return ""
    fields = [order_by] if isinstance(order_by, str) else list(order_by)
    parts = []
    for spec in fields:
        descending = spec.startswith("-")
        field = spec[1:] if descending else spec
        codec = mapping.codec_of(field)
        if not codec.orderable:
            raise MappingError(
                f"{mapping.name}.{field} ({codec.type_name}) is stored as text that does not "
                "sort like its values; order by another field"
            )
        parts.append(f"n.{field}{' DESC' if descending else ''}")
    return f" ORDER BY {', '.join(parts)}" if parts else ""


def _page(limit: int | None, offset: int | None, params: dict[str, Any]) -> str:
    text = ""
    if offset is not None:
        if type(offset) is not int or offset < 0:
            raise ValueError(f"offset must be a non-negative int, got {offset!r}")
        params["offset"] = offset
        text += " SKIP $offset"
    if limit is not None:
        if type(limit) is not int or limit < 0:
            raise ValueError(f"limit must be a non-negative int, got {limit!r}")
        params["limit"] = limit
        text += " LIMIT $limit"
    return text


def find(
    mapping: EntityMapping[Any],
    equals: Mapping[str, Any],
    *,
    order_by: str | Sequence[str] | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> Read:
    """Entities whose fields equal ``equals`` (``None`` matches a missing value)."""
    params: dict[str, Any] = {}
    where = _where(mapping, equals, params)
    order = _order(mapping, order_by)
    page = _page(limit, offset, params)
    return Read(
        f"MATCH (n:{mapping.label}){where} RETURN {projection(mapping)}{order}{page}", params
    )


def count(mapping: EntityMapping[Any], equals: Mapping[str, Any]) -> Read:
    params: dict[str, Any] = {}
    where = _where(mapping, equals, params)
    return Read(f"MATCH (n:{mapping.label}){where} RETURN count(n)", params)


def related_projection(rel: RelationshipMapping, var: str = "n", tag: int = 0) -> str:
    """A pattern comprehension listing ``rel``'s targets of ``var``.

    Each item is the target's properties and version, then the edge's
    properties; it adds no rows, so several relationships load in one query.
    Each comprehension of one RETURN needs its own ``tag``: FalkorDB 4.16
    answers wrongly (empty lists) when two of them reuse variable names.
    """
    target = rel.target
    m, r = f"m{tag}", f"r{tag}"
    columns = [f"{m}.{p}" for p in target.properties]
    columns.append(
        f"coalesce({m}.{target.version_property}, 0)" if target.version_property else "0"
    )
    columns.extend(f"{r}.{p}" for p in rel.edge_properties)
    return f"[{rel.pattern(var, r, f'{m}:{target.label}')} | [{', '.join(columns)}]]"


def with_related(read: Read, rels: Sequence[RelationshipMapping]) -> Read:
    """``read`` with one more column per relationship (inserted before ORDER BY/SKIP/LIMIT)."""
    if not rels:
        return read
    extra = "".join(f", {related_projection(rel, tag=i)}" for i, rel in enumerate(rels))
    query = read.query
    cut = len(query)
    for clause in (" ORDER BY ", " SKIP ", " LIMIT "):
        at = query.find(clause)
        if at != -1:
            cut = min(cut, at)
    return Read(query[:cut] + extra + query[cut:], read.params)


def related(rel: RelationshipMapping, keys: Sequence[Any]) -> Read:
    """The targets of ``rel`` for several holders at once: rows of (key, items)."""
    source = rel.source
    return Read(
        f"UNWIND $keys AS key MATCH (n:{source.label} {{{source.key_property}: key}}) "
        f"RETURN key, {related_projection(rel)}",
        {"keys": [source.encode_key(k) for k in keys]},
    )
