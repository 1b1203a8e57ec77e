"""Regression: FalkorDB 4.16's range index answers text upper bounds wrongly.

With an index on a text property (every key and ``indexes=`` property has
one), ``n.p < x`` and ``n.p <= x`` served from the index return rows above
the bound; without the index, and for lower bounds, numbers and equality,
the answers are right. The layer writes text upper bounds so the planner
cannot take that path (``criteria._comparison``). The first test asserts the
server's raw answers, so it fails when the server is fixed (then the
workaround can go) or breaks further; the second shows the layer's queries
give the right rows on the same graph.
"""

from __future__ import annotations

import time
from typing import Any

from infrastructure.persistence import F, UnitOfWork
from tests.integration.graph_support import Person, prepare


def names(graph: Any, where: str, params: dict[str, Any] | None = None) -> list[str]:
    rows = graph.ro_query(f"MATCH (n:P) WHERE {where} RETURN n.name", params or {}).result_set
    return sorted(r[0] for r in rows)


def wait_for_index(graph: Any, query: str, timeout_s: float = 30.0) -> None:
    """Until the planner serves ``query`` from an index (indexes are built in the background)."""
    deadline = time.monotonic() + timeout_s
    while "Index Scan" not in str(graph.explain(query)):
        assert time.monotonic() < deadline, "the index never became operational"
        time.sleep(0.05)


def test_the_server_answers_text_upper_bounds_from_its_index_wrongly(graph: Any) -> None:
    graph.query("UNWIND ['a', 't1', 't2', 'u'] AS v CREATE (:P {name: v})")
    assert names(graph, "n.name <= 't1'") == ["a", "t1"]
    assert names(graph, "n.name < 't1'") == ["a"]
    graph.query("CREATE INDEX FOR (n:P) ON (n.name)")
    graph.query("CREATE (:P {name: 'z'})")
    wait_for_index(graph, "MATCH (n:P) WHERE n.name < 't1' RETURN n")
    layer_plan = str(graph.explain("MATCH (n:P) WHERE coalesce(n.name) < 't1' RETURN n"))
    assert "Index Scan" not in layer_plan
    # the defect: rows above the bound come back
    assert names(graph, "n.name <= 't1'") == ["a", "t1", "t2"]
    assert names(graph, "n.name < 't1'") == ["a", "t1", "t2"]
    assert names(graph, "n.name < $v", {"v": "t1"}) == ["a", "t1", "t2"]
    assert names(graph, "NOT (n.name >= 't1')") == ["a", "t1", "t2"]
    assert names(graph, "NOT (NOT (n.name <= 't1'))") == ["a", "t1", "t2"]
    assert names(graph, "NOT (n.name <= 't1')") == ["t2", "u", "z"]  # a lower bound: right
    # what is right on the same index: lower bounds, and the form the layer writes
    assert names(graph, "n.name >= 't1'") == ["t1", "t2", "u", "z"]
    assert names(graph, "n.name > 't1'") == ["t2", "u", "z"]
    assert names(graph, "coalesce(n.name) <= 't1'") == ["a", "t1"]
    assert names(graph, "coalesce(n.name) < 't1'") == ["a"]


def test_the_layer_answers_text_upper_bounds_right_on_the_same_kind_of_index(graph: Any) -> None:
    registry = prepare(graph)
    with UnitOfWork(graph, registry) as uow:  # type: ignore[arg-type]
        for key in ("a", "t1", "t2", "u"):
            uow.add(Person(key, key))
    with UnitOfWork(graph, registry) as uow:  # type: ignore[arg-type]
        repo = uow.repository(Person)
        assert [p.id for p in repo.find(F("id") <= "t1", order_by="id")] == ["a", "t1"]
        assert [p.id for p in repo.find(F("id") < "t1", order_by="id", limit=5)] == ["a"]
        assert repo.count(F("id") < "t1") == 1
    raw = graph.ro_query("MATCH (n:Person) WHERE n.id < 't1' RETURN n.id").result_set
    assert sorted(r[0] for r in raw) == ["a", "t1", "t2"]  # the same graph, asked plainly
