"""Rows as the server returns them for the in-memory store's nodes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from infrastructure.persistence.mapping import EntityMapping

from .graph import MemoryGraph, Props, copied


def row_of(mapping: EntityMapping[Any], props: Props, labels: Sequence[str] = ()) -> list[Any]:
    """``reads.projection``'s row; ``labels``: the node's, for a mapping with subclasses."""
    version = props.get(mapping.version_property, 0) if mapping.version_property else 0
    row = [*(copied(props.get(p)) for p in mapping.properties), version]
    if mapping.descendants:
        family = mapping.family
        row.append(family.kind_of(labels))
        row.extend(copied(props.get(p)) for p in family.extra)
    return row


def foreign(graph: MemoryGraph, mapping: EntityMapping[Any], key: Any) -> bool:
    """Whether the stored node of ``key`` in ``mapping``'s hierarchy is of another class."""
    ref = (mapping.key_label, key)
    if graph.node(ref) is None:
        return False
    labels = graph.labels_of(ref)
    return mapping.label not in labels or any(d.label in labels for d in mapping.descendants)
