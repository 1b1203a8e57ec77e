"""Why a commit query failed, told once: the guard that fails it and the kinds of failure.

The commit query (``planner``) ends its checks with one guard: a division
whose divisor is 0 unless every count equals what the commit expects, so a
stale or vanished entity, a taken key or a ``restrict`` rule still holding
targets makes the server raise and undo the whole query. ``guard_clause``
writes that guard; ``classify`` reads what the server answered a failed
commit with, so the text the guard produces is matched here and nowhere
else. The kinds:

- ``GuardFailure``: the guard fired (a count was off);
- ``UniqueFailure``: a unique constraint refused a value;
- ``TimeoutFailure``: the query ran past its timeout;
- ``OtherFailure``: anything else the server refused.

Every kind means nothing was written. The kinds are defined with the
layer's other exception classes (``errors``) and told apart here. The unit turns a kind into the error
its caller sees (``diagnosis.explain``); a store that is not FalkorDB (the
in-memory fakes) raises the kind itself, with no server text to imitate.
"""

from __future__ import annotations

from redis import exceptions as redis_errors

from .errors import CommitFailure, GuardFailure, OtherFailure, TimeoutFailure, UniqueFailure
from .wire import is_timeout

__all__ = [
    "GUARD_ERROR",
    "UNIQUE_ERROR",
    "CommitFailure",
    "GuardFailure",
    "OtherFailure",
    "TimeoutFailure",
    "UniqueFailure",
    "classify",
    "guard_clause",
]

#: What FalkorDB answers when the guard's divisor is zero.
GUARD_ERROR = "division by zero"

#: What FalkorDB answers when a unique constraint refuses a value.
UNIQUE_ERROR = "unique constraint"


def guard_clause(carried: str, condition: str) -> str:
    """The guard: ``WITH carried`` rows pass when ``condition`` holds, else the query fails.

    The divisor is computed at run time, so the error (and the undoing of
    every write before it) happens only when a count is off.
    """
    return f"WITH {carried} WHERE 1 / (CASE WHEN {condition} THEN 1 ELSE 0 END) = 1"


def classify(exc: redis_errors.ResponseError) -> CommitFailure:
    """The kind of failure the server's answer to a commit stands for."""
    text = str(exc)
    lowered = text.lower()
    if is_timeout(exc):
        return TimeoutFailure(text)
    if UNIQUE_ERROR in lowered:
        return UniqueFailure(text)
    if GUARD_ERROR in lowered:
        return GuardFailure(text)
    return OtherFailure(text)
