"""Ctrl+C on ``make run`` while clients post: every answer is right, every acknowledged write stays.

The serve process runs in a session of its own, as under a terminal, and
the test sends SIGINT to its whole process group (make included) the way
Ctrl+C does. The embedded server is in another session: it must be stopped
by the app, after the requests in flight have been answered.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from uuid import UUID

import httpx

from infrastructure.server import Database

from .processes import Serve, wait_until_no_server

CLIENTS = 8


class Load:
    """``CLIENTS`` threads registering people until the server stops answering."""

    def __init__(self, url: str, round_: int) -> None:
        self.url = url
        self.round = round_
        self.acknowledged: list[str] = []
        self.wrong: list[tuple[int, str]] = []
        self.cut = 0  # requests that got no answer: the connection was refused or closed
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.post, args=(i,)) for i in range(CLIENTS)]
        for thread in self.threads:
            thread.start()

    def post(self, client: int) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as http:
            for n in range(100_000):
                email = f"r{self.round}.c{client}.n{n}@example.com"
                try:
                    answer = http.post("/people", json={"name": f"P {n}", "email": email})
                except httpx.TransportError:
                    with self.lock:
                        self.cut += 1
                    return
                with self.lock:
                    if answer.status_code == 201 and answer.json()["email"] == email:
                        self.acknowledged.append(answer.json()["id"])
                    else:
                        self.wrong.append((answer.status_code, answer.text))

    def wait_for(self, count: int, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.acknowledged) < count:
            assert time.monotonic() < deadline, f"only {len(self.acknowledged)} writes"
            assert not self.wrong, self.wrong[:3]
            time.sleep(0.01)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(60)
            assert not thread.is_alive()


def stored_people(data: Path) -> set[str]:
    with Database(data_dir=data) as db:  # starts the server again: the AOF is replayed
        rows = db.graph("bank").ro_query("MATCH (p:Person) RETURN p.id").result_set
    return {str(UUID(row[0])) for row in rows}


def test_ctrl_c_under_load_answers_every_request_and_loses_no_write(tmp_path: Path) -> None:
    data = tmp_path / "data"
    acknowledged: list[str] = []
    for round_ in range(2):
        log = tmp_path / f"run{round_}.log"
        serve = Serve(data, log, make=True)
        load = Load(serve.url, round_)
        load.wait_for(20 * (round_ + 1))  # mid-stream: every client is posting
        serve.interrupt()
        serve.wait()
        load.join()
        assert load.wrong == []  # no 503, no 500: every answer received is the right one
        assert load.cut <= CLIENTS  # each client saw the stop once, then gave up
        acknowledged += load.acknowledged
        wait_until_no_server(data)  # the app stopped the server it started
        output = log.read_text()
        assert "Traceback" not in output, output
        assert "Finished server process" in output
    assert set(acknowledged) <= stored_people(data)
    assert "CRITICAL" not in (data / "falkordb.log").read_text()
