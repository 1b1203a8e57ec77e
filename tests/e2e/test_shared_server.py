"""One embedded server per data directory, shared by every process, as users run them.

Every process here is a real ``python -m ...`` process on a temporary data
directory; servers are counted through /proc (a redis-server working in
the directory) and the pid file, never by signalling anyone else's.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis

from infrastructure.server import EmbeddedFalkorDB, EmbeddedServerError, SharedFalkorDB
from infrastructure.server.embedded import UNIX_SOCKET_PATH_MAX, servers_on

from .processes import Serve, Started, app_command, environment, the_server, wait_until_no_server


def worker(data_dir: Path, release: Path, log: Path, name: str = "") -> Started:
    command = [sys.executable, "-m", "tests.e2e.attach_worker", str(data_dir), str(release)]
    return Started([*command, *([name] if name else [])], log, environment(data_dir))


def report_of(started: Started, timeout_s: float = 60) -> dict:
    """The JSON line a worker prints once it has written its node."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in started.output.splitlines():
            if line.startswith("{"):
                return json.loads(line)
        assert started.process.poll() is None, started.output
        time.sleep(0.02)
    raise AssertionError(f"no report:\n{started.output}")


def stored_workers(data_dir: Path) -> list[str]:
    with SharedFalkorDB(data_dir) as server:
        client = redis.Redis(unix_socket_path=str(server.socket_path), decode_responses=True)
        try:
            rows = client.execute_command(
                "GRAPH.RO_QUERY", "shared", "MATCH (w:Worker) RETURN w.name ORDER BY w.name"
            )[1]
        finally:
            client.close()
    return [row[0] for row in rows]


def test_serve_and_seed_at_once_share_one_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    serve = Serve(data, tmp_path / "serve.log", wait=False)
    seed = app_command(data, tmp_path / "seed.log", "seed", "--people", "5", "--friends", "1")
    try:
        serve.wait_ready()
        assert seed.wait() == 0, seed.output
        assert "Added 5 people" in seed.output
        server = the_server(data)  # exactly one, and the pid file names it
        people = httpx.get(f"{serve.url}/people", timeout=30).json()
        assert len(people) == 5  # the API sees what the other process wrote
        again = app_command(data, tmp_path / "schema.log", "schema")
        assert again.wait() == 0, again.output
        assert the_server(data) == server  # a third process reused it too
    finally:
        serve.interrupt()
        code = serve.wait()
    assert code == 0, serve.output
    wait_until_no_server(data)  # the last user stopped it
    for log in ("serve.log", "seed.log", "schema.log"):
        assert "Traceback" not in (tmp_path / log).read_text()
    assert "CRITICAL" not in (data / "falkordb.log").read_text()


def test_eight_concurrent_starts_give_one_server(tmp_path: Path) -> None:
    data, release = tmp_path / "data", tmp_path / "release"
    workers = [worker(data, release, tmp_path / f"w{i}.log", f"w{i}") for i in range(8)]
    try:
        reports = [report_of(w) for w in workers]
        assert len({r["server"] for r in reports}) == 1
        assert sum(r["started_here"] for r in reports) == 1
        assert the_server(data) == reports[0]["server"]
    finally:
        release.touch()
        codes = [w.wait() for w in workers]
    assert codes == [0] * 8, [w.output for w in workers]
    wait_until_no_server(data)
    assert stored_workers(data) == [f"w{i}" for i in range(8)]  # nothing lost on the stop


def test_a_server_left_by_a_killed_starter_is_reused(tmp_path: Path) -> None:
    data, release = tmp_path / "data", tmp_path / "release"
    starter = worker(data, release, tmp_path / "starter.log", "first")
    first = report_of(starter)
    assert first["started_here"]
    starter.process.send_signal(signal.SIGKILL)  # no clean-up at all
    starter.wait()
    assert the_server(data) == first["server"]  # the server outlived its starter
    release.touch()
    second = worker(data, release, tmp_path / "second.log", "second")
    found = report_of(second)
    assert second.wait() == 0, second.output
    assert found["server"] == first["server"]
    assert not found["started_here"]
    wait_until_no_server(data)  # its last user stopped it
    assert stored_workers(data) == ["first", "second"]


def test_stop_command_stops_a_server_nobody_uses(tmp_path: Path) -> None:
    data, release = tmp_path / "data", tmp_path / "release"
    starter = worker(data, release, tmp_path / "starter.log")
    try:
        pid = report_of(starter)["server"]
        refused = app_command(data, tmp_path / "refused.log", "stop")
        assert refused.wait() == 1
        assert f"in use by pid(s) {starter.process.pid}" in refused.output
        assert the_server(data) == pid
        starter.process.send_signal(signal.SIGKILL)
        starter.wait()
        stopped = app_command(data, tmp_path / "stop.log", "stop")
        assert stopped.wait() == 0, stopped.output
        assert f"stopped the FalkorDB server (pid {pid})" in stopped.output
        assert servers_on(data.resolve()) == []
    finally:  # a failed assertion leaves neither the worker nor its server behind
        if starter.process.poll() is None:
            starter.process.kill()
            starter.wait()
        for left in servers_on(data.resolve()):
            os.kill(left, signal.SIGKILL)


def test_a_server_not_on_the_socket_is_refused_by_pid(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with EmbeddedFalkorDB(data, appendfsync=None) as other:  # TCP only, same directory
        shared = SharedFalkorDB(data, startup_timeout_s=10, socket_grace_s=0.5)
        with pytest.raises(EmbeddedServerError) as refused:
            shared.start()
        assert f"pid {other.pid}" in str(refused.value)
        assert f"kill {other.pid}" in str(refused.value)
        assert servers_on(data.resolve()) == [other.pid]  # no second server was started


def test_a_data_directory_too_long_for_a_socket_path_still_works(tmp_path: Path) -> None:
    data = tmp_path / ("d" * 60) / ("e" * 60)
    assert len(os.fsencode(data / "falkordb.sock")) > UNIX_SOCKET_PATH_MAX
    release = tmp_path / "release"
    workers = [worker(data, release, tmp_path / f"w{i}.log", f"w{i}") for i in range(2)]
    try:
        reports = [report_of(w) for w in workers]
        assert reports[0]["server"] == reports[1]["server"]
        assert SharedFalkorDB(data).socket_path.exists()
    finally:
        release.touch()
        assert [w.wait() for w in workers] == [0, 0]
    wait_until_no_server(data)
    assert stored_workers(data) == ["w0", "w1"]


def test_relative_data_dirs_name_the_same_server(tmp_path: Path) -> None:
    os.chdir(tmp_path)
    try:
        with SharedFalkorDB("data") as one, SharedFalkorDB(tmp_path / "x" / ".." / "data") as two:
            assert one.data_dir == two.data_dir == (tmp_path / "data").resolve()
            assert one.pid == two.pid
            assert one.started_here
            assert not two.started_here
            assert sorted(one.users()) == [os.getpid()]
    finally:
        os.chdir(Path(__file__).resolve().parents[2])
    wait_until_no_server(tmp_path / "data")
