"""One FalkorDB deployment: a URL, or an embedded server when there is none.

The same code runs on one server, on a cluster and behind sentinels; only
the URL differs (forms in ``urls``)::

    Database()                                         # embedded server
    Database("falkor://db.internal:6379")              # one server (or detected shape)
    Database("unix:///run/falkordb.sock")
    Database("falkor+cluster://n1:6379,n2:6379")       # cluster, seed nodes
    Database("falkor+sentinel://s1:26379,s2:26379/bank")  # primary "bank"
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, Self

from .clients import AsyncClient, AsyncGate, Gate, SyncClient
from .connections import Limits, Resolved, Topology, async_connection, resolve, sync_connection
from .cypher import AsyncFastGraph, FastGraph
from .embedded import EmbeddedFalkorDB, SharedFalkorDB
from .graph_names import GraphNames
from .replication import ReplicaAck, replica_ack
from .urls import parse_database_url


def normalize_url(url: str) -> str:
    """Accept ``falkor://`` and ``falkors://`` as the client's ``redis://`` / ``rediss://``."""
    for ours, theirs in (("falkor://", "redis://"), ("falkors://", "rediss://")):
        if url.startswith(ours):
            return theirs + url[len(ours) :]
    return url


def with_socket_timeout(url: str, seconds: float | None) -> str:
    """``url`` with ``socket_timeout`` added to its query, unless None or the URL sets one."""
    if seconds is None or "socket_timeout=" in url.partition("?")[2]:
        return url
    return f"{url}{'&' if '?' in url else '?'}socket_timeout={seconds:g}"


class Database:
    """Connections to one FalkorDB deployment, and the embedded server when no URL is given.

    The client never retries a command by itself: a resent commit could be
    applied twice. Units of work are rerun from fresh reads instead.
    Reads go to primaries only, so a unit reads what was committed before it.

    Args:
        url: see the module docstring; None uses an embedded server.
        data_dir: the embedded server's data directory. Given, the server is
            the directory's shared one (``SharedFalkorDB``): started if none
            runs, used by every process pointed at the directory, stopped by
            the last of them. None: a throwaway server of this object's own.
        appendfsync: the embedded server's AOF policy.
        max_connections: the bound of each client's pool (per node on a
            cluster); callers beyond it wait up to ``pool_timeout_s``.
        graph_names: how ``graph_for`` names a tenant's graph (a template
            string or a ``GraphNames``).
        socket_timeout_s: a client-side limit on waiting for any reply
            (None, the default: none; a ``socket_timeout`` in the URL wins).
            A commit cut off by it may still be applied by the server: it
            raises ``CommitOutcomeUnknownError``. Long work is better bounded
            by the server-side query timeouts.
        replicas: acknowledge a write only once this many replicas confirm
            it (``WAIT``, in the same round trip); 0 for the primary's answer
            alone. None: the URL's ``replicas=`` option, else 0. Fewer in time
            raises ``CommitNotReplicatedError`` (applied on the primary, not
            known to be replicated).
        replica_timeout_ms: how long a write waits for its replicas (None:
            the URL's ``replica_timeout_ms=``, else 1000).

    Raises:
        ValueError: ``max_connections`` below 1, ``socket_timeout_s`` not positive,
            ``replicas`` negative,
            ``replica_timeout_ms`` below 1.
        DatabaseURLError: a URL that cannot be used.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        data_dir: str | Path | None = None,
        appendfsync: Literal["always", "everysec", "no"] | None = "everysec",
        max_connections: int = 64,
        pool_timeout_s: float = 30.0,
        graph_names: GraphNames | str = "{tenant}",
        socket_timeout_s: float | None = None,
        replicas: int | None = None,
        replica_timeout_ms: int | None = None,
    ) -> None:
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, got {max_connections}")
        if socket_timeout_s is not None and not socket_timeout_s > 0:
            raise ValueError(f"socket_timeout_s must be positive or None, got {socket_timeout_s}")
        self.socket_timeout_s = socket_timeout_s
        self._url = with_socket_timeout(normalize_url(url), socket_timeout_s) if url else None
        self._target = parse_database_url(self._url) if self._url else None
        if replicas is not None and (isinstance(replicas, bool) or replicas < 0):
            raise ValueError(f"replicas must be 0 or more, got {replicas!r}")
        self.ack: ReplicaAck | None = replica_ack(
            replicas if replicas is not None else getattr(self._target, "replicas", None),
            replica_timeout_ms
            if replica_timeout_ms is not None
            else getattr(self._target, "replica_timeout_ms", None),
        )
        self.server: EmbeddedFalkorDB | SharedFalkorDB | None = None
        if url is None:
            self.server = (
                EmbeddedFalkorDB(appendfsync=appendfsync)
                if data_dir is None
                else SharedFalkorDB(data_dir, appendfsync=appendfsync)
            )
        self.limits = Limits(max_connections, pool_timeout_s)
        self.graph_names = (
            graph_names if isinstance(graph_names, GraphNames) else GraphNames(graph_names)
        )
        self._resolved: Resolved | None = None
        self._client: SyncClient | None = None
        self._async_clients: list[AsyncClient] = []

    @property
    def max_connections(self) -> int:
        return self.limits.max_connections

    @property
    def pool_timeout_s(self) -> float:
        return self.limits.timeout_s

    @property
    def url(self) -> str:
        if self._url is None:
            assert self.server is not None
            self.server.start()
            return with_socket_timeout(self.server.url, self.socket_timeout_s)
        return self._url

    def open(self) -> Self:
        """Start the embedded server if there is one; connect lazily otherwise."""
        if self.server is not None:
            self.server.start()
        return self

    def _resolve(self) -> Resolved:
        if self._resolved is None:
            if self._target is None:  # the embedded server: one server, nothing to detect
                target = replace(parse_database_url(self.url), mode="standalone")
            else:
                target = self._target
            self._resolved = resolve(target)
        return self._resolved

    @property
    def topology(self) -> Topology:
        """``standalone``, ``cluster`` or ``sentinel`` (asks the server once when the URL does not say)."""
        return self._resolve().topology

    # -- sync ----------------------------------------------------------------

    @property
    def client(self) -> SyncClient:
        """The sync client (created on first use), a ``falkordb.FalkorDB``."""
        if self._client is None:
            resolved = self._resolve()
            connection, sentinel = sync_connection(resolved, self.limits)
            gate = None
            if resolved.topology != "standalone":
                gate = Gate(self.limits.max_connections, self.limits.timeout_s)
            self._client = SyncClient(connection, resolved.topology, gate, sentinel, self.ack)
        return self._client

    def graph(self, name: str) -> Any:
        """A sync handle on graph ``name`` (its queries send parameters the fast way)."""
        return FastGraph(self.client.select_graph(name))

    def graph_name(self, *args: Any, **fields: Any) -> str:
        """The graph name ``graph_names`` makes for these values, e.g. ``graph_name("acme")``."""
        return self.graph_names(*args, **fields)

    def graph_for(self, *args: Any, **fields: Any) -> Any:
        """A sync handle on a tenant's graph: ``graph_for("acme")`` or ``graph_for(tenant="acme")``."""
        return self.graph(self.graph_names(*args, **fields))

    def list_graphs(self) -> list[str]:
        """The names of all graphs (on every node of a cluster), sorted."""
        return self.client.list_graphs()

    # -- async ---------------------------------------------------------------

    def async_graph(self, name: str) -> Any:
        """An async handle on graph ``name``, on a new async client (see ``async_client``)."""
        return AsyncFastGraph(self.async_client().select_graph(name))

    def async_client(self) -> AsyncClient:
        """A new async client with its own pool; call it inside the event loop that uses it.

        Behind sentinels it asks them for the primary on every new connection,
        so it follows a failover; on a cluster it loads the slot map before
        its first command.
        """
        resolved = self._resolve()
        connection, sentinel = async_connection(resolved, self.limits)
        gate = None
        if resolved.topology != "standalone":
            gate = AsyncGate(self.limits.max_connections, self.limits.timeout_s)
        client = AsyncClient(
            connection, resolved.topology, gate, sentinel, resolved.target, self.ack
        )
        self._async_clients.append(client)
        return client

    # -- lifecycle -----------------------------------------------------------

    def close(self) -> None:
        """Close the sync pool and stop the embedded server (async clients: ``aclose``).

        A shared server (``data_dir`` given) is stopped only when no other
        process uses it.
        """
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.server is not None:
            self.server.stop()
            self._resolved = None

    async def aclose(self) -> None:
        """Close the async pools created by ``async_client``."""
        while self._async_clients:
            client = self._async_clients.pop()
            await client.aclose()

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()
