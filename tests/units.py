"""One test body for sync and async units: ``async with x.unit()`` and ``await x.io(...)``."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any


class OpensUnits:
    """For a dataclass with ``is_async`` and ``new_unit`` fields: enter and await either kind."""

    is_async: bool
    new_unit: Callable[[], Any]

    @asynccontextmanager
    async def unit(self, uow: Any = None) -> AsyncIterator[Any]:
        """``with`` / ``async with`` a unit (a new one by default): commit on a clean exit."""
        uow = self.new_unit() if uow is None else uow
        if self.is_async:
            async with uow:
                yield uow
        else:
            with uow:
                yield uow

    async def io(self, value: Any) -> Any:
        """``value`` awaited when the async unit returned an awaitable, else as it is."""
        return await value if inspect.isawaitable(value) else value
