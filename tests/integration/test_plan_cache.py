"""Regression: relationship loads planned before the relationship type exists.

FalkorDB 4.16 caches query plans. A pattern comprehension planned while its
relationship type did not exist yet keeps answering empty lists once edges
exist; the layer loads relationships with OPTIONAL MATCH and collect, which
does not have that defect. These tests load first, link after, and load
again with the very same query text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from infrastructure.persistence import (
    Registry,
    Repository,
    UnitOfWork,
    ensure_key_constraints,
    to_many,
)


@dataclass
class Knot:
    id: str
    ties: list[Tie] = field(default_factory=list, repr=False, compare=False)


@dataclass
class Tie:
    knot: Knot
    since: date


class KnotUnit(UnitOfWork):
    knots: Repository[Knot]


def registry() -> Registry:
    r = Registry()
    r.map(
        Knot, key="id", relationships={"ties": to_many(Knot, "TIED", via=Tie, target_field="knot")}
    )
    return r


def test_eager_and_lazy_loads_see_edges_of_a_type_created_after_the_first_load(graph) -> None:
    reg = registry()
    ensure_key_constraints(graph, reg)
    with KnotUnit(graph, reg) as uow:
        uow.knots.add(Knot("a"))
        uow.knots.add(Knot("b"))
    with KnotUnit(graph, reg) as uow:  # planned while no TIED edge exists
        assert [k.ties for k in uow.knots.list(order_by="id", load=["ties"])] == [[], []]
        assert uow.knots.get("a").ties == []
    with KnotUnit(graph, reg) as uow:
        a, b = uow.knots.get_many(["a", "b"])
        a.ties.append(Tie(b, date(2021, 3, 4)))
    with KnotUnit(graph, reg) as uow:
        eager = uow.knots.list(order_by="id", load=["ties"])
        assert [[(t.knot.id, t.since) for t in k.ties] for k in eager] == [
            [("b", date(2021, 3, 4))],
            [],
        ]
    with KnotUnit(graph, reg) as uow:
        assert [(t.knot.id, t.since) for t in uow.knots.get("a").ties] == [("b", date(2021, 3, 4))]
