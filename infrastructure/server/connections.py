"""Client connections for each deployment shape: one server, a cluster, a sentinel-watched primary.

Two rules hold for every shape, sync and async:

- No command is ever resent by the client. redis-py retries a command after
  a dropped connection by default, and a commit sent twice can be applied
  twice; every connection, cluster client and node pool here is built with
  zero retries. A unit of work is rerun from fresh reads instead.
- Pools are bounded. A single server gets a blocking pool; cluster and
  sentinel pools cannot block, so ``Gate`` (in ``clients``) bounds the
  commands in flight instead and callers beyond the bound wait.

Redirections that prove a command did not run (``MOVED``, ``ASK``,
``TRYAGAIN``) are still followed: they are answers, not lost replies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import redis
import redis.asyncio as aredis
from redis.asyncio.cluster import ClusterNode as AsyncClusterNode
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.asyncio.retry import Retry as AsyncRetry
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import RedisClusterException
from redis.retry import Retry
from redis.sentinel import Sentinel

from .urls import DatabaseURLError, Target

Topology = Literal["standalone", "cluster", "sentinel"]

#: How long to wait for a TCP connect when the URL does not say.
CONNECT_TIMEOUT_S = 5.0
#: Timeouts for the short questions asked of sentinels.
SENTINEL_TIMEOUT_S = 2.0
#: No client-side limit on waiting for a reply, unless the URL sets ``socket_timeout``.
#: Queries are bounded by their server-side timeouts instead. A socket timeout cuts a
#: commit off while the server may still apply it: its outcome is then unknown
#: (``CommitOutcomeUnknownError``), so set one only when that is what you want.
SOCKET_TIMEOUT_S: float | None = None


@dataclass(frozen=True)
class Limits:
    """Pool bounds: at most ``max_connections`` per server, waiting up to ``timeout_s``."""

    max_connections: int
    timeout_s: float


@dataclass(frozen=True)
class Resolved:
    """A URL's target with its shape known (and, behind sentinels, the service name)."""

    target: Target
    topology: Topology
    service: str | None = None


def _node_options(target: Target) -> dict[str, Any]:
    options = {
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
        "socket_timeout": SOCKET_TIMEOUT_S,
        **target.options,
    }
    options["decode_responses"] = True
    return options


def _url_extras(target: Target) -> dict[str, Any]:
    """Options to add to a URL that redis-py parses itself (the URL's own options win)."""
    extras: dict[str, Any] = {"decode_responses": True}
    if "socket_connect_timeout" not in target.options:
        extras["socket_connect_timeout"] = CONNECT_TIMEOUT_S
    if "socket_timeout" not in target.options:
        extras["socket_timeout"] = SOCKET_TIMEOUT_S
    return extras


def _sentinel_options(target: Target) -> dict[str, Any]:
    return {
        "socket_timeout": SENTINEL_TIMEOUT_S,
        "socket_connect_timeout": SENTINEL_TIMEOUT_S,
        "decode_responses": True,
        **target.sentinel_options,
    }


def _watched_services(sentinel: Sentinel, target: Target) -> list[str]:
    """The names of the primaries the first reachable sentinel watches."""
    failures: list[str] = []
    for node in sentinel.sentinels:
        try:
            masters: dict[str, Any] = node.sentinel_masters()  # type: ignore[assignment]
            return sorted(masters)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            failures.append(str(exc))
    seeds = ", ".join(f"{host}:{port}" for host, port in target.hosts)
    raise redis.ConnectionError(f"no sentinel reachable at {seeds}: {'; '.join(failures)}")


def _service(target: Target) -> str:
    """The service the URL names, checked against what the sentinels watch (or the only one)."""
    sentinel = Sentinel(list(target.hosts), sentinel_kwargs=_sentinel_options(target))  # type: ignore[no-untyped-call]
    try:
        watched = _watched_services(sentinel, target)
    finally:
        sentinel.close()
    if target.service is not None:
        if target.service not in watched:
            raise DatabaseURLError(
                f"the sentinels watch no primary named {target.service!r} "
                f"(they watch: {', '.join(watched) or 'none'})"
            )
        return target.service
    if len(watched) != 1:
        raise DatabaseURLError(
            f"the sentinels watch {len(watched)} primaries ({', '.join(watched) or 'none'}); "
            "name one in the URL, e.g. falkor+sentinel://host:26379/<service>"
        )
    return watched[0]


def cluster_unreachable(target: Target, exc: BaseException) -> redis.ConnectionError:
    """A failed cluster start-up as the ``ConnectionError`` a single server would give."""
    seeds = ", ".join(f"{host}:{port}" for host, port in target.hosts)
    return redis.ConnectionError(f"cannot load the cluster's slot map from {seeds}: {exc}")


def resolve(target: Target) -> Resolved:
    """Find out what the URL points at (one ``INFO`` when the scheme does not say).

    Raises:
        DatabaseURLError: the sentinels do not watch the service named in
            the URL, or watch several and the URL names none.
        redis.ConnectionError: no server (or sentinel) could be reached.
    """
    topology: Topology
    if target.mode == "detect":
        probe = redis.Redis.from_url(target.url, retry=Retry(NoBackoff(), 0), **_url_extras(target))
        try:
            mode = probe.info("server").get("redis_mode")
        finally:
            probe.close()
        topology = mode if mode in ("cluster", "sentinel") else "standalone"
        if topology == "sentinel":
            # The data nodes' credentials were written for the sentinel here.
            target = Target(
                target.url,
                "sentinel",
                target.hosts,
                target.tls,
                None,
                target.options,
                {**target.options, **target.sentinel_options},
            )
    else:
        topology = target.mode
    service = _service(target) if topology == "sentinel" else None
    return Resolved(target, topology, service)


def _cluster_options(target: Target) -> dict[str, Any]:
    options = _node_options(target)
    options.pop("db", None)  # a cluster has only database 0 (checked when parsing)
    return options


@dataclass(frozen=True)
class _Library:
    """The classes of one redis client library (sync or asyncio) a connection is made of."""

    cluster: Any
    node: Any
    sentinel: Any
    retry: Any
    pool: Any
    client: Any


_SYNC = _Library(
    RedisCluster, ClusterNode, Sentinel, Retry, redis.BlockingConnectionPool, redis.Redis
)
_ASYNC = _Library(
    AsyncRedisCluster,
    AsyncClusterNode,
    AsyncSentinel,
    AsyncRetry,
    aredis.BlockingConnectionPool,
    aredis.Redis,
)


def _connection(resolved: Resolved, limits: Limits, library: _Library) -> tuple[Any, Any]:
    """A connection of ``library`` and the sentinel client behind it (None without one).

    No retries inside the client (``NoBackoff``, 0): the layer decides what
    is resent. The sync cluster client asks a node for the slots at once;
    the async one, at its first command.
    """
    target = resolved.target
    if resolved.topology == "cluster":
        try:
            cluster = library.cluster(
                startup_nodes=[library.node(host, port) for host, port in target.hosts],
                retry=library.retry(NoBackoff(), 0),
                max_connections=limits.max_connections,
                **_cluster_options(target),
            )
        except RedisClusterException as exc:
            raise cluster_unreachable(target, exc) from exc
        return cluster, None
    if resolved.topology == "sentinel":
        assert resolved.service is not None
        sentinel = library.sentinel(
            list(target.hosts),
            sentinel_kwargs=_sentinel_options(target),
            retry=library.retry(NoBackoff(), 0),
            max_connections=limits.max_connections,
            **_node_options(target),
        )
        return sentinel.master_for(resolved.service), sentinel
    pool = library.pool.from_url(
        target.url,
        max_connections=limits.max_connections,
        timeout=limits.timeout_s,
        retry=library.retry(NoBackoff(), 0),
        **_url_extras(target),
    )
    return library.client(connection_pool=pool), None


def sync_connection(
    resolved: Resolved, limits: Limits
) -> tuple[redis.Redis | RedisCluster, Sentinel | None]:
    """A sync connection (and the sentinel client behind it, to close with it)."""
    return _connection(resolved, limits, _SYNC)


def async_connection(
    resolved: Resolved, limits: Limits
) -> tuple[aredis.Redis | AsyncRedisCluster, AsyncSentinel | None]:
    """An async connection (created lazily: nothing is sent before the first command)."""
    return _connection(resolved, limits, _ASYNC)
