"""A commit whose connection drops is reported in doubt, never resent by the client.

The node is paused for writes (``CLIENT PAUSE ... WRITE``), so the commit
waits on the server; its connection is then killed and the pause lifted. A
client that retried would reconnect and send the commit again, and the unit
would succeed with the entity written. Ours reports
``CommitOutcomeUnknownError`` and the entity stays unwritten. The same holds
for each deployment shape, sync and async; and the pools stay within their
bound while more units than connections run.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from domain.model import Person
from infrastructure.bank import AsyncBankUnitOfWork, BankUnitOfWork
from infrastructure.persistence import (
    CommitOutcomeUnknownError,
    Registry,
    ensure_key_constraints,
)
from infrastructure.server import Database
from infrastructure.server.local_cluster import LocalCluster
from infrastructure.server.local_sentinel import LocalSentinel

PATIENCE_S = 30.0  # a bound against hanging, not a speed requirement


def url_named(url: str, name: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}client_name={name}"


class Deployment:
    """A Database whose connections carry ``name``, and the port of the node holding ``graph``."""

    def __init__(self, url: str, name: str, graph: str, port: int) -> None:
        self.name = name
        self.graph_name = graph
        self.port = port
        self.db = Database(url_named(url, name), max_connections=2, pool_timeout_s=PATIENCE_S)


@pytest.fixture(params=["cluster", "sentinel"])
def deployment(
    request: pytest.FixtureRequest,
    local_cluster: LocalCluster,
    sentinel_setup: LocalSentinel,
    registry: Registry,
) -> Iterator[Deployment]:
    name = f"noresend_{request.param}_{time.monotonic_ns()}"
    graph = f"g_{name}"
    if request.param == "cluster":
        port = local_cluster.ports[local_cluster.node_index(graph)]
        found = Deployment(local_cluster.url, name, graph, port)
    else:
        port = sentinel_setup.primary_address()[1]
        found = Deployment(sentinel_setup.url, name, graph, port)
    ensure_key_constraints(found.db.graph(graph), registry)
    yield found
    found.db.graph(graph).delete()
    found.db.close()


def kill_when_commit_waits(port: int, name: str) -> None:
    """Kill the connection named ``name`` once it waits in a ``GRAPH.QUERY``."""
    deadline = time.monotonic() + PATIENCE_S
    with redis.Redis(port=port, decode_responses=True) as admin:
        while time.monotonic() < deadline:
            for client in admin.client_list():
                if client.get("name") == name and client.get("cmd", "").lower() == "graph.query":
                    admin.execute_command("CLIENT", "KILL", "ID", client["id"])
                    return
            time.sleep(0.005)
    raise AssertionError(f"no GRAPH.QUERY from {name!r} reached the node")


def while_paused(port: int, action: Callable[[], None]) -> None:
    with redis.Redis(port=port) as admin:
        admin.execute_command("CLIENT", "PAUSE", int(PATIENCE_S * 1000), "WRITE")
        try:
            action()
        finally:
            admin.execute_command("CLIENT", "UNPAUSE")


def test_sync_commit_cut_off_is_in_doubt_and_not_resent(
    deployment: Deployment, registry: Registry
) -> None:
    graph = deployment.db.graph(deployment.graph_name)
    person = Person.register("Once", "once@example.com")
    failures: list[BaseException] = []

    def unit() -> None:
        try:
            with BankUnitOfWork(graph, registry) as uow:
                uow.people.add(person)
        except BaseException as exc:
            failures.append(exc)

    worker = threading.Thread(target=unit)

    def start_and_cut() -> None:
        worker.start()
        kill_when_commit_waits(deployment.port, deployment.name)

    while_paused(deployment.port, start_and_cut)
    worker.join()

    assert [type(f) for f in failures] == [CommitOutcomeUnknownError]
    with BankUnitOfWork(graph, registry) as uow:
        assert not uow.people.exists(person.id)


async def test_async_commit_cut_off_is_in_doubt_and_not_resent(
    deployment: Deployment, registry: Registry
) -> None:
    graph: Any = deployment.db.async_client().select_graph(deployment.graph_name)
    person = Person.register("Once", "once@example.com")

    async def unit() -> None:
        async with AsyncBankUnitOfWork(graph, registry) as uow:
            uow.people.add(person)

    try:
        async with AsyncBankUnitOfWork(graph, registry) as uow:  # connected before the pause
            assert not await uow.people.exists(person.id)
        with redis.Redis(port=deployment.port) as admin:
            admin.execute_command("CLIENT", "PAUSE", int(PATIENCE_S * 1000), "WRITE")
            try:
                task = asyncio.ensure_future(unit())
                await asyncio.to_thread(kill_when_commit_waits, deployment.port, deployment.name)
            finally:
                admin.execute_command("CLIENT", "UNPAUSE")
        with pytest.raises(CommitOutcomeUnknownError):
            await task
        async with AsyncBankUnitOfWork(graph, registry) as uow:
            assert not await uow.people.exists(person.id)
    finally:
        await deployment.db.aclose()


def connections_named(port: int, name: str) -> int:
    """Connections named ``name`` that carry graph commands (a cluster client also keeps
    one or two to its seed node for loading the slot map)."""
    with redis.Redis(port=port, decode_responses=True) as admin:
        return sum(
            1
            for c in admin.client_list()
            if c.get("name") == name and c.get("cmd", "").lower().startswith("graph.")
        )


def test_sync_units_beyond_the_pool_wait_and_all_commit(
    deployment: Deployment, registry: Registry
) -> None:
    graph = deployment.db.graph(deployment.graph_name)
    people = [Person.register(f"P{i}", f"p{i}@example.com") for i in range(24)]
    failures: list[BaseException] = []

    def register(chunk: list[Person]) -> None:
        try:
            for person in chunk:
                with BankUnitOfWork(graph, registry) as uow:
                    uow.people.add(person)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=register, args=(people[i::6],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    with BankUnitOfWork(graph, registry) as uow:
        assert uow.people.count() == len(people)
    assert 1 <= connections_named(deployment.port, deployment.name) <= 2


async def test_async_units_beyond_the_pool_wait_and_all_commit(
    deployment: Deployment, registry: Registry
) -> None:
    graph: Any = deployment.db.async_client().select_graph(deployment.graph_name)
    people = [Person.register(f"P{i}", f"p{i}@example.com") for i in range(24)]

    async def register(person: Person) -> None:
        async with AsyncBankUnitOfWork(graph, registry) as uow:
            assert not await uow.people.exists(person.id)
            uow.people.add(person)

    sync_connections = connections_named(deployment.port, deployment.name)
    try:
        await asyncio.gather(*(register(p) for p in people))
        async with AsyncBankUnitOfWork(graph, registry) as uow:
            assert await uow.people.count() == len(people)
        opened = connections_named(deployment.port, deployment.name) - sync_connections
        assert 1 <= opened <= 2
    finally:
        await deployment.db.aclose()
