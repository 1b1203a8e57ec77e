"""A dead cluster node takes only its own tenants offline (with full coverage off).

Its tenants' units fail with ``DatabaseUnavailableError`` and write nothing;
tenants on the other nodes keep committing, also once the cluster has
declared the node failed.
"""

from __future__ import annotations

import time

import pytest
import redis

from domain.model import Person
from infrastructure.bank import BankUnitOfWork
from infrastructure.persistence import DatabaseUnavailableError, Registry, ensure_key_constraints
from infrastructure.server import Database
from infrastructure.server.local_cluster import LocalCluster

PATIENCE_S = 30.0  # a bound against hanging, not a speed requirement


def wait_until_declared_failed(cluster: LocalCluster, dead: int) -> None:
    with redis.Redis(port=cluster.ports[0], decode_responses=True) as node:
        deadline = time.monotonic() + PATIENCE_S
        while time.monotonic() < deadline:
            nodes = node.execute_command("CLUSTER", "NODES")
            text = (
                nodes if isinstance(nodes, str) else "\n".join(f"{k} {v}" for k, v in nodes.items())
            )
            line = next(ln for ln in text.splitlines() if f":{cluster.ports[dead]}@" in ln)
            if "fail" in line.split()[2].split(","):
                return
            time.sleep(0.05)
    raise AssertionError(f"node {dead} was not declared failed")


def test_a_dead_node_takes_only_its_tenants_offline(registry: Registry) -> None:
    with LocalCluster(3, node_timeout_ms=500, full_coverage=False) as cluster:
        db = Database(cluster.url)
        try:
            names: dict[int, str] = {}
            n = 0
            while len(names) < 3:
                names.setdefault(cluster.node_index(f"tenant{n}"), f"tenant{n}")
                n += 1
            graphs = [db.graph(names[i]) for i in range(3)]
            for graph in graphs:
                ensure_key_constraints(graph, registry)
                with BankUnitOfWork(graph, registry) as uow:
                    uow.people.add(Person.register("First", "first@example.com"))

            cluster.kill(2)
            wait_until_declared_failed(cluster, 2)

            for graph in graphs[:2]:
                with BankUnitOfWork(graph, registry) as uow:
                    uow.people.add(Person.register("Later", "later@example.com"))
                with BankUnitOfWork(graph, registry) as uow:
                    assert uow.people.count() == 2
            with (
                pytest.raises(DatabaseUnavailableError),
                BankUnitOfWork(graphs[2], registry) as uow,
            ):
                uow.people.count()
        finally:
            db.close()
