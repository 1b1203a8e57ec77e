"""The retry policy services use when none is injected."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

R = TypeVar("R")


class RunOnce:
    """Runs the work once; a lost race propagates to the caller."""

    def run(self, work: Callable[[], R]) -> R:
        return work()

    async def run_async(self, work: Callable[[], Awaitable[R]]) -> R:
        return await work()
