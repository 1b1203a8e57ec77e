"""A failover nemesis and the bank workers it runs against (sentinel and cluster).

Each round the nemesis waits until the replica is in sync, lets the workers
commit for a random moment, then SIGKILLs the primary, waits until the
replica has been promoted, and starts the killed node again on its data as
a replica of the new primary (its append-only file holds what it
acknowledged; whatever the new primary lacks is dropped when it resyncs).

In half the rounds the replica lags first: its process is frozen (SIGSTOP)
for a random 50-250 ms before the kill and thawed right after it.
Replication is asynchronous and lag is when that bites: commits
acknowledged by the primary alone during the lag are lost by the
failover, which is what replica acknowledgement (``WAIT``) prevents.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import redis

from infrastructure.persistence import (
    CommitOutcomeUnknownError,
    ConcurrencyError,
    DatabaseUnavailableError,
    run_idempotent,
)
from infrastructure.server import EmbeddedFalkorDB
from infrastructure.server.local_cluster import LocalCluster
from infrastructure.server.local_sentinel import LocalSentinel

from .bank_workload import (
    Ledger,
    UnitFactory,
    random_intent,
    recording,
    transfer_stored,
    transfer_work,
)

PATIENCE_S = 60.0  # a bound against hanging, not a speed requirement


class Replicated(Protocol):
    """A primary with one replica that a failover can replace."""

    def primary(self) -> EmbeddedFalkorDB: ...
    def replica(self) -> EmbeddedFalkorDB: ...
    def wait_healthy(self) -> None: ...
    def wait_promoted(self, old: EmbeddedFalkorDB) -> None: ...
    def rejoin(self, old: EmbeddedFalkorDB) -> None: ...


class SentinelPair:
    """``LocalSentinel``'s primary and replica; the sentinel promotes."""

    def __init__(self, setup: LocalSentinel) -> None:
        self.setup = setup

    def primary(self) -> EmbeddedFalkorDB:
        return self.setup.server_at(self.setup.primary_address()[1])

    def replica(self) -> EmbeddedFalkorDB:
        primary = self.primary()
        return next(s for s in self.setup.servers if s is not primary)

    def wait_healthy(self) -> None:
        self.setup.wait_healthy(PATIENCE_S)

    def wait_promoted(self, old: EmbeddedFalkorDB) -> None:
        self.setup.wait_for_failover(old.port or 0, PATIENCE_S)

    def rejoin(self, old: EmbeddedFalkorDB) -> None:
        self.setup.restart_as_replica(old)


class ClusterShard:
    """The primary holding ``key`` in a ``LocalCluster`` with replicas, and its replica."""

    def __init__(self, cluster: LocalCluster, key: str) -> None:
        self.cluster = cluster
        self.key = key

    def primary(self) -> EmbeddedFalkorDB:
        return self.cluster.nodes[self.cluster.primary_for(self.key)]

    def replica(self) -> EmbeddedFalkorDB:
        (index,) = self.cluster.replicas_of(self.cluster.primary_for(self.key))
        return self.cluster.nodes[index]

    def _until(self, ready: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + PATIENCE_S
        while True:
            try:
                if ready():
                    return
            except (redis.RedisError, ValueError, OSError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.05)

    def _state_ok(self) -> bool:
        for i, node in enumerate(self.cluster.nodes):
            if node.process is None or node.process.poll() is not None:
                continue
            with redis.Redis(port=self.cluster.ports[i], socket_timeout=2) as client:
                if client.cluster("info").get("cluster_state") != "ok":
                    return False
        return True

    def wait_healthy(self) -> None:
        def synced() -> bool:
            primary = self.cluster.primary_for(self.key)
            replicas = self.cluster.replicas_of(primary)
            if len(replicas) != 1 or not self._state_ok():
                return False
            with redis.Redis(port=self.cluster.ports[replicas[0]], socket_timeout=2) as client:
                info = client.info("replication")
            return info.get("master_link_status") == "up" and not info.get(
                "master_sync_in_progress"
            )

        self._until(synced, "the shard's replica to be in sync")

    def wait_promoted(self, old: EmbeddedFalkorDB) -> None:
        old_index = self.cluster.nodes.index(old)
        self._until(
            lambda: self.cluster.primary_for(self.key) != old_index and self._state_ok(),
            "the replica to take over the slot",
        )

    def rejoin(self, old: EmbeddedFalkorDB) -> None:
        old.restart()  # its nodes.conf makes it a replica of the new primary


class Nemesis(threading.Thread):
    """Runs ``rounds`` failovers of ``target`` (see the module docstring), then stops."""

    def __init__(
        self, target: Replicated, rounds: int, pause_s: tuple[float, float], seed: int
    ) -> None:
        super().__init__(daemon=True)
        self.target = target
        self.rounds = rounds
        self.pause_s = pause_s
        self.rng = random.Random(seed)
        self.failovers = 0
        self.lagged = 0
        self.done = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for _ in range(self.rounds):
                self.target.wait_healthy()
                time.sleep(self.rng.uniform(*self.pause_s))
                self._fail_over(lag=self.rng.random() < 0.5)
            self.target.wait_healthy()
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.done.set()

    def _fail_over(self, lag: bool) -> None:
        primary, replica = self.target.primary(), self.target.replica()
        assert replica.pid is not None
        if lag:
            os.kill(replica.pid, signal.SIGSTOP)
            time.sleep(self.rng.uniform(0.05, 0.25))
        try:
            primary.kill()
        finally:
            if lag:
                os.kill(replica.pid, signal.SIGCONT)
                self.lagged += 1
        self.target.wait_promoted(primary)
        self.failovers += 1
        self.target.rejoin(primary)


@dataclass
class Workers:
    """Threads running transfer units until ``stop`` is set, all recording in one ledger."""

    new_unit: UnitFactory
    accounts: list[object]
    threads: int
    ledger: Ledger = field(default_factory=Ledger)
    stop: threading.Event = field(default_factory=threading.Event)
    unreplicated: int = 0
    failures: list[BaseException] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _running: list[threading.Thread] = field(default_factory=list)

    def start(self, seed: int) -> None:
        for i in range(self.threads):
            thread = threading.Thread(target=self._loop, args=(seed + i,), daemon=True)
            thread.start()
            self._running.append(thread)

    def join(self) -> None:
        self.stop.set()
        for thread in self._running:
            thread.join(PATIENCE_S)

    def _loop(self, seed: int) -> None:
        try:
            self._transfers(seed)
        except BaseException as exc:  # reported by the test
            self.failures.append(exc)

    def _transfers(self, seed: int) -> None:
        rng = random.Random(seed)
        ledger = self.ledger
        while not self.stop.is_set():
            intent = random_intent(rng, self.accounts)  # type: ignore[arg-type]
            work = recording(transfer_work(self.new_unit, intent), ledger.errors)
            if rng.random() < 0.25:
                # One attempt, no retry: its outcome stays as the client saw it.
                try:
                    work()
                except CommitOutcomeUnknownError:
                    with self._lock:
                        ledger.in_doubt[intent.id] = intent
                except (DatabaseUnavailableError, ConcurrencyError):
                    with self._lock:
                        ledger.not_written[intent.id] = intent
                else:
                    with self._lock:
                        ledger.acknowledged[intent.id] = intent
                continue
            try:
                run = run_idempotent(
                    work,
                    transfer_stored(self.new_unit, intent),
                    attempts=400,
                    unavailable_delay_s=0.005,
                )
            except (CommitOutcomeUnknownError, DatabaseUnavailableError):
                with self._lock:
                    ledger.in_doubt[intent.id] = intent  # gave up: may or may not be there
                continue
            with self._lock:
                self.unreplicated += run.unreplicated
                if run.applied_earlier:
                    ledger.applied_earlier += 1
                    ledger.in_doubt[intent.id] = intent
                else:
                    ledger.acknowledged[intent.id] = intent
