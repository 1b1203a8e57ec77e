"""Key constraints: every mapped label gets a unique constraint on its key.

The constraint is what makes a create with a taken key fail (and with it the
whole commit) instead of writing a duplicate node. FalkorDB builds a
constraint in the background, answering PENDING; ``ensure_key_constraints``
waits until each is OPERATIONAL.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from redis import exceptions as redis_errors

from .errors import PersistenceError
from .mapping import Registry


class SchemaError(PersistenceError):
    """A constraint could not be created or did not become operational."""


@dataclass(frozen=True, slots=True, order=True)
class KeyConstraint:
    label: str
    property: str


def required_constraints(registry: Registry) -> list[KeyConstraint]:
    return sorted(KeyConstraint(m.label, m.key_property) for m in registry)


def constraint_states(listed: Iterable[dict[str, Any]]) -> dict[KeyConstraint, str]:
    """``{constraint: status}`` for the unique node constraints ``list_constraints`` returns."""
    states = {}
    for c in listed:
        if (
            c.get("type") == "UNIQUE"
            and c.get("entitytype") == "NODE"
            and len(c["properties"]) == 1
        ):
            states[KeyConstraint(c["label"], c["properties"][0])] = c.get("status", "")
    return states


def _listed(graph: Any) -> list[dict[str, Any]]:
    try:
        listed: list[dict[str, Any]] = graph.list_constraints()
    except redis_errors.ResponseError as exc:
        if "empty key" in str(exc):  # the graph does not exist yet
            return []
        raise
    return listed


def ensure_key_constraints(graph: Any, registry: Registry, *, timeout_s: float = 30.0) -> None:
    """Create the missing key constraints of ``registry`` on ``graph`` and wait for them.

    Idempotent. Raises ``SchemaError`` when a constraint fails or is still
    pending after ``timeout_s``.
    """
    wanted = required_constraints(registry)
    states = constraint_states(_listed(graph))
    for c in wanted:
        if c not in states:
            graph.create_node_unique_constraint(c.label, c.property)
    deadline = time.monotonic() + timeout_s
    delay = 0.005
    while True:
        states = constraint_states(_listed(graph))
        waiting = [c for c in wanted if states.get(c) != "OPERATIONAL"]
        failed = [c for c in waiting if states.get(c) == "FAILED"]
        if failed:
            raise SchemaError(f"unique constraints failed (duplicate keys stored?): {failed}")
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise SchemaError(f"unique constraints still pending after {timeout_s}s: {waiting}")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
