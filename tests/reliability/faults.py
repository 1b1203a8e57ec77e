"""Fault injection helpers: kill a server at the moment a command is running."""

from __future__ import annotations

import threading
import time

import redis

from infrastructure.server import EmbeddedFalkorDB


def kill_while_running(
    server: EmbeddedFalkorDB, command: str, within_s: float = 30.0
) -> threading.Thread:
    """Start a thread that SIGKILLs ``server`` once a client is blocked in ``command``.

    FalkorDB runs queries on worker threads, so ``CLIENT LIST`` answers while
    one runs; the client sending it shows the command with the ``b`` flag.
    The thread gives up after ``within_s`` seconds.
    """
    assert server.port is not None
    port = server.port

    def watch() -> None:
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
        deadline = time.monotonic() + within_s
        try:
            while time.monotonic() < deadline:
                for c in client.client_list():
                    if c.get("cmd", "").lower() == command and "b" in c.get("flags", ""):
                        server.kill()
                        return
                time.sleep(0.002)
        finally:
            client.close()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


def slow_aof(server: EmbeddedFalkorDB, graph: str, blocks: int = 30) -> None:
    """Fill the append-only file so that the server answers ``LOADING`` for a while.

    While it replays the file, the server serves clients only once every
    1024 commands; a client needs a few such rounds to connect and send its
    query, which is then answered ``LOADING``. So the file gets ``blocks``
    blocks of one slow graph query (FalkorDB logs it as the query itself, not
    its effects, once ``EFFECTS_THRESHOLD`` is high, so it runs again at
    load) and 1023 quick counter increments: a round every slow query.
    """
    assert server.port is not None
    client = redis.Redis(host="127.0.0.1", port=server.port)
    try:
        client.execute_command("GRAPH.CONFIG", "SET", "EFFECTS_THRESHOLD", 10**9)
        for i in range(blocks):
            pipe = client.pipeline(transaction=False)
            pipe.execute_command(
                "GRAPH.QUERY",
                graph,
                f"UNWIND range(1, 400000) AS x WITH x WHERE x = 1 CREATE (:Ballast {{i: {i}}})",
            )
            for _ in range(1023):
                pipe.incr("ballast")
            pipe.execute()
    finally:
        client.close()
