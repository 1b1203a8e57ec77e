"""Cardinality: at most one edge behind a ``to_one``, and at least one when it is required.

A ``to_one`` may be written from the other side: ``Person.pets`` (to-many,
``OWNS`` out) and ``Pet.owner`` (to-one, ``OWNS`` in) name the same edges,
and appending a pet to a second person gives it a second owner. The commit
counts, after it wrote its edges and before its guard, the edges behind
each ``to_one`` whose holder gains one; a holder may keep the one it had
only when the same commit removes it (``allowed``). Any other count fails
the guard, so nothing is written, and the unit names the holder
(``CardinalityError``). ``required=True`` on a ``to_one`` refuses, before
anything is sent, a commit that leaves it empty on an entity the unit adds
or whose relationship it changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .changes import ChangeSet, EdgeWrite
from .errors import CardinalityError
from .identity import InstanceState, Status
from .mapping import EntityMapping, RelationshipMapping
from .relationships import is_loaded

_OPPOSITE = {"out": "in", "in": "out", "both": "both"}


def inverses(rel: RelationshipMapping) -> list[RelationshipMapping]:
    """The ``to_one`` relationships of ``rel``'s target that name ``rel``'s edges."""
    return [
        other
        for other in rel.target.relationships.values()
        if not other.many
        and other.type == rel.type
        and other.direction == _OPPOSITE[rel.direction]
        and other.target is rel.source
        and other is not rel
    ]


@dataclass(slots=True)
class OneAtMost:
    """Holders of one ``to_one`` that gain an edge in a commit, and what each may end with."""

    rel: RelationshipMapping  # the to_one
    added: dict[Any, list[Any]] = field(default_factory=dict)  # holder -> targets linked
    removed: dict[Any, list[Any]] = field(default_factory=dict)  # holder -> targets unlinked

    def rows(self) -> list[list[Any]]:
        """``[holder, edges allowed once the links are written]`` (unlinks come later)."""
        return [[h, 1 + len(self.removed.get(h, ()))] for h in self.added]


def _edges(writes: Iterable[EdgeWrite]) -> Iterable[tuple[RelationshipMapping, Any, Any]]:
    """(to_one, holder, target) for each write that adds or drops an edge behind a to_one."""
    for w in writes:
        if not w.rel.many:
            yield w.rel, w.source, w.target
        for inverse in inverses(w.rel):
            yield inverse, w.target, w.source


def one_at_most(changes: ChangeSet) -> list[OneAtMost]:
    """What the commit must count, per ``to_one``; holders it creates with one edge are left out."""
    checks: dict[int, OneAtMost] = {}
    for rel, holder, target in _edges(changes.links):
        checks.setdefault(id(rel), OneAtMost(rel)).added.setdefault(holder, []).append(target)
    if not checks:
        return []
    created: set[tuple[str, Any]] = {
        (c.state.mapping.label, c.state.stored_key) for c in changes.creates
    }
    for rel, holder, target in _edges(changes.unlinks):
        check = checks.get(id(rel))
        if check is not None and holder in check.added:
            check.removed.setdefault(holder, []).append(target)
    out = []
    for check in checks.values():
        label = check.rel.source.label
        check.added = {
            h: t for h, t in check.added.items() if len(t) > 1 or (label, h) not in created
        }
        if check.added:
            out.append(check)
    return out


def block(check: OneAtMost, name: str) -> str:
    """The read-only block counting holders of ``check`` over their allowance (must be 0).

    Each holder's edges are counted twice, and the larger count kept: FalkorDB
    4.16 plans a ``MATCH`` on a relationship type the graph does not hold yet
    as matching nothing, even once the same query created such edges (the
    first edges of a type), and a pattern comprehension planned then keeps
    answering empty lists from the plan cache once they exist.
    """
    rel = check.rel
    holder = rel.source
    edges = rel.pattern("h", "r", "b:" + rel.target.label)
    again = rel.pattern("h", "", ":" + rel.target.label)
    return (
        f"CALL {{ UNWIND ${name} AS row MATCH (h:{holder.label} "
        f"{{{holder.key_property}: row[0]}}) OPTIONAL MATCH {edges} "
        f"WITH row, h, count(r) AS matched WITH row, matched, size([{again} | 1]) AS listed "
        f"WHERE matched > row[1] OR listed > row[1] RETURN count(*) AS {name} }}"
    )


def over(check: OneAtMost, stored: Sequence[Sequence[Any]]) -> list[str]:
    """The holders of ``check`` holding more than one edge once the commit were written.

    ``stored`` holds rows of ``reads.related`` for them: what is stored now
    (a holder the commit creates has no row).
    """
    rel = check.rel
    target = rel.target
    found = []
    held: dict[Any, Sequence[Any]] = {row[0]: row[1] for row in stored}
    for holder_key, added in check.added.items():
        targets = {item[target.key_index] for item in held.get(holder_key, ())}
        targets |= set(added)
        targets -= set(check.removed.get(holder_key, ()))
        if len(targets) > 1:
            decode = target.key_codec.decode
            holding = ", ".join(f"{target.name}[{decode(t)!r}]" for t in sorted(targets, key=repr))
            found.append(
                f"{rel.source.name}[{rel.source.key_codec.decode(holder_key)!r}].{rel.name} "
                f"(to_one) would hold {holding}"
            )
    return found


def refused(found: Sequence[str]) -> CardinalityError:
    return CardinalityError(
        f"{'; '.join(found)}: a to_one holds at most one target. Remove the other edge in the "
        "same unit (from the to-many of its holder, or by setting the to_one). "
        "Nothing was written."
    )


def check_required(states: Iterable[InstanceState]) -> None:
    """Refuse a flush leaving a ``required`` to_one empty on an entity it writes.

    Raises:
        CardinalityError: an added entity, or one whose relationship was
            loaded, holds None in a ``to_one(..., required=True)``.
    """
    missing = []
    for state in states:
        if state.status is Status.DELETED:
            continue
        mapping: EntityMapping[Any] = state.mapping
        for name, rel in mapping.relationships.items():
            if not rel.decl.required:
                continue
            written = state.status is Status.NEW or is_loaded(state.entity, name)
            if written and state.entity.__dict__.get(name) is None:
                missing.append(f"{mapping.describe(state.entity)}.{name}")
    if missing:
        raise CardinalityError(
            f"{', '.join(missing)} is required (to_one(..., required=True)) and holds no "
            "target; give it one before the commit. Nothing was written."
        )
