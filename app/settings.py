"""Configuration from the environment (and a ``.env`` file, if present).

FALKORDB_URL           where FalkorDB runs; unset: an embedded server is started
FALKORDB_DATA_DIR      the embedded server's data directory (default ./var/falkordb)
FALKORDB_GRAPH         the graph the application uses (default "bank")
FALKORDB_APPENDFSYNC   the embedded server's AOF policy: always, everysec (default), no
FALKORDB_MAX_CONNECTIONS  the size of each connection pool (default 64)
FALKORDB_SOCKET_TIMEOUT_S a client-side limit on waiting for any reply, in seconds
                       (default: none; a commit cut off by it has an unknown outcome)
APP_HOST, APP_PORT     where `serve` listens (default 127.0.0.1, 8000)
APP_RETRY_ATTEMPTS     how often a unit that lost a concurrency race is run (default 10)
APP_OUTBOX_STREAM      the Redis Stream domain events are relayed to (default "bank:events")
APP_RELAY_INTERVAL_S   how often `serve` relays pending events, in seconds (0: never)
FALKORDB_ECHO          log every read and commit at DEBUG on `falkor_uow.query` (default off)
FALKORDB_LOG_VALUES    show parameter values in that log (default off: names and sizes only)
FALKORDB_SLOW_QUERY_MS  log queries at least this slow at WARNING (default 1000; 0: never)
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """The application's settings; every field reads the environment variable of its name."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    falkordb_url: str | None = Field(
        default=None, description="FalkorDB URL; none starts an embedded server"
    )
    falkordb_data_dir: Path = Field(
        default=Path("var/falkordb"), description="data directory of the embedded server"
    )
    falkordb_graph: str = Field(
        default="bank", pattern=r"^[A-Za-z0-9_{}:.-]{1,128}$", description="graph name"
    )
    falkordb_appendfsync: Literal["always", "everysec", "no"] = "everysec"
    falkordb_max_connections: int = Field(default=64, ge=1, le=10_000)
    falkordb_socket_timeout_s: float | None = Field(
        default=None,
        gt=0,
        description="client-side reply timeout (none by default: queries are bounded by "
        "server-side timeouts; a commit cut off by it raises CommitOutcomeUnknownError)",
    )
    app_host: str = "127.0.0.1"
    app_port: int = Field(default=8000, ge=0, le=65535)
    app_retry_attempts: int = Field(default=10, ge=1, le=100)
    app_outbox_stream: str = Field(
        default="bank:events",
        pattern=r"^[A-Za-z0-9_{}:.-]{1,128}$",
        description="Redis Stream for domain events (must differ from every graph name)",
    )
    app_relay_interval_s: float = Field(default=0.5, ge=0, le=3600)
    # The query log (infrastructure.persistence.observe).
    falkordb_echo: bool = False
    falkordb_log_values: bool = False
    falkordb_slow_query_ms: float = Field(default=1000, ge=0)

    @property
    def where(self) -> str:
        """Where the data lives, for people: the URL, or the embedded server's directory."""
        if self.falkordb_url:
            return redacted(self.falkordb_url)
        return f"embedded FalkorDB, data in {self.falkordb_data_dir.resolve()}"


def redacted(url: str) -> str:
    """``url`` with its password replaced by ``***``, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
