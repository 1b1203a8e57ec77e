"""The pure parts: how client errors are classified, and ``run_idempotent``'s decisions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
from redis import exceptions as redis_errors

from infrastructure.persistence import (
    CommitOutcomeUnknownError,
    ConcurrencyError,
    DatabaseUnavailableError,
    DuplicateKeyError,
    QueryTimeoutError,
    run_idempotent,
    run_idempotent_async,
)
from infrastructure.persistence.wire import (
    POOL_EXHAUSTED,
    commit_failure,
    never_sent,
    read_failure,
)


def refused() -> BaseException:
    """A refused connection as redis-py reports it: raised while handling the OS error."""
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError:
            raise redis_errors.ConnectionError("Error 111 connecting to 127.0.0.1:1.")  # noqa: B904
    except redis_errors.ConnectionError as exc:
        return exc


@pytest.mark.parametrize(
    ("error", "sent"),
    [
        (redis_errors.BusyLoadingError("Redis is loading the dataset in memory"), False),
        (redis_errors.ConnectionError(POOL_EXHAUSTED), False),
        (redis_errors.ConnectionError("Connection closed by server."), True),
        (redis_errors.TimeoutError("Timeout reading from socket"), True),
        (ConnectionResetError(104, "Connection reset by peer"), True),
    ],
    ids=["loading", "pool-exhausted", "closed-by-server", "socket-timeout", "reset"],
)
def test_what_proves_a_command_never_ran(error: BaseException, sent: bool) -> None:
    assert never_sent(error) is not sent
    expected = CommitOutcomeUnknownError if sent else DatabaseUnavailableError
    assert isinstance(commit_failure(error), expected)


def test_a_refused_connection_proves_the_commit_never_ran() -> None:
    error = refused()
    assert never_sent(error)
    failure = commit_failure(error)
    assert isinstance(failure, DatabaseUnavailableError)
    assert "nothing was written" in str(failure)


def test_read_failures_name_their_kind() -> None:
    loading = read_failure(redis_errors.BusyLoadingError("Redis is loading"))
    assert isinstance(loading, DatabaseUnavailableError)
    assert "LOADING" in str(loading)
    timed_out = read_failure(redis_errors.ResponseError("Query timed out"))
    assert isinstance(timed_out, QueryTimeoutError)


class Script:
    """A unit that raises the scripted errors in turn, then returns ``"done"``."""

    def __init__(self, *errors: BaseException, applied: Iterator[bool] | None = None) -> None:
        self.errors = list(errors)
        self.calls = 0
        self.asked = 0
        self.applied = applied or iter(())

    def work(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"

    def already_applied(self) -> bool:
        self.asked += 1
        return next(self.applied)


def fast(script: Script, attempts: int = 10) -> Callable[[], object]:
    return lambda: run_idempotent(
        script.work,
        script.already_applied,
        attempts=attempts,
        base_delay_s=0,
        unavailable_delay_s=0,
    )


def in_doubt() -> CommitOutcomeUnknownError:
    return CommitOutcomeUnknownError("connection lost mid-commit")


def test_conflicts_and_unavailability_rerun_the_unit() -> None:
    script = Script(ConcurrencyError([("Account", 1)]), DatabaseUnavailableError("down"))
    run = run_idempotent(script.work, script.already_applied, base_delay_s=0, unavailable_delay_s=0)
    assert (run.value, run.attempts, run.conflicts, run.unavailable) == ("done", 3, 1, 1)
    assert script.asked == 0  # nothing was in doubt


def test_an_in_doubt_commit_that_landed_is_not_applied_again() -> None:
    script = Script(in_doubt(), applied=iter([True]))
    run = run_idempotent(script.work, script.already_applied, unavailable_delay_s=0)
    assert run.applied_earlier
    assert run.value is None
    assert (script.calls, script.asked, run.in_doubt) == (1, 1, 1)


def test_an_in_doubt_commit_that_did_not_land_is_rerun() -> None:
    script = Script(in_doubt(), applied=iter([False]))
    run = run_idempotent(script.work, script.already_applied, unavailable_delay_s=0)
    assert (run.value, run.applied_earlier, script.calls) == ("done", False, 2)


def test_a_duplicate_key_after_doubt_means_look_again() -> None:
    script = Script(in_doubt(), DuplicateKeyError("Transfer[1]"), applied=iter([False, True]))
    run = run_idempotent(script.work, script.already_applied, unavailable_delay_s=0)
    assert run.applied_earlier
    assert (script.calls, script.asked, run.duplicates) == (2, 2, 1)


def test_a_duplicate_key_without_doubt_is_a_real_duplicate() -> None:
    script = Script(DuplicateKeyError("Transfer[1] already exists"))
    with pytest.raises(DuplicateKeyError):
        fast(script)()
    assert script.calls == 1


def test_the_last_error_is_raised_when_attempts_run_out() -> None:
    script = Script(*[ConcurrencyError([("Account", 1)]) for _ in range(3)])
    with pytest.raises(ConcurrencyError):
        fast(script, attempts=3)()
    assert script.calls == 3


def test_other_errors_are_not_retried() -> None:
    script = Script(ValueError("domain says no"))
    with pytest.raises(ValueError, match="domain says no"):
        fast(script)()
    assert script.calls == 1


def test_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        fast(Script(), attempts=0)()


def test_the_async_twin_decides_the_same() -> None:
    script = Script(ConcurrencyError([]), in_doubt(), applied=iter([True]))

    async def work() -> str:
        return script.work()

    async def applied() -> bool:
        return script.already_applied()

    run = asyncio.run(run_idempotent_async(work, applied, base_delay_s=0, unavailable_delay_s=0))
    assert (run.applied_earlier, run.conflicts, run.in_doubt, script.calls) == (True, 1, 1, 2)
