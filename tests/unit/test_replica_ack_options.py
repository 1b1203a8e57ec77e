"""How replica acknowledgement is asked for (URL option or ``Database`` argument), and refused."""

from __future__ import annotations

import pytest
from redis.exceptions import ClusterDownError

from infrastructure.persistence import (
    CommitError,
    CommitNotReplicatedError,
    CommitOutcomeUnknownError,
    DatabaseUnavailableError,
    UnitRun,
)
from infrastructure.persistence.retry import _after_failure
from infrastructure.persistence.wire import never_sent, unavailable
from infrastructure.server import Database, DatabaseURLError
from infrastructure.server.replication import DEFAULT_TIMEOUT_MS, ReplicaAck
from infrastructure.server.urls import parse_database_url


@pytest.mark.parametrize(
    "url",
    [
        "falkor://db:6379/0?replicas=2&replica_timeout_ms=300&socket_timeout=5",
        "falkor+sentinel://s1:26379,s2:26379/bank?replicas=2&replica_timeout_ms=300",
        "falkor+cluster://n1:7000,n2:7000?replica_timeout_ms=300&replicas=2",
        "unix:///run/falkordb.sock?db=0&replicas=2&replica_timeout_ms=300",
    ],
)
def test_the_url_options_are_read_and_not_passed_to_the_client(url: str) -> None:
    target = parse_database_url(url)
    assert (target.replicas, target.replica_timeout_ms) == (2, 300)
    assert "replica" not in target.url
    assert not any("replica" in name for name in target.options)
    assert Database(url).ack == ReplicaAck(2, 300)


def test_without_options_the_primary_answer_is_enough() -> None:
    assert Database("falkor://db:6379").ack is None
    assert Database("falkor://db:6379?replicas=0").ack is None
    assert Database("falkor://db:6379", replica_timeout_ms=50).ack is None


def test_arguments_win_over_the_url() -> None:
    url = "falkor://db:6379?replicas=2&replica_timeout_ms=300"
    assert Database(url, replicas=1).ack == ReplicaAck(1, 300)
    assert Database(url, replica_timeout_ms=40).ack == ReplicaAck(2, 40)
    assert Database(url, replicas=0).ack is None
    assert Database("falkor://db:6379", replicas=1).ack == ReplicaAck(1, DEFAULT_TIMEOUT_MS)


@pytest.mark.parametrize(
    ("url", "fault"),
    [
        ("falkor://db:6379?replicas=one", "replicas must be a whole number, got 'one'"),
        ("falkor://db:6379?replicas=-1", "replicas must be a whole number, got '-1'"),
        ("falkor://db:6379?replicas=1&replica_timeout_ms=", "replica_timeout_ms must be a whole"),
        ("unix:///x.sock?replica_timeout_ms=1.5", "replica_timeout_ms must be a whole number"),
    ],
)
def test_bad_url_options_are_refused_by_name(url: str, fault: str) -> None:
    with pytest.raises(DatabaseURLError, match=fault):
        Database(url)


@pytest.mark.parametrize(
    ("replicas", "timeout_ms", "fault"),
    [
        (-1, None, "replicas must be 0 or more, got -1"),
        (True, None, "replicas must be 0 or more, got True"),
        (1, 0, "replica_timeout_ms must be at least 1, got 0"),  # WAIT 0 blocks for ever
        (1, -5, "replica_timeout_ms must be at least 1, got -5"),
    ],
)
def test_bad_arguments_are_refused_by_name(
    replicas: int, timeout_ms: int | None, fault: str
) -> None:
    with pytest.raises(ValueError, match=fault):
        Database("falkor://db:6379", replicas=replicas, replica_timeout_ms=timeout_ms)


def test_an_unreplicated_commit_is_a_commit_error_of_unknown_durable_outcome() -> None:
    error = CommitNotReplicatedError(2, 1, 300)
    assert isinstance(error, CommitOutcomeUnknownError)
    assert isinstance(error, CommitError)
    assert str(error).startswith(
        "the commit was applied on the primary, but only 1 of the 2 required replica(s) "
        "confirmed it within 300 ms: it is not known to be replicated"
    )


def test_run_idempotent_counts_it_in_doubt_and_unreplicated() -> None:
    run: UnitRun[None] = UnitRun()
    _after_failure(run, CommitNotReplicatedError(1, 0, 10), 0.001, 0.001)
    _after_failure(run, CommitOutcomeUnknownError("dropped"), 0.001, 0.001)
    assert (run.in_doubt, run.unreplicated) == (2, 1)


def test_clusterdown_means_nothing_was_run() -> None:
    down = ClusterDownError("CLUSTERDOWN The cluster is down")
    assert never_sent(down)
    error = unavailable(down, "commit")
    assert isinstance(error, DatabaseUnavailableError)
    assert "the cluster is down" in str(error)
    assert "nothing was written" in str(error)
