"""What each error means over HTTP: client errors get a 4xx and a message, never a 500.

The body is ``{"detail": "<what was wrong>", "error": "<error class>"}``:

- 404: an id names nothing (a repository's not-found ``LookupError``);
- 409: the request collides with the current state: the pair are friends
  already, a transfer id is taken by another transfer, a key exists, or a
  concurrent update won every retry (asking again usually succeeds);
- 422: the input is malformed (request validation), a value cannot be stored,
  or a domain rule refused it (insufficient funds, currency mismatch, ...);
- 503: the database is unreachable, timed out, or a commit's outcome is
  unknown (repeat a transfer with the same ``transfer_id`` to be safe).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from domain.errors import AlreadyFriends, DomainError, TransferIdReused
from infrastructure.persistence import (
    CommitOutcomeUnknownError,
    ConcurrencyError,
    DatabaseUnavailableError,
    DuplicateKeyError,
    EntityNotFoundError,
    QueryTimeoutError,
    ValueEncodingError,
)

_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (EntityNotFoundError, 404),
    (AlreadyFriends, 409),
    (TransferIdReused, 409),
    (DomainError, 422),
    (ConcurrencyError, 409),
    (DuplicateKeyError, 409),
    (ValueEncodingError, 422),
    (CommitOutcomeUnknownError, 503),
    (DatabaseUnavailableError, 503),
    (QueryTimeoutError, 503),
)


def status_of(error: Exception) -> int:
    """The HTTP status for ``error`` (the first matching class above wins)."""
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


def detail_of(error: Exception) -> str:
    if isinstance(error, EntityNotFoundError):
        ids = ", ".join(str(k) for k in error.keys)
        return f"no {error.entity} with id {ids}"
    return str(error)


async def _respond(request: Request, error: Exception) -> JSONResponse:
    return JSONResponse(
        status_code=status_of(error),
        content={"detail": detail_of(error), "error": type(error).__name__},
    )


async def _invalid_request(request: Request, error: Exception) -> JSONResponse:
    # Only where and what: the offending input itself may not be JSON (NaN, bytes).
    assert isinstance(error, RequestValidationError)
    problems = [
        {"loc": [str(part) for part in e["loc"]], "msg": str(e["msg"]), "type": str(e["type"])}
        for e in error.errors()
    ]
    return JSONResponse(
        status_code=422, content={"detail": problems, "error": "RequestValidationError"}
    )


def install(app: FastAPI) -> None:
    """Register the handlers of every error class in the table, and of invalid requests."""
    for kind, _ in _STATUS:
        app.add_exception_handler(kind, _respond)
    app.add_exception_handler(RequestValidationError, _invalid_request)
