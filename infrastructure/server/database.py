"""One FalkorDB deployment: a URL, or an embedded server when there is none."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import redis
from falkordb import FalkorDB
from falkordb.asyncio import FalkorDB as AsyncFalkorDB
from redis.asyncio import BlockingConnectionPool as AsyncBlockingConnectionPool
from redis.backoff import NoBackoff
from redis.retry import Retry

from .embedded import EmbeddedFalkorDB


def normalize_url(url: str) -> str:
    """Accept ``falkor://`` and ``falkors://`` as the client's ``redis://`` / ``rediss://``."""
    for ours, theirs in (("falkor://", "redis://"), ("falkors://", "rediss://")):
        if url.startswith(ours):
            return theirs + url[len(ours) :]
    return url


class Database:
    """Connections to one FalkorDB, and the embedded server behind them when no URL is given.

    The client never retries a command by itself: a resent commit could be
    applied twice. Units of work are rerun from fresh reads instead.

    Args:
        url: ``redis://``, ``falkor://``, ``rediss://`` or ``unix://``; None
            starts an embedded server.
        data_dir: the embedded server's data directory (None: a throwaway one).
        appendfsync: the embedded server's AOF policy.
        max_connections: the size of each (sync, async) connection pool;
            callers beyond it wait for a free connection instead of failing.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        data_dir: str | Path | None = None,
        appendfsync: Literal["always", "everysec", "no"] | None = "everysec",
        max_connections: int = 64,
        pool_timeout_s: float = 30.0,
    ) -> None:
        self._url = normalize_url(url) if url else None
        self.server: EmbeddedFalkorDB | None = (
            None if url else EmbeddedFalkorDB(data_dir, appendfsync=appendfsync)
        )
        self.max_connections = max_connections
        self.pool_timeout_s = pool_timeout_s
        self._client: FalkorDB | None = None
        self._async_clients: list[AsyncFalkorDB] = []

    @property
    def url(self) -> str:
        if self._url is None:
            assert self.server is not None
            self.server.start()
            return self.server.url
        return self._url

    def open(self) -> Self:
        """Start the embedded server if there is one; connect lazily otherwise."""
        if self.server is not None:
            self.server.start()
        return self

    def _pool_kwargs(self) -> dict[str, Any]:
        return {
            "decode_responses": True,
            "max_connections": self.max_connections,
            "timeout": self.pool_timeout_s,
            "retry": Retry(NoBackoff(), 0),
        }

    @property
    def client(self) -> FalkorDB:
        """The sync client (created on first use)."""
        if self._client is None:
            pool = redis.BlockingConnectionPool.from_url(self.url, **self._pool_kwargs())
            self._client = FalkorDB(connection_pool=pool)
        return self._client

    def graph(self, name: str) -> Any:
        """A sync handle on graph ``name``."""
        return self.client.select_graph(name)

    def async_client(self) -> AsyncFalkorDB:
        """A new async client with its own pool; call it inside the event loop that uses it."""
        pool = AsyncBlockingConnectionPool.from_url(self.url, **self._pool_kwargs())
        client = AsyncFalkorDB(connection_pool=pool)
        self._async_clients.append(client)
        return client

    def close(self) -> None:
        """Close the sync pool and stop the embedded server (async clients: ``aclose``)."""
        if self._client is not None:
            self._client.connection.close()
            self._client = None
        if self.server is not None:
            self.server.stop()

    async def aclose(self) -> None:
        """Close the async pools created by ``async_client``."""
        while self._async_clients:
            client = self._async_clients.pop()
            await client.connection.aclose()

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
