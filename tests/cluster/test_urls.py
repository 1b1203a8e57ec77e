"""Every URL form reaches its deployment, and a bad URL is refused naming its fault."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from domain.model import Person
from infrastructure.bank import AsyncBankUnitOfWork, BankUnitOfWork
from infrastructure.persistence import DatabaseUnavailableError, Registry, ensure_key_constraints
from infrastructure.server import Database, DatabaseURLError, EmbeddedFalkorDB
from infrastructure.server.embedded import free_port
from infrastructure.server.local_cluster import LocalCluster
from infrastructure.server.urls import parse_database_url


def round_trip(db: Database, graph_name: str, registry: Registry) -> None:
    graph = db.graph(graph_name)
    ensure_key_constraints(graph, registry)
    person = Person.register("Url", "url@example.com", 1)
    with BankUnitOfWork(graph, registry) as uow:
        uow.people.add(person)
    with BankUnitOfWork(graph, registry) as uow:
        assert uow.people.get(person.id).name == "Url"
    assert graph_name in db.list_graphs()
    graph.delete()


# -- parsing (no server) -------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "mode", "hosts", "tls"),
    [
        ("falkor://db.example:7000", "detect", [("db.example", 7000)], False),
        ("redis://db.example", "detect", [("db.example", 6379)], False),
        ("falkors://u:p@db.example:7000/0", "detect", [("db.example", 7000)], True),
        ("falkor+cluster://a:7000,b:7001", "cluster", [("a", 7000), ("b", 7001)], False),
        ("rediss+cluster://[::1]:7000", "cluster", [("::1", 7000)], True),
        ("redis+sentinel://s1,s2:26380/bank", "sentinel", [("s1", 26379), ("s2", 26380)], False),
    ],
)
def test_url_forms_are_read(url: str, mode: str, hosts: list[tuple[str, int]], tls: bool) -> None:
    target = parse_database_url(url)
    assert (target.mode, list(target.hosts), target.tls) == (mode, hosts, tls)


def test_sentinel_url_names_the_service_and_keeps_both_sets_of_credentials() -> None:
    target = parse_database_url(
        "falkor+sentinel://app:secret@s1:26379/bank?sentinel_password=watch&socket_timeout=3"
    )
    assert target.service == "bank"
    assert (target.options["username"], target.options["password"]) == ("app", "secret")
    assert target.options["socket_timeout"] == 3.0
    assert target.sentinel_options == {"password": "watch"}


def test_a_url_without_user_gives_no_credentials() -> None:
    target = parse_database_url("falkor+cluster://127.0.0.1:7000")
    assert "username" not in target.options
    assert "password" not in target.options


@pytest.mark.parametrize(
    ("url", "fault"),
    [
        ("mysql://db:3306", "unknown scheme 'mysql'"),
        ("falkor+shards://db:1", "unknown scheme 'falkor\\+shards'"),
        ("db.example:6379", "no '://'"),
        ("falkor://a:1,b:2", "several hosts need falkor\\+cluster"),
        ("falkor://db:notaport", "bad port 'notaport'"),
        ("falkor://db:70000", "bad host or port"),
        ("falkor+cluster://a:1/3", "a cluster has only database 0"),
        ("falkor+cluster://a:1,,b:2", "empty host"),
    ],
)
def test_bad_urls_are_refused_naming_the_fault(url: str, fault: str) -> None:
    with pytest.raises(DatabaseURLError, match=fault):
        Database(url)


def test_an_error_about_a_url_never_shows_its_password() -> None:
    with pytest.raises(DatabaseURLError) as refused:
        Database("falkor://user:hunter2@a:1,b:2")
    assert "hunter2" not in str(refused.value)
    assert "user:***@" in str(refused.value)


# -- against servers -----------------------------------------------------------


@pytest.fixture
def unix_server() -> Iterator[EmbeddedFalkorDB]:
    with EmbeddedFalkorDB(unix_socket=True, appendfsync=None) as server:
        yield server


def test_unix_socket_url(unix_server: EmbeddedFalkorDB, registry: Registry) -> None:
    db = Database(unix_server.url)
    try:
        assert db.topology == "standalone"
        round_trip(db, "over_unix", registry)
    finally:
        db.close()


async def test_unix_socket_url_async(unix_server: EmbeddedFalkorDB, registry: Registry) -> None:
    db = Database(unix_server.url)
    graph: Any = db.async_client().select_graph("over_unix_async")
    person = Person.register("Async", "async@example.com")
    try:
        async with AsyncBankUnitOfWork(graph, registry) as uow:
            uow.people.add(person)
        async with AsyncBankUnitOfWork(graph, registry) as uow:
            assert (await uow.people.get(person.id)).name == "Async"
    finally:
        await db.aclose()
        db.close()


def test_plain_url_to_one_server_is_standalone(database: Database, registry: Registry) -> None:
    db = Database(database.url.replace("redis://", "falkor://"))
    try:
        assert db.topology == "standalone"
        round_trip(db, "plain_standalone", registry)
    finally:
        db.close()


def test_plain_url_to_a_cluster_node_is_detected_as_cluster(
    local_cluster: LocalCluster, registry: Registry
) -> None:
    db = Database(f"falkor://127.0.0.1:{local_cluster.ports[2]}")
    try:
        assert db.topology == "cluster"
        round_trip(db, "detected_cluster", registry)
    finally:
        db.close()


def test_cluster_url_with_a_dead_seed_uses_the_next_one(
    local_cluster: LocalCluster, registry: Registry
) -> None:
    dead = free_port()
    db = Database(f"falkor+cluster://127.0.0.1:{dead},127.0.0.1:{local_cluster.ports[1]}")
    try:
        assert db.topology == "cluster"
        round_trip(db, "seeded_cluster", registry)
    finally:
        db.close()


def test_cluster_url_to_an_unreachable_cluster_fails_naming_its_seeds() -> None:
    port = free_port()
    db = Database(f"falkor+cluster://127.0.0.1:{port}")
    with pytest.raises(redis.ConnectionError, match=f"slot map from 127.0.0.1:{port}"):
        db.graph("nowhere")
    db.close()


async def test_async_cluster_client_to_an_unreachable_cluster_fails_naming_its_seeds(
    registry: Registry,
) -> None:
    port = free_port()
    db = Database(f"falkor+cluster://127.0.0.1:{port}")
    graph: Any = db.async_client().select_graph("nowhere")
    with pytest.raises(DatabaseUnavailableError, match=f"slot map from 127.0.0.1:{port}"):
        async with AsyncBankUnitOfWork(graph, registry) as uow:
            await uow.people.count()
    await db.aclose()
