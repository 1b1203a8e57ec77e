"""How the client's exceptions translate into this layer's errors. No I/O."""

from __future__ import annotations

from redis import exceptions as redis_errors

from .errors import CommitOutcomeUnknownError, PersistenceError, QueryTimeoutError

#: Errors after which the server may or may not have run the command.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    ConnectionError,
    TimeoutError,
)


class DatabaseUnavailableError(PersistenceError, ConnectionError):
    """The server could not be reached for a read; nothing was written."""


def is_timeout(exc: redis_errors.ResponseError) -> bool:
    return "timed out" in str(exc).lower()


def read_failure(exc: BaseException) -> PersistenceError:
    if isinstance(exc, redis_errors.ResponseError) and is_timeout(exc):
        return QueryTimeoutError(f"read timed out: {exc}")
    return DatabaseUnavailableError(f"read failed, the server is unreachable: {exc}")


def commit_in_doubt(exc: BaseException) -> CommitOutcomeUnknownError:
    return CommitOutcomeUnknownError(
        f"the connection failed while the commit was in flight ({exc}); it may or may not "
        "have been applied. Do not resend it: rerun the unit from fresh reads."
    )
