"""The web API in a process of its own (``python -m app serve``) on a loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from infrastructure.server.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]


def wait_until_healthy(
    url: str,
    process: subprocess.Popen[bytes],
    output: Callable[[], str],
    give_up: Callable[[], None],
    what: str,
    timeout_s: float = 60,
) -> None:
    """Return once ``url``/health answers 200; fail (after ``give_up()``) if it never does."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{what} exited at start-up:\n{output()}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    give_up()
    raise AssertionError(f"{what} did not answer in time:\n{output()}")


class ApiProcess:
    """One ``python -m app serve`` process, stopped by its pid (SIGINT, then SIGKILL)."""

    def __init__(self, log: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        environment = {k: v for k, v in os.environ.items() if not k.startswith("FALKORDB_")}
        environment.update(env)
        command = [sys.executable, "-m", "app", "serve", "--port", str(self.port)]
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [*command, "--log-level", "warning"],
                cwd=ROOT,
                env=environment,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        wait_until_healthy(self.url, self.process, self.log.read_text, self.stop, "the app")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
