"""How the client's exceptions translate into this layer's errors. No I/O.

A failed query falls into one of three kinds, and callers act on each
differently:

- nothing was written, retry when the server is back: the server could not
  be reached at connect time, it answered ``LOADING`` while it replays its
  append-only file, a cluster answered ``CLUSTERDOWN`` (a failed primary's
  slots not yet taken over), or no pooled connection became free
  (``DatabaseUnavailableError``);
- a commit may or may not have been applied: the connection failed after the
  query was sent (``CommitOutcomeUnknownError``; rerun the unit from fresh
  reads, never resend);
- the query ran past its timeout (``QueryTimeoutError``; a write that timed
  out was undone by the server).

redis-py reports all connection trouble as ``ConnectionError`` or one of its
subclasses (``BusyLoadingError`` is one): the kind is told from the subclass
and from the operating-system error it was raised while handling.
"""

from __future__ import annotations

from redis import exceptions as redis_errors

from .errors import (
    CommitOutcomeUnknownError,
    DatabaseUnavailableError,
    PersistenceError,
    QueryTimeoutError,
)

#: Errors after which the server may or may not have run the command.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    ConnectionError,
    TimeoutError,
)

# What redis-py's blocking pools raise when no connection frees up in time.
POOL_EXHAUSTED = "No connection available."

# OS errors that can only happen while connecting: the command never left.
_NOT_CONNECTED = (ConnectionRefusedError, FileNotFoundError)


def is_timeout(exc: redis_errors.ResponseError) -> bool:
    """Whether the server stopped the query at its timeout."""
    return "timed out" in str(exc).lower()


def never_sent(exc: BaseException) -> bool:
    """Whether ``exc`` proves the command was not executed by the server.

    True for ``LOADING`` and ``CLUSTERDOWN`` answers, refused connections
    (TCP or unix socket) and an exhausted connection pool.
    """
    if isinstance(exc, redis_errors.BusyLoadingError | redis_errors.ClusterDownError):
        return True
    if isinstance(exc, redis_errors.ConnectionError) and str(exc) == POOL_EXHAUSTED:
        return True
    cause = exc.__cause__ or exc.__context__
    return isinstance(exc, redis_errors.ConnectionError) and isinstance(cause, _NOT_CONNECTED)


def unavailable(exc: BaseException, what: str) -> DatabaseUnavailableError:
    """``DatabaseUnavailableError`` for ``what`` ("read", "commit") failing with ``exc``."""
    if isinstance(exc, redis_errors.BusyLoadingError):
        why = "the server is still loading its data (LOADING)"
    elif isinstance(exc, redis_errors.ClusterDownError):
        why = f"the cluster is down ({exc}), as while a replica takes over a failed primary"
    elif str(exc) == POOL_EXHAUSTED:
        why = "no connection of the pool became free in time"
    else:
        why = f"the server is unreachable ({exc})"
    return DatabaseUnavailableError(f"{what} failed: {why}; nothing was written, retry later")


def read_failure(exc: BaseException) -> PersistenceError:
    """The error a failed read stands for: a timeout, or the server being unavailable."""
    if isinstance(exc, redis_errors.ResponseError) and is_timeout(exc):
        return QueryTimeoutError(f"read timed out: {exc}")
    return unavailable(exc, "read")


def commit_timed_out(exc: BaseException, timeout_ms: int | None) -> QueryTimeoutError:
    """A commit the server stopped at its timeout: it undid the whole query."""
    limit = f" after {timeout_ms} ms" if timeout_ms is not None else ""
    return QueryTimeoutError(f"commit timed out{limit} ({exc}); nothing was written")


def commit_in_doubt(exc: BaseException) -> CommitOutcomeUnknownError:
    return CommitOutcomeUnknownError(
        f"the connection failed while the commit was in flight ({exc}); it may or may not "
        "have been applied. Do not resend it: rerun the unit from fresh reads."
    )


def commit_failure(exc: BaseException) -> PersistenceError:
    """The error a commit that failed on the connection stands for.

    ``DatabaseUnavailableError`` when the query provably never ran,
    ``CommitOutcomeUnknownError`` otherwise.
    """
    if never_sent(exc):
        return unavailable(exc, "commit")
    return commit_in_doubt(exc)
