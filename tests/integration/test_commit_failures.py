"""What FalkorDB answers a failed commit with, classified by ``failures.classify``.

Each answer here is produced by the real server: the commit guard as the
planner writes it, a key constraint, a timeout, a query it rejects.
"""

from __future__ import annotations

from typing import Any

import pytest
from redis import exceptions as redis_errors

from infrastructure.persistence import GuardFailure, OtherFailure, TimeoutFailure, UniqueFailure
from infrastructure.persistence.failures import classify, guard_clause


def answer(graph: Any, query: str, timeout: int | None = None) -> redis_errors.ResponseError:
    with pytest.raises(redis_errors.ResponseError) as raised:
        graph.query(query, timeout=timeout)
    return raised.value


def test_the_guard_failing_is_a_guard_failure(bank_graph: Any) -> None:
    guard = guard_clause("c", "c = 3")
    failure = classify(
        answer(bank_graph, f"UNWIND [1, 2] AS n WITH count(n) AS c {guard} RETURN 1")
    )
    assert isinstance(failure, GuardFailure)
    passed = bank_graph.query(f"UNWIND [1, 2, 3] AS n WITH count(n) AS c {guard} RETURN 1")
    assert passed.result_set == [[1]]  # the same guard lets a right count through


def test_a_key_constraint_refusing_a_value_is_a_unique_failure(bank_graph: Any) -> None:
    bank_graph.query("CREATE (:Person {id: 'twin'})")
    failure = classify(answer(bank_graph, "CREATE (:Person {id: 'twin'})"))
    assert isinstance(failure, UniqueFailure)


def test_a_commit_past_its_timeout_is_a_timeout_failure(bank_graph: Any) -> None:
    slow = "UNWIND range(1, 100000000) AS x CREATE (:Scratch {x: x})"
    failure = classify(answer(bank_graph, slow, timeout=1))
    assert isinstance(failure, TimeoutFailure)
    assert bank_graph.ro_query("MATCH (n:Scratch) RETURN count(n)").result_set == [[0]]


def test_any_other_refusal_is_an_other_failure(bank_graph: Any) -> None:
    failure = classify(answer(bank_graph, "CREATE (:Person {id: no_such_function(1)})"))
    assert isinstance(failure, OtherFailure)
    assert "no_such_function" in failure.message
