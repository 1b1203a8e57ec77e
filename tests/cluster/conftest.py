"""A real three-node FalkorDB cluster and a sentinel set-up for this package, once per run.

``tenant_per_node`` gives each test one tenant whose graph lives on each
node (names found from the slot map), so a test can show that units on
graphs held by different nodes behave as on one server.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from infrastructure.persistence import Registry, ensure_key_constraints
from infrastructure.server import Database
from infrastructure.server.local_cluster import LocalCluster
from infrastructure.server.local_sentinel import LocalSentinel


@pytest.fixture(scope="session")
def local_cluster() -> Iterator[LocalCluster]:
    with LocalCluster(3) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def cluster_db(local_cluster: LocalCluster) -> Iterator[Database]:
    db = Database(local_cluster.url, max_connections=16)
    yield db
    db.close()


@pytest.fixture(scope="session")
def sentinel_setup() -> Iterator[LocalSentinel]:
    """A primary, a replica and a sentinel watching them as service ``bank``."""
    with LocalSentinel("bank") as setup:
        yield setup


def graphs_on_node(cluster: LocalCluster, index: int) -> set[str]:
    """What ``GRAPH.LIST`` says on node ``index`` alone."""
    with redis.Redis(port=cluster.ports[index], decode_responses=True) as node:
        return set(node.execute_command("GRAPH.LIST"))


@pytest.fixture
def tenant_per_node(local_cluster: LocalCluster, cluster_db: Database) -> Iterator[list[str]]:
    """Tenant names (graph names) of this test only; the i-th one lives on node i."""
    prefix = uuid.uuid4().hex[:8]
    found: dict[int, str] = {}
    n = 0
    while len(found) < len(local_cluster.nodes):
        name = f"t{prefix}_{n}"
        found.setdefault(local_cluster.node_index(name), name)
        n += 1
    names = [found[i] for i in range(len(local_cluster.nodes))]
    yield names
    for name in names:
        with contextlib.suppress(redis.ResponseError):  # never created by the test
            cluster_db.graph(name).delete()


@pytest.fixture
def bank_graphs(cluster_db: Database, tenant_per_node: list[str], registry: Registry) -> list[Any]:
    """One graph per node, each with the bank's key constraints."""
    graphs = [cluster_db.graph(name) for name in tenant_per_node]
    for graph in graphs:
        ensure_key_constraints(graph, registry)
    return graphs
