"""``python -m app schema`` on the three-node cluster: only the URL differs."""

from __future__ import annotations

import uuid

from infrastructure.server import Database
from infrastructure.server.local_cluster import LocalCluster
from tests.cluster.conftest import graphs_on_node
from tests.e2e.test_cli import run


def test_schema_ensures_the_graph_and_lists_graphs_of_every_node(
    local_cluster: LocalCluster, cluster_db: Database, tenant_per_node: list[str]
) -> None:
    for name in tenant_per_node:  # a graph on each node, so the listing must ask them all
        cluster_db.graph(name).query("CREATE (:Marker)")
    graph = f"cli_{uuid.uuid4().hex[:8]}"
    try:
        done = run("schema", FALKORDB_URL=local_cluster.url, FALKORDB_GRAPH=graph)
        assert done.returncode == 0, done.stdout + done.stderr
        assert any("Person" in line and "created" in line for line in done.stdout.splitlines())
        listed = done.stdout.replace("\n", " ")
        for name in [*tenant_per_node, graph]:
            assert name in listed
        holders = [
            i for i in range(len(local_cluster.nodes)) if graph in graphs_on_node(local_cluster, i)
        ]
        assert len(holders) == 1  # the graph lives whole on one node
    finally:
        cluster_db.graph(graph).delete()
