"""Rerun a whole unit of work: after a lost optimistic-concurrency race, or a lost connection."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .errors import (
    CommitNotReplicatedError,
    CommitOutcomeUnknownError,
    ConcurrencyError,
    DatabaseUnavailableError,
    DuplicateKeyError,
)
from .steps import Steps, run_steps, run_steps_async, twin_of

R = TypeVar("R")


def _pause(attempt: int, base_s: float) -> float:
    # Full jitter keeps competing units from colliding again in lockstep.
    return random.uniform(0, base_s * 2 ** min(attempt, 8))


def _retrying(
    work: Callable[[], Any],
    sleep: Callable[[float], Any],
    attempts: int,
    base_delay_s: float,
    retry_on: tuple[type[BaseException], ...],
) -> Steps[Any]:
    """The body of ``retry_on_conflict`` for either kind of ``work`` and ``sleep``."""
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    for attempt in range(attempts):
        try:
            return (yield work())
        except retry_on:
            if attempt == attempts - 1:
                raise
            yield sleep(_pause(attempt, base_delay_s))
    raise AssertionError("unreachable")


def retry_on_conflict(
    work: Callable[[], R],
    *,
    attempts: int = 10,
    base_delay_s: float = 0.002,
    retry_on: tuple[type[BaseException], ...] = (ConcurrencyError,),
) -> R:
    """Call ``work`` until it does not raise one of ``retry_on``; at most ``attempts`` times.

    ``work`` must run a whole unit from fresh reads (open it inside), so each
    attempt decides again on current data. The last error is re-raised.
    """
    result: R = run_steps(_retrying(work, time.sleep, attempts, base_delay_s, retry_on))
    return result


@twin_of(retry_on_conflict)
async def retry_on_conflict_async(
    work: Callable[[], Awaitable[R]],
    *,
    attempts: int = 10,
    base_delay_s: float = 0.002,
    retry_on: tuple[type[BaseException], ...] = (ConcurrencyError,),
) -> R:
    result: R = await run_steps_async(
        _retrying(work, asyncio.sleep, attempts, base_delay_s, retry_on)
    )
    return result


@dataclass
class UnitRun(Generic[R]):
    """How ``run_idempotent`` ended, and what it went through on the way.

    ``value`` is what the successful attempt returned; it stays None when
    ``applied_earlier`` is True: an attempt whose commit outcome was unknown
    had in fact been applied, so the work was not run again.

    ``unreplicated`` counts attempts that raised ``CommitNotReplicatedError``
    (also counted in ``in_doubt``). A run ending with ``applied_earlier``
    after one saw the write on the primary only: it is not known to be on
    the replicas.
    """

    value: R | None = None
    applied_earlier: bool = False
    attempts: int = 0
    conflicts: int = 0
    unavailable: int = 0
    in_doubt: int = 0
    duplicates: int = 0
    unreplicated: int = 0


_RERUN_ON = (
    ConcurrencyError,
    DatabaseUnavailableError,
    CommitOutcomeUnknownError,
    DuplicateKeyError,
)


def _after_failure(run: UnitRun[R], exc: BaseException, base_s: float, down_s: float) -> float:
    """Count ``exc`` in ``run``; the pause before the next attempt (re-raises a real error)."""
    if isinstance(exc, CommitOutcomeUnknownError):
        run.in_doubt += 1
        if isinstance(exc, CommitNotReplicatedError):
            run.unreplicated += 1
        return _pause(run.in_doubt + run.unavailable, down_s)
    if isinstance(exc, DatabaseUnavailableError):
        run.unavailable += 1
        return _pause(run.in_doubt + run.unavailable, down_s)
    if isinstance(exc, DuplicateKeyError):
        # Once an attempt is in doubt, a duplicate key can be that attempt's
        # own write (it landed after ``already_applied`` looked): look again.
        # Without an attempt in doubt it is a real duplicate.
        if not run.in_doubt:
            raise exc
        run.duplicates += 1
        return 0.0
    run.conflicts += 1
    return _pause(run.conflicts, base_s)


def _idempotent(
    work: Callable[[], Any],
    already_applied: Callable[[], Any],
    sleep: Callable[[float], Any],
    attempts: int,
    base_delay_s: float,
    unavailable_delay_s: float,
) -> Steps[UnitRun[Any]]:
    """The body of ``run_idempotent`` for either kind of ``work``, check and ``sleep``."""
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    run: UnitRun[Any] = UnitRun()
    for attempt in range(attempts):
        run.attempts += 1
        try:
            if run.in_doubt and (yield already_applied()):
                run.applied_earlier = True
                return run
            run.value = yield work()
            return run
        except _RERUN_ON as exc:
            pause = _after_failure(run, exc, base_delay_s, unavailable_delay_s)
            if attempt == attempts - 1:
                raise
            yield sleep(pause)
    raise AssertionError("unreachable")


def run_idempotent(
    work: Callable[[], R],
    already_applied: Callable[[], bool],
    *,
    attempts: int = 20,
    base_delay_s: float = 0.002,
    unavailable_delay_s: float = 0.01,
) -> UnitRun[R]:
    """Run a unit that must take effect exactly once, through conflicts and lost connections.

    ``work`` runs the whole unit from fresh reads (open the unit inside) and
    creates an entity under a unique key chosen once, before the first call
    (a transfer id, an idempotency key). ``already_applied`` looks that key
    up in a fresh read.

    - ``ConcurrencyError``: ``work`` runs again (jittered pause).
    - ``DatabaseUnavailableError``: nothing was written; ``work`` runs again
      after a growing pause.
    - ``CommitOutcomeUnknownError``: the commit may have landed. The commit
      is never resent: before each later attempt ``already_applied`` is
      asked, and when it says yes the run ends with ``applied_earlier``.
      A ``DuplicateKeyError`` after that is the earlier attempt's own write
      and leads to asking again.
    - ``CommitNotReplicatedError`` (a ``CommitOutcomeUnknownError``): the
      primary applied it, so ``already_applied`` normally says yes and the
      run ends with ``applied_earlier`` and ``unreplicated`` counted: done on
      the primary, not known to be replicated. If a failover lost it,
      ``already_applied`` says no and ``work`` runs again.

    Raises:
        The last error when all ``attempts`` failed, any error other than
        those above at once, and ``DuplicateKeyError`` at once when no
        attempt was in doubt (the key was taken by someone else).
    """
    body = _idempotent(
        work, already_applied, time.sleep, attempts, base_delay_s, unavailable_delay_s
    )
    run: UnitRun[R] = run_steps(body)
    return run


@twin_of(run_idempotent)
async def run_idempotent_async(
    work: Callable[[], Awaitable[R]],
    already_applied: Callable[[], Awaitable[bool]],
    *,
    attempts: int = 20,
    base_delay_s: float = 0.002,
    unavailable_delay_s: float = 0.01,
) -> UnitRun[R]:
    body = _idempotent(
        work, already_applied, asyncio.sleep, attempts, base_delay_s, unavailable_delay_s
    )
    run: UnitRun[R] = await run_steps_async(body)
    return run
