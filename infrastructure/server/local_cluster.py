"""A throwaway FalkorDB cluster on this machine, for tests and benchmarks.

``LocalCluster`` starts N ``redis-server`` processes with the FalkorDB module
and ``--cluster-enabled yes`` on free loopback ports, gives each primary an
equal share of the 16384 hash slots (``CLUSTER ADDSLOTSRANGE``), joins them
(``CLUSTER MEET``) and waits until every node reports ``cluster_state:ok``
and agrees on who owns which slot. Only the processes it started are ever
stopped, by their pid.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import redis
from redis.crc import key_slot

from .embedded import EmbeddedFalkorDB, EmbeddedServerError, free_port

SLOTS = 16384


class LocalClusterError(EmbeddedServerError):
    """The local cluster did not form in time (the message says what was missing)."""


def _command(client: redis.Redis, *args: Any) -> Any:
    return client.execute_command(*args)  # type: ignore[no-untyped-call]


def slot_ranges(nodes: int) -> list[tuple[int, int]]:
    """Inclusive slot ranges splitting all hash slots evenly over ``nodes`` primaries."""
    if nodes < 1:
        raise ValueError(f"a cluster needs at least one node, got {nodes}")
    bounds = [SLOTS * i // nodes for i in range(nodes + 1)]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(nodes)]


def slot_of(key: str) -> int:
    """The hash slot of ``key`` (a ``{tag}`` in it decides alone, as in Redis Cluster)."""
    return int(key_slot(key.encode()))


class LocalCluster:
    """N FalkorDB primaries forming one Redis Cluster on 127.0.0.1.

    Args:
        nodes: how many primaries (each owns an equal slot range).
        data_dir: parent of the nodes' directories (a temporary one when None,
            removed on ``stop``).
        appendfsync: the nodes' AOF policy (None: no AOF).
        node_timeout_ms: ``cluster-node-timeout``: how long a silent node
            takes to be declared failed.
        full_coverage: ``cluster-require-full-coverage``: when True, a failed
            node without a replica stops the whole cluster (``CLUSTERDOWN``);
            when False the other nodes keep serving their slots.
        startup_timeout_s: how long to wait for the cluster to form.
    """

    def __init__(
        self,
        nodes: int = 3,
        *,
        data_dir: str | Path | None = None,
        appendfsync: Literal["always", "everysec", "no"] | None = None,
        node_timeout_ms: int = 2000,
        full_coverage: bool = True,
        startup_timeout_s: float = 30.0,
    ) -> None:
        self.ranges = slot_ranges(nodes)
        self._own_dir = data_dir is None
        self.data_dir = (
            Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="falkordb-cluster-"))
        )
        self.appendfsync = appendfsync
        self.node_timeout_ms = node_timeout_ms
        self.full_coverage = full_coverage
        self.startup_timeout_s = startup_timeout_s
        self.nodes: list[EmbeddedFalkorDB] = []
        self.bus_ports: list[int] = []

    @property
    def ports(self) -> list[int]:
        return [node.port for node in self.nodes if node.port is not None]

    @property
    def pids(self) -> list[int]:
        return [node.pid for node in self.nodes if node.pid is not None]

    @property
    def url(self) -> str:
        """A URL reaching the cluster through its first node (the rest is discovered)."""
        return f"redis://127.0.0.1:{self.ports[0]}"

    def node_index(self, key: str) -> int:
        """Which node (index into ``nodes``) owns ``key``'s slot."""
        slot = slot_of(key)
        return next(i for i, (lo, hi) in enumerate(self.ranges) if lo <= slot <= hi)

    def start(self) -> Self:
        """Start the nodes, assign the slots, join them and wait for ``cluster_state:ok``.

        Raises:
            EmbeddedServerError: a node did not start.
            LocalClusterError: the cluster did not form within ``startup_timeout_s``.
        """
        if self.nodes:
            return self
        try:
            for i in range(len(self.ranges)):
                bus_port = free_port()
                node = EmbeddedFalkorDB(
                    self.data_dir / f"node{i}",
                    appendfsync=self.appendfsync,
                    startup_timeout_s=self.startup_timeout_s,
                    extra_args=[
                        "--cluster-enabled", "yes",
                        "--cluster-config-file", "nodes.conf",
                        "--cluster-port", str(bus_port),
                        "--cluster-node-timeout", str(self.node_timeout_ms),
                        "--cluster-require-full-coverage", "yes" if self.full_coverage else "no",
                    ],
                )  # fmt: skip
                self.nodes.append(node)
                self.bus_ports.append(bus_port)
                node.start()
            self._form()
        except BaseException:
            self.stop()
            raise
        return self

    def _client(self, i: int) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1", port=self.ports[i], socket_timeout=5, decode_responses=True
        )

    def _form(self) -> None:
        clients = [self._client(i) for i in range(len(self.nodes))]
        try:
            for epoch, (client, (lo, hi)) in enumerate(zip(clients, self.ranges, strict=True), 1):
                _command(client, "CLUSTER", "SET-CONFIG-EPOCH", epoch)
                _command(client, "CLUSTER", "ADDSLOTSRANGE", lo, hi)
            for port, bus_port in zip(self.ports[1:], self.bus_ports[1:], strict=True):
                _command(clients[0], "CLUSTER", "MEET", "127.0.0.1", port, bus_port)
            self._wait_formed(clients)
        finally:
            for client in clients:
                client.close()

    def _wait_formed(self, clients: list[redis.Redis]) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        expected = sorted(self.ranges)
        missing = "nothing yet"
        while time.monotonic() < deadline:
            missing = ""
            for i, client in enumerate(clients):
                info = _command(client, "CLUSTER", "INFO")
                text = info if isinstance(info, str) else str(info)
                fields = dict(
                    line.split(":", 1) for line in text.splitlines() if ":" in line.strip()
                )
                owned = sorted((int(s[0]), int(s[1])) for s in _command(client, "CLUSTER", "SLOTS"))
                if fields.get("cluster_state") != "ok":
                    missing = f"node {i}: cluster_state={fields.get('cluster_state')}"
                elif int(fields.get("cluster_known_nodes", 0)) != len(clients):
                    missing = f"node {i} knows {fields.get('cluster_known_nodes')} nodes"
                elif owned != expected:
                    missing = f"node {i} sees slot ranges {owned}"
                if missing:
                    break
            if not missing:
                return
            time.sleep(0.05)
        raise LocalClusterError(
            f"the cluster did not form within {self.startup_timeout_s}s ({missing})"
        )

    def kill(self, i: int) -> None:
        """SIGKILL node ``i``, as a crash would."""
        self.nodes[i].kill()

    def stop(self) -> None:
        """Stop every node started here (by pid) and remove a temporary directory."""
        for node in self.nodes:
            node.stop()
        self.nodes = []
        self.bus_ports = []
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
