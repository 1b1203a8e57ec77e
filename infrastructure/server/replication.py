"""Replica-acknowledged writes: ``GRAPH.QUERY`` and ``WAIT`` in one round trip.

With ``Database(replicas=N)`` (or ``?replicas=N`` in the URL) a write query
is acknowledged only once N replicas confirm they have it. The query and
``WAIT N timeout`` are pipelined on one connection, so ``WAIT`` counts the
replicas that processed that very write, at the cost of one round trip
plus the time the replicas take to confirm (measured in ``make bench``).

On a cluster both go to the node holding the graph's key (its slot's
primary); a ``MOVED`` or ``TRYAGAIN`` answer proves the query did not run,
so the slot map is reloaded and the pair sent again, a few times at most.

When fewer replicas confirm in time, ``CommitNotReplicatedError`` is raised:
the primary applied the write, no replica is known to hold it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aredis
from redis.asyncio.cluster import PipelineCommand
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster
from redis.exceptions import ClusterDownError, MovedError, TryAgainError

from infrastructure.persistence.errors import CommitNotReplicatedError

#: The command whose replies wait for the replicas; reads (``GRAPH.RO_QUERY``) never do.
WRITE_COMMAND = "GRAPH.QUERY"
#: How many ``MOVED``/``TRYAGAIN`` answers are followed before the last one is raised.
REDIRECTS = 3
_TRYAGAIN_PAUSE_S = 0.05


@dataclass(frozen=True)
class ReplicaAck:
    """Acknowledge a write once ``replicas`` replicas confirm it, waiting up to ``timeout_ms``."""

    replicas: int
    timeout_ms: int

    def __post_init__(self) -> None:
        if isinstance(self.replicas, bool) or not isinstance(self.replicas, int):
            raise ValueError(f"replicas must be an integer, got {self.replicas!r}")
        if self.replicas < 1:
            raise ValueError(
                f"replicas must be at least 1 to wait for replicas, got {self.replicas}"
            )
        if isinstance(self.timeout_ms, bool) or not isinstance(self.timeout_ms, int):
            raise ValueError(f"replica_timeout_ms must be an integer, got {self.timeout_ms!r}")
        if self.timeout_ms < 1:
            # WAIT with 0 blocks for ever: a dead replica would hang every commit.
            raise ValueError(f"replica_timeout_ms must be at least 1, got {self.timeout_ms}")

    @property
    def wait(self) -> tuple[str, int, int]:
        return ("WAIT", self.replicas, self.timeout_ms)


def replica_ack(replicas: int | None, timeout_ms: int | None) -> ReplicaAck | None:
    """The acknowledgement asked for (None: the primary's answer is enough)."""
    if replicas is None or replicas == 0:
        return None
    return ReplicaAck(replicas, DEFAULT_TIMEOUT_MS if timeout_ms is None else timeout_ms)


#: How long a write waits for its replicas when no ``replica_timeout_ms`` is given.
DEFAULT_TIMEOUT_MS = 1000


def outcome(ack: ReplicaAck, reply: Any, confirmed: Any) -> Any:
    """The query's reply, or the error it stands for.

    Raises:
        redis.ResponseError: the query failed (it wrote nothing).
        CommitNotReplicatedError: it was applied, but fewer replicas confirmed it.
    """
    if isinstance(reply, Exception):
        raise reply
    count = confirmed if isinstance(confirmed, int) else 0
    if count < ack.replicas:
        raise CommitNotReplicatedError(ack.replicas, count, ack.timeout_ms)
    return reply


def _redirected(reply: Any) -> bool:
    return isinstance(reply, MovedError | TryAgainError)


# -- sync --------------------------------------------------------------------


def _node_client(connection: redis.Redis | RedisCluster, key: str) -> redis.Redis:
    if isinstance(connection, RedisCluster):
        cluster: Any = connection
        node = cluster.get_node_from_key(key)
        client: redis.Redis = cluster.get_redis_connection(node)
        return client
    return connection


def _reload_slots(connection: redis.Redis | RedisCluster) -> None:
    if isinstance(connection, RedisCluster):
        with contextlib.suppress(redis.RedisError, OSError):  # the next command tries again
            connection.nodes_manager.initialize()


def write_and_wait(
    connection: redis.Redis | RedisCluster, ack: ReplicaAck, args: tuple[Any, ...]
) -> Any:
    """Send the write ``args`` and ``WAIT`` in one pipeline; see ``outcome``."""
    key = str(args[1])
    for redirect in range(REDIRECTS + 1):
        pipe: Any = _node_client(connection, key).pipeline(transaction=False)
        pipe.execute_command(*args)
        pipe.execute_command(*ack.wait)
        try:
            reply, confirmed = pipe.execute(raise_on_error=False)
        except (redis.ConnectionError, redis.TimeoutError):
            _reload_slots(connection)  # a failed node: its replica may own the slot now
            raise
        finally:
            pipe.reset()
        if _redirected(reply) and redirect < REDIRECTS:
            if isinstance(reply, TryAgainError):
                time.sleep(_TRYAGAIN_PAUSE_S)
            _reload_slots(connection)
            continue
        if isinstance(reply, ClusterDownError):  # not run: find the slot's new owner next time
            _reload_slots(connection)
        return outcome(ack, reply, confirmed)
    raise AssertionError("unreachable")


# -- async -------------------------------------------------------------------


async def _cluster_write_and_wait(
    cluster: AsyncRedisCluster, ack: ReplicaAck, args: tuple[Any, ...]
) -> tuple[Any, Any]:
    node = cluster.get_node_from_key(str(args[1]))
    if node is None:  # no slot map yet: what a cluster client says when it has none
        raise redis.ConnectionError(f"no node known for the slot of {args[1]!r}")
    commands = [PipelineCommand(0, *args), PipelineCommand(1, *ack.wait)]
    try:
        await node.execute_pipeline(commands)
    except (redis.ConnectionError, redis.TimeoutError):
        await _async_reload_slots(cluster)
        raise
    for command in commands:
        if isinstance(command.result, redis.ConnectionError | redis.TimeoutError):
            await _async_reload_slots(cluster)
            raise command.result
    return commands[0].result, commands[1].result


async def _async_reload_slots(cluster: AsyncRedisCluster) -> None:
    with contextlib.suppress(redis.RedisError, OSError):
        await cluster.nodes_manager.initialize()


async def async_write_and_wait(
    connection: aredis.Redis | AsyncRedisCluster, ack: ReplicaAck, args: tuple[Any, ...]
) -> Any:
    """The async twin of ``write_and_wait``."""
    for redirect in range(REDIRECTS + 1):
        if isinstance(connection, AsyncRedisCluster):
            reply, confirmed = await _cluster_write_and_wait(connection, ack, args)
        else:
            async with connection.pipeline(transaction=False) as pipe:
                pipe.execute_command(*args)
                pipe.execute_command(*ack.wait)
                reply, confirmed = await pipe.execute(raise_on_error=False)
        if _redirected(reply) and redirect < REDIRECTS:
            if isinstance(reply, TryAgainError):
                await asyncio.sleep(_TRYAGAIN_PAUSE_S)
            if isinstance(connection, AsyncRedisCluster):
                await _async_reload_slots(connection)
            continue
        if isinstance(reply, ClusterDownError) and isinstance(connection, AsyncRedisCluster):
            await _async_reload_slots(connection)
        return outcome(ack, reply, confirmed)
    raise AssertionError("unreachable")
