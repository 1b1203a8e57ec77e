"""Rerun a whole unit of work when it lost an optimistic-concurrency race."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from .errors import ConcurrencyError

R = TypeVar("R")


def _pause(attempt: int, base_s: float) -> float:
    # Full jitter keeps competing units from colliding again in lockstep.
    return random.uniform(0, base_s * 2 ** min(attempt, 8))


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
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    for attempt in range(attempts):
        try:
            return work()
        except retry_on:
            if attempt == attempts - 1:
                raise
            time.sleep(_pause(attempt, base_delay_s))
    raise AssertionError("unreachable")


async def retry_on_conflict_async(
    work: Callable[[], Awaitable[R]],
    *,
    attempts: int = 10,
    base_delay_s: float = 0.002,
    retry_on: tuple[type[BaseException], ...] = (ConcurrencyError,),
) -> R:
    """The async twin of ``retry_on_conflict``."""
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    for attempt in range(attempts):
        try:
            return await work()
        except retry_on:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(_pause(attempt, base_delay_s))
    raise AssertionError("unreachable")
