"""The falkordb clients (sync and async) over connections built in ``connections``.

They are the ``falkordb`` package's own ``FalkorDB`` classes, so
``select_graph`` gives the usual graph handles, with three differences:

- the connection is the one built here (no retries, bounded, any shape),
  instead of the one ``FalkorDB()`` would detect and build itself;
- ``list_graphs`` asks every primary of a cluster and returns the sorted
  union (``GRAPH.LIST`` on a cluster otherwise answers for one node only);
- the async cluster client is initialized (slot map loaded) before its first
  command: redis-py routes a command sent during a cold start by a default
  policy, which can send a write to the wrong node or to several;
- with a ``ReplicaAck``, every write query is pipelined with ``WAIT`` (see
  ``replication``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import redis
import redis.asyncio as aredis
from falkordb import FalkorDB
from falkordb.asyncio import FalkorDB as AsyncFalkorDB
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException
from redis.sentinel import Sentinel

from .connections import Topology, cluster_unreachable
from .replication import WRITE_COMMAND, ReplicaAck, async_write_and_wait, write_and_wait
from .urls import Target

LIST_GRAPHS = "GRAPH.LIST"


# The words redis-py's blocking pools use, so callers classify both alike (never sent).
POOL_EXHAUSTED = "No connection available."


def _no_free_connection() -> redis.ConnectionError:
    return redis.ConnectionError(POOL_EXHAUSTED)


class Gate:
    """At most ``size`` commands in flight at once; callers beyond it wait up to ``timeout_s``."""

    def __init__(self, size: int, timeout_s: float) -> None:
        self.size = size
        self.timeout_s = timeout_s
        self._slots = threading.BoundedSemaphore(size)

    @contextmanager
    def held(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=self.timeout_s):
            raise _no_free_connection()
        try:
            yield
        finally:
            self._slots.release()


class AsyncGate:
    """``Gate`` for one event loop."""

    def __init__(self, size: int, timeout_s: float) -> None:
        self.size = size
        self.timeout_s = timeout_s
        self._slots = asyncio.BoundedSemaphore(size)

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        try:
            await asyncio.wait_for(self._slots.acquire(), self.timeout_s)
        except TimeoutError:
            raise _no_free_connection() from None
        try:
            yield
        finally:
            self._slots.release()


class SyncClient(FalkorDB):  # type: ignore[misc]
    """``falkordb.FalkorDB`` over a connection of any shape (see the module docstring)."""

    def __init__(
        self,
        connection: redis.Redis | RedisCluster,
        topology: Topology,
        gate: Gate | None = None,
        sentinel: Sentinel | None = None,
        ack: ReplicaAck | None = None,
    ) -> None:
        # FalkorDB.__init__ is skipped on purpose: it would build and probe its own connection.
        self.connection: Any = connection
        self.topology = topology
        self.flushdb = connection.flushdb
        self._gate = gate
        self._sentinel = sentinel
        self.ack = ack

    def _send(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self.ack is not None and args and args[0] == WRITE_COMMAND:
            return write_and_wait(self.connection, self.ack, args)
        return self.connection.execute_command(*args, **kwargs)

    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        if self._gate is None:
            return self._send(args, kwargs)
        with self._gate.held():
            return self._send(args, kwargs)

    def list_graphs(self) -> list[str]:
        """The names of all graphs, on every node of a cluster, sorted."""
        if isinstance(self.connection, RedisCluster):
            cluster: Any = self.connection
            names: set[str] = set()
            for node in cluster.get_primaries():
                names.update(cluster.get_redis_connection(node).execute_command(LIST_GRAPHS))
            return sorted(names)
        return sorted(self.execute_command(LIST_GRAPHS))

    def close(self) -> None:
        self.connection.close()
        if self._sentinel is not None:
            self._sentinel.close()


class AsyncClient(AsyncFalkorDB):  # type: ignore[misc]
    """``falkordb.asyncio.FalkorDB`` over a connection of any shape; one event loop only."""

    def __init__(
        self,
        connection: aredis.Redis | AsyncRedisCluster,
        topology: Topology,
        gate: AsyncGate | None = None,
        sentinel: AsyncSentinel | None = None,
        target: Target | None = None,
        ack: ReplicaAck | None = None,
    ) -> None:
        self.connection: Any = connection
        self._target = target
        self.topology = topology
        self.flushdb = connection.flushdb
        self._gate = gate
        self._sentinel = sentinel
        self.ack = ack

    async def _ready(self) -> None:
        # A no-op once the slot map is loaded; reloads it after a node failure.
        if isinstance(self.connection, AsyncRedisCluster):
            try:
                await self.connection.initialize()
            except RedisClusterException as exc:
                if self._target is None:
                    raise redis.ConnectionError(str(exc)) from exc
                raise cluster_unreachable(self._target, exc) from exc

    async def _send(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self.ack is not None and args and args[0] == WRITE_COMMAND:
            return await async_write_and_wait(self.connection, self.ack, args)
        return await self.connection.execute_command(*args, **kwargs)

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        await self._ready()
        if self._gate is None:
            return await self._send(args, kwargs)
        async with self._gate.held():
            return await self._send(args, kwargs)

    async def list_graphs(self) -> list[str]:
        """The names of all graphs, on every node of a cluster, sorted."""
        connection = self.connection
        if isinstance(connection, AsyncRedisCluster):
            await self._ready()
            names: set[str] = set()
            for node in connection.get_primaries():
                names.update(await node.execute_command(LIST_GRAPHS))
            return sorted(names)
        return sorted(await self.execute_command(LIST_GRAPHS))

    async def aclose(self) -> None:
        await self.connection.aclose()
        if self._sentinel is not None:
            await self._sentinel.aclose()
