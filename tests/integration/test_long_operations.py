"""No hidden client-side limit: a read or a commit that waits longer than 5 s still succeeds.

The server is made to hold every command for 10 s with ``CLIENT PAUSE``
(a real server-side wait, independent of how fast this machine is). With
the defaults, reads (sync and async) and a commit wait it out. With the
optional socket timeout, the client gives up: a read is unavailable, and a
commit's outcome is unknown (the server may have applied it).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from domain.model import Person
from infrastructure.bank import AsyncBankUnitOfWork, BankUnitOfWork, bank_registry
from infrastructure.persistence import (
    CommitOutcomeUnknownError,
    DatabaseUnavailableError,
    ensure_key_constraints,
)
from infrastructure.server import Database, EmbeddedFalkorDB

PAUSE_MS = 10_000
GRAPH = "long_operations"


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedFalkorDB]:
    with EmbeddedFalkorDB(appendfsync=None) as running:  # paused: no other test may share it
        yield running


def opened(url: str, **options: Any) -> tuple[Database, Any]:
    """A database and its graph handle, its connection already made (before the pause)."""
    db = Database(url, **options)
    db.client.connection.ping()
    return db, db.graph(GRAPH)


def in_thread(
    work: Callable[[], object], results: dict[str, object], name: str
) -> threading.Thread:
    def run() -> None:
        try:
            results[name] = work()
        except Exception as exc:
            results[name] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_ten_second_read_and_a_long_commit_succeed_with_the_defaults(
    server: EmbeddedFalkorDB,
) -> None:
    registry = bank_registry()
    setup, graph = opened(server.url)
    ensure_key_constraints(graph, registry)
    ann = Person.register("Ann", "ann@example.com")
    with BankUnitOfWork(graph, registry) as uow:
        uow.people.add(ann)
    bob = Person.register("Bob", "bob@example.com")
    cy = Person.register("Cy", "cy@example.com")
    reader, read_graph = opened(server.url)
    writer, write_graph = opened(server.url)
    impatient_reader, cut_read_graph = opened(server.url, socket_timeout_s=1)
    impatient_writer, cut_write_graph = opened(server.url, socket_timeout_s=1)

    def read(on: Any) -> str:
        with BankUnitOfWork(on, registry) as uow:
            return uow.people.get(ann.id).name

    def commit(on: Any, person: Person) -> str:
        with BankUnitOfWork(on, registry) as uow:
            uow.people.add(person)
        return "committed"

    async def read_async() -> str:
        db = Database(server.url)
        handle = db.async_graph(GRAPH)
        await handle.ro_query("RETURN 1")  # the graph exists: its constraints were made
        results["async connected"] = True
        async with AsyncBankUnitOfWork(handle, registry) as uow:
            name = (await uow.people.get(ann.id)).name
        await db.aclose()
        return name

    results: dict[str, object] = {}
    admin = redis.Redis(host="127.0.0.1", port=server.port or 0)
    async_thread = in_thread(lambda: asyncio.run(read_async()), results, "async read")
    while "async connected" not in results and async_thread.is_alive():
        async_thread.join(0.01)
    admin.execute_command("CLIENT", "PAUSE", PAUSE_MS, "ALL")
    threads = [
        async_thread,
        in_thread(lambda: read(read_graph), results, "read"),
        in_thread(lambda: commit(write_graph, bob), results, "commit"),
        in_thread(lambda: read(cut_read_graph), results, "cut read"),
        in_thread(lambda: commit(cut_write_graph, cy), results, "cut commit"),
    ]
    for thread in threads:
        thread.join(PAUSE_MS / 1000 + 50)
        assert not thread.is_alive()
    admin.close()

    assert results["read"] == "Ann"
    assert results["async read"] == "Ann"
    assert results["commit"] == "committed"
    assert isinstance(results["cut read"], DatabaseUnavailableError), results["cut read"]
    assert isinstance(results["cut commit"], CommitOutcomeUnknownError), results["cut commit"]
    with BankUnitOfWork(graph, registry) as uow:
        stored = sorted(p.name for p in uow.people.list())
    # Whether the commit the impatient client gave up on was applied is unknown to it
    # (a paused server drops it with the connection; a busy one would have run it).
    assert stored[:2] == ["Ann", "Bob"]
    for db in (setup, reader, writer, impatient_reader, impatient_writer):
        db.close()


def test_a_socket_timeout_in_the_url_wins_over_the_setting(server: EmbeddedFalkorDB) -> None:
    db = Database(f"{server.url}?socket_timeout=7", socket_timeout_s=3)
    assert db.client.connection.connection_pool.connection_kwargs["socket_timeout"] == 7
    assert (
        Database(server.url).client.connection.connection_pool.connection_kwargs["socket_timeout"]
        is None
    )
    with pytest.raises(ValueError, match="socket_timeout_s"):
        Database(server.url, socket_timeout_s=0)
