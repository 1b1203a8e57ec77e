"""Processes as users start them: ``python -m app ...`` and scripts, on one data directory.

Each process runs in its own session (as a terminal would start it), so a
test can send SIGINT to its whole process group the way Ctrl+C does. Only
the processes started here are ever signalled, by their pid.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from infrastructure.server.embedded import free_port, servers_on
from tests.reliability.api_process import wait_until_healthy

ROOT = Path(__file__).resolve().parents[2]


def environment(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a process using the embedded server of ``data_dir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FALKORDB_", "APP_"))}
    env.update(FALKORDB_DATA_DIR=str(data_dir), COLUMNS="120", **extra)
    return env


class Started:
    """A process started in a session of its own, output to a log file."""

    def __init__(self, command: list[str], log: Path, env: dict[str, str]) -> None:
        self.log = log
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def interrupt(self) -> None:
        """Ctrl+C: SIGINT to the process group (the server it started is in another)."""
        os.killpg(self.process.pid, signal.SIGINT)

    def wait(self, timeout_s: float = 60) -> int:
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"still running after {timeout_s}s:\n{self.output}") from None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class Serve(Started):
    """``python -m app serve`` (or ``make run``) on a free port, ready when /health answers."""

    def __init__(
        self, data_dir: Path, log: Path, *, make: bool = False, wait: bool = True, **env: str
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        if make:
            command = ["make", "-s", "run", f"PORT={self.port}"]
        else:
            command = [sys.executable, "-m", "app", "serve", "--port", str(self.port)]
        super().__init__(command, log, environment(data_dir, **env))
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout_s: float = 60) -> None:
        wait_until_healthy(
            self.url, self.process, lambda: self.output, self.kill, "serve", timeout_s
        )


def app_command(data_dir: Path, log: Path, *args: str) -> Started:
    return Started([sys.executable, "-m", "app", *args], log, environment(data_dir))


def the_server(data_dir: Path) -> int:
    """The pid of the one redis-server working in ``data_dir``, checked against its pid file."""
    running = servers_on(data_dir.resolve())
    assert len(running) == 1, f"redis-servers on {data_dir}: {running}"
    assert int((data_dir / "falkordb.pid").read_text()) == running[0]
    return running[0]


def wait_until_no_server(data_dir: Path, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while servers_on(data_dir.resolve()):
        assert time.monotonic() < deadline, f"a server still runs on {data_dir}"
        time.sleep(0.05)
