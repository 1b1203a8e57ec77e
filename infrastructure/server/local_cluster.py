"""A throwaway FalkorDB cluster on this machine, for tests and benchmarks.

``LocalCluster`` starts N ``redis-server`` processes with the FalkorDB module
and ``--cluster-enabled yes`` on free loopback ports, gives each primary an
equal share of the 16384 hash slots (``CLUSTER ADDSLOTSRANGE``), joins them
(``CLUSTER MEET``) and waits until every node reports ``cluster_state:ok``
and agrees on who owns which slot. With ``replicas=1`` each primary gets a
replica (``CLUSTER REPLICATE``), which takes over its slots when it fails.
Only the processes it started are ever stopped, by their pid.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Literal, Self

import redis
from redis.crc import key_slot

from .embedded import EmbeddedFalkorDB, EmbeddedServerError, free_port
from .lifecycle import Started

SLOTS = 16384


class LocalClusterError(EmbeddedServerError):
    """The local cluster did not form in time (the message says what was missing)."""


def _command(client: redis.Redis, *args: Any) -> Any:
    return client.execute_command(*args)  # type: ignore[no-untyped-call]


def _node_count(nodes: Any) -> int:
    # redis-py parses CLUSTER NODES into a dict keyed by address; raw text has a line each.
    return len(nodes) if isinstance(nodes, dict) else len(str(nodes).splitlines())


def slot_ranges(nodes: int) -> list[tuple[int, int]]:
    """Inclusive slot ranges splitting all hash slots evenly over ``nodes`` primaries."""
    if nodes < 1:
        raise ValueError(f"a cluster needs at least one node, got {nodes}")
    bounds = [SLOTS * i // nodes for i in range(nodes + 1)]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(nodes)]


def slot_of(key: str) -> int:
    """The hash slot of ``key`` (a ``{tag}`` in it decides alone, as in Redis Cluster)."""
    return int(key_slot(key.encode()))


class LocalCluster(Started):
    """N FalkorDB primaries (and their replicas) forming one Redis Cluster on 127.0.0.1.

    ``nodes`` lists the primaries first (``nodes[i]`` owns ``ranges[i]`` at
    start), then their replicas: ``nodes[n + r * n + i]`` replicates primary
    ``i``. After a failover the roles change; ``primary_for`` asks.

    Args:
        nodes: how many primaries (each owns an equal slot range).
        replicas: how many replicas each primary gets.
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
        replicas: int = 0,
        data_dir: str | Path | None = None,
        appendfsync: Literal["always", "everysec", "no"] | None = None,
        node_timeout_ms: int = 2000,
        full_coverage: bool = True,
        startup_timeout_s: float = 30.0,
    ) -> None:
        if replicas < 0:
            raise ValueError(f"replicas must be 0 or more, got {replicas}")
        self.ranges = slot_ranges(nodes)
        self.replicas = replicas
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
            for i in range(len(self.ranges) * (1 + self.replicas)):
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
                        # a replica's first sync starts at once (not after 5 s)
                        "--repl-diskless-sync-delay", "0",
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
            primaries = len(self.ranges)
            for epoch, (client, (lo, hi)) in enumerate(
                zip(clients[:primaries], self.ranges, strict=True), 1
            ):
                _command(client, "CLUSTER", "SET-CONFIG-EPOCH", epoch)
                _command(client, "CLUSTER", "ADDSLOTSRANGE", lo, hi)
            for port, bus_port in zip(self.ports[1:], self.bus_ports[1:], strict=True):
                _command(clients[0], "CLUSTER", "MEET", "127.0.0.1", port, bus_port)
            if self.replicas:
                ids = [_command(c, "CLUSTER", "MYID") for c in clients[:primaries]]
                self._wait_known(clients)
                for j, client in enumerate(clients[primaries:]):
                    _command(client, "CLUSTER", "REPLICATE", ids[j % primaries])
            self._wait_formed(clients)
        finally:
            for client in clients:
                client.close()

    def _wait_known(self, clients: list[redis.Redis]) -> None:
        """Wait until every node knows every other (a replica must know its primary)."""
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            known = [_node_count(_command(c, "CLUSTER", "NODES")) for c in clients]
            if all(k == len(clients) for k in known):
                return
            time.sleep(0.05)
        raise LocalClusterError(f"the nodes did not meet within {self.startup_timeout_s}s")

    def _replicas_synced(self, clients: list[redis.Redis]) -> str:
        for i, client in enumerate(clients[len(self.ranges) :], len(self.ranges)):
            info = client.info("replication")
            if info.get("role") != "slave" or info.get("master_link_status") != "up":
                return f"node {i} is not a synced replica yet"
        return ""

    def primary_for(self, key: str) -> int:
        """Which node (index into ``nodes``) is the primary of ``key``'s slot now."""
        slot = slot_of(key)
        for i, node in enumerate(self.nodes):
            if node.process is None or node.process.poll() is not None:
                continue
            try:
                with self._client(i) as client:
                    for lo, hi, primary, *_ in _command(client, "CLUSTER", "SLOTS"):
                        if lo <= slot <= hi:
                            return self.ports.index(int(primary[1]))
            except (redis.ConnectionError, redis.TimeoutError):
                continue
        raise LocalClusterError(f"no live node knows the primary of {key!r}")

    def replicas_of(self, index: int) -> list[int]:
        """The nodes (indexes) that replicate node ``index`` now."""
        found = []
        for i in range(len(self.nodes)):
            try:
                with self._client(i) as client:
                    info = client.info("replication")
            except (redis.ConnectionError, redis.TimeoutError):
                continue
            if info.get("role") == "slave" and int(info.get("master_port", 0)) == self.ports[index]:
                found.append(i)
        return found

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
            if not missing and self.replicas:
                missing = self._replicas_synced(clients)
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
