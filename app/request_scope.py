"""One unit of work per web request, shared by everything the request depends on.

FastAPI resolves a dependency once per request and hands the same value to
every endpoint parameter and sub-dependency that asks for it. ``request_unit``
is such a dependency, written with ``yield``: it creates a ``RequestUnit`` for
the request and, after the response, closes whatever unit is still open,
whether the endpoint returned, raised, or the client went away.

Services take a unit-of-work factory; inside a request that factory is the
``RequestUnit``: calling it returns the request's open unit, so a dependency
that loaded the signed-in person and the service that follows share one
identity map. Only once a service has committed (its ``async with`` closed
the unit), or a lost race made the retry policy start over, does a call open
a fresh unit: each attempt must read afresh.

The request's actor (``X-Actor`` header, else ``"api"``) is set for the
request (``acting_as``), so the audit hook stamps ``updated_by`` with it. The
example has no sign-in: a real application sets the authenticated user here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from fastapi import Request

from domain import ports
from infrastructure.persistence import acting_as

#: Who a request acts as when it does not say (the ``X-Actor`` header).
DEFAULT_ACTOR = "api"


class RequestUnit:
    """The current unit of work of one request (a ``ports.AsyncBankUnitOfWorkFactory``)."""

    def __init__(self, open_unit: Callable[[], ports.AsyncBankUnitOfWork]) -> None:
        self._open_unit = open_unit
        self._current: ports.AsyncBankUnitOfWork | None = None
        self.opened = 0

    def __call__(self) -> ports.AsyncBankUnitOfWork:
        if self._current is None or not self._current.is_active:
            self._current = self._open_unit()
            self.opened += 1
        return self._current

    async def close(self) -> None:
        """Close the open unit, discarding what it did not commit."""
        if self._current is not None and self._current.is_active:
            await self._current.close()


async def request_unit(request: Request) -> AsyncIterator[RequestUnit]:
    """The FastAPI dependency: the request's ``RequestUnit``, closed when the request ends."""
    unit = RequestUnit(request.app.state.container.async_unit_of_work)
    actor = request.headers.get("x-actor", "").strip() or DEFAULT_ACTOR
    with acting_as(actor[:200]):
        try:
            yield unit
        finally:
            await unit.close()
