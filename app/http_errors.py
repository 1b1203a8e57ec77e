"""What each error means over HTTP: client errors get a 4xx and a message, never a 500.

Every error body has one shape, ``ErrorBody``: ``{"error": "<error class>",
"detail": "<what was wrong>"}``; for invalid input ``detail`` lists each
problem (``loc``, ``msg``, ``type``) instead:

- 400: the body cannot be read (not UTF-8);

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

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from domain.errors import AlreadyFriends, DomainError, EmailTaken, TransferIdReused
from infrastructure.persistence import (
    CommitOutcomeUnknownError,
    ConcurrencyError,
    DatabaseUnavailableError,
    DuplicateKeyError,
    EntityNotFoundError,
    QueryTimeoutError,
    ValueEncodingError,
)


class Problem(BaseModel):
    """One thing wrong with the input: where (``loc``) and what (``msg``, ``type``)."""

    loc: list[str] = Field(examples=[["body", "email"]])
    msg: str = Field(examples=["String should match pattern '^[^@\\s]+@[^@\\s]+$'"])
    type: str = Field(examples=["string_pattern_mismatch"])


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: str = Field(
        description="the kind of error: the error class, or the HTTP status for "
        "requests that reach no operation",
        examples=["EntityNotFoundError"],
    )
    detail: str | list[Problem] = Field(
        description="what was wrong; for invalid input (422, RequestValidationError) "
        "one entry per problem",
        examples=["no Person with id 5f0c..."],
    )


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, each with the ``ErrorBody`` shape."""
    return {status: {"model": ErrorBody, "description": MEANING[status]} for status in statuses}


MEANING = {
    400: "the request body cannot be read (it is not UTF-8)",
    404: "an id names nothing",
    409: "conflicts with the current state (already friends, a taken email or transfer "
    "id, a race lost after the retries)",
    422: "invalid input, or a domain rule refused it",
    503: "the database is unreachable or timed out, or a commit's outcome is unknown",
}

_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (EntityNotFoundError, 404),
    (AlreadyFriends, 409),
    (EmailTaken, 409),
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
    app.add_exception_handler(HTTPException, _http_error)


#: What FastAPI says when a body cannot be decoded, and what users are told instead.
_UNREADABLE = "There was an error parsing the body"


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    """Errors raised before any operation runs (unknown path, wrong method, unreadable body)."""
    assert isinstance(error, HTTPException)
    detail = str(error.detail)
    if error.status_code == 400 and detail == _UNREADABLE:
        detail = "the request body cannot be read: send JSON encoded in UTF-8"
    name = HTTPStatus(error.status_code).phrase.title().replace(" ", "").replace("-", "")
    return JSONResponse(
        status_code=error.status_code,
        content={"detail": detail, "error": name},
        headers=dict(error.headers or {}),
    )
