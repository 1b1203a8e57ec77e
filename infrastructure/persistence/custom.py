"""Custom Cypher: parameters encoded like stored values, mapped nodes made entities.

``raw_query`` is the conversation of one read-only custom query;
``convert_rows`` turns the nodes of mapped labels in its rows (also inside
lists and paths) into tracked entities. ``RepositoryBase.rows`` is both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .codec import encode_value
from .conversation import Conversation
from .mapping import EntityMapping
from .reads import Custom, Read
from .state import UnitState
from .vectors import Float32s


def encode_param(value: Any) -> Any:
    """Encode a custom query's parameter the way the codec stores values."""
    if isinstance(value, Float32s):  # a query vector (``as_vector``): sent as it is
        return value
    if isinstance(value, dict):
        return {k: encode_param(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode_param(v) for v in value]
    return encode_value(value)


def raw_query(cypher: str, params: dict[str, Any]) -> Conversation[list[list[Any]]]:
    """Run a read-only custom query; nodes are converted by the caller."""
    if not isinstance(cypher, str) or not cypher.strip():
        raise ValueError("a custom query needs Cypher text")
    encoded = {k: encode_param(v) for k, v in params.items()}
    rows = yield Read(cypher, encoded, Custom(cypher, encoded))
    return rows


def _node_mapping(unit: UnitState, node: Any) -> EntityMapping[Any] | None:
    """The mapping a node loads as: the deepest mapped class among its labels."""
    return unit.registry.mapping_for_labels(getattr(node, "labels", None) or ())


def _nodes(cell: Any) -> list[Any]:
    """The nodes in a custom query's cell: itself, or inside lists and paths."""
    if hasattr(cell, "labels") and hasattr(cell, "properties"):
        return [cell]
    if isinstance(cell, list):
        return [n for c in cell for n in _nodes(c)]
    nodes = getattr(cell, "nodes", None)
    return list(nodes()) if callable(nodes) else []


def convert_rows(unit: UnitState, rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """A custom query's rows with mapped nodes (also inside lists and paths) as entities.

    The nodes of one type are loaded together, as one read's entities, so
    their relationships load lazily in one query for all of them.
    """
    by_mapping: dict[str, tuple[EntityMapping[Any], list[list[Any]]]] = {}
    for row in rows:
        for cell in row:
            for node in _nodes(cell):
                mapping = _node_mapping(unit, node)
                if mapping is None:
                    continue
                props = node.properties
                values = [props.get(p) for p in mapping.properties]
                version = props.get(mapping.version_property, 0) if mapping.version_property else 0
                row = [*values, version]
                if mapping.descendants:  # of this very class (kind 0): no subclass values
                    row.extend([0, *(None for _ in mapping.family.extra)])
                by_mapping.setdefault(mapping.label, (mapping, []))[1].append(row)
    for mapping, node_rows in by_mapping.values():
        unit.load_rows(mapping, node_rows)
    return [[_convert(unit, cell) for cell in row] for row in rows]


def _convert(unit: UnitState, cell: Any) -> Any:
    if hasattr(cell, "labels") and hasattr(cell, "properties"):
        mapping = _node_mapping(unit, cell)
        if mapping is None:
            return cell
        key = mapping.key_codec.decode(cell.properties.get(mapping.key_property))
        return unit.tracked(mapping, key)[1]  # None when the unit deletes it
    if isinstance(cell, list):
        return [_convert(unit, c) for c in cell]
    nodes = getattr(cell, "nodes", None)
    if callable(nodes):  # a path: its nodes, in order
        return [_convert(unit, n) for n in nodes()]
    return cell
