"""Graph-per-tenant names: hash tags keep a tenant's graphs on one node, tenants spread.

A unit of work holds one graph handle, so all it reads and writes is one
tenant's graph: a tenant's unit never sees another tenant's data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from domain.model import Person
from infrastructure.bank import BankUnitOfWork
from infrastructure.persistence import Registry, ensure_key_constraints
from infrastructure.server import Database, GraphNameError, GraphNames, hash_slot
from infrastructure.server.local_cluster import LocalCluster

from .conftest import graphs_on_node

# -- names (no server) ---------------------------------------------------------


def test_template_fills_fields_and_wraps_the_tag_field_in_braces() -> None:
    names = GraphNames("{tenant}:{purpose}", tag="tenant")
    assert names(tenant="acme", purpose="bank") == "{acme}:bank"
    assert names("acme", purpose="audit") == "{acme}:audit"
    assert GraphNames("bank_{tenant}")("acme") == "bank_acme"


def test_graphs_sharing_a_tag_share_a_slot_and_untagged_ones_need_not() -> None:
    names = GraphNames("{tenant}:{purpose}", tag="tenant")
    slots = {hash_slot(names(tenant="acme", purpose=p)) for p in ("bank", "audit", "log")}
    assert slots == {hash_slot("{acme}")}
    plain = GraphNames("{tenant}:{purpose}")
    assert len({hash_slot(plain(tenant="acme", purpose=p)) for p in ("bank", "audit")}) == 2


@pytest.mark.parametrize(
    ("value", "fault"),
    [
        ("", "tenant is empty"),
        ("a}{b", "contains a brace"),
        ("{acme}", "contains a brace"),
        ("a\nb", "control character"),
    ],
)
def test_unsafe_field_values_are_refused(value: str, fault: str) -> None:
    with pytest.raises(GraphNameError, match=fault):
        GraphNames("{tenant}:bank", tag="tenant")(value)


@pytest.mark.parametrize(
    ("template", "tag", "fault"),
    [
        ("bank", None, "has no field"),
        ("{tenant!r}", None, "plain names"),
        ("{tenant:>10}", None, "plain names"),
        ("{0}", None, "plain names"),
        ("{tenant}", "region", "not a field"),
        ("{{x}}{tenant}", None, "literal braces"),
        ("{tenant}{tenant}", "tenant", "more than once"),
        ("{tenant", None, "bad template"),
    ],
)
def test_bad_templates_are_refused(template: str, tag: str | None, fault: str) -> None:
    with pytest.raises(GraphNameError, match=fault):
        GraphNames(template, tag=tag)


def test_missing_and_unknown_fields_are_named() -> None:
    names = GraphNames("{region}:{tenant}", tag="region")
    with pytest.raises(GraphNameError, match=r"missing \['tenant'\], unknown \['tenat'\]"):
        names(region="eu", tenat="acme")
    with pytest.raises(GraphNameError, match="region given twice"):
        names("eu", region="us", tenant="acme")


# -- on the cluster ------------------------------------------------------------


@pytest.fixture
def tenant_db(local_cluster: LocalCluster) -> Iterator[Database]:
    db = Database(local_cluster.url, graph_names=GraphNames("{tenant}:{purpose}", tag="tenant"))
    yield db
    for name in db.list_graphs():
        if name.startswith("{g"):
            db.graph(name).delete()
    db.close()


def test_a_tenants_graphs_share_a_node_and_tenants_spread_over_all_nodes(
    tenant_db: Database, local_cluster: LocalCluster, registry: Registry
) -> None:
    tenants = [f"g{uuid.uuid4().hex[:6]}{i}" for i in range(24)]
    for tenant in tenants:
        for purpose in ("bank", "audit"):
            graph = tenant_db.graph_for(tenant, purpose=purpose)
            ensure_key_constraints(graph, registry)

    placement: dict[str, set[int]] = {t: set() for t in tenants}
    for index in range(len(local_cluster.nodes)):
        for name in graphs_on_node(local_cluster, index):
            tenant = name[1:].partition("}")[0]
            if tenant in placement:
                placement[tenant].add(index)
    assert all(len(nodes) == 1 for nodes in placement.values())
    assert set().union(*placement.values()) == {0, 1, 2}


def test_a_tenants_unit_sees_only_that_tenants_graph(
    tenant_db: Database, registry: Registry
) -> None:
    graphs: dict[str, Any] = {}
    people: dict[str, Person] = {}
    for tenant in (f"g{uuid.uuid4().hex[:6]}a", f"g{uuid.uuid4().hex[:6]}b"):
        graphs[tenant] = tenant_db.graph_for(tenant, purpose="bank")
        ensure_key_constraints(graphs[tenant], registry)
        people[tenant] = Person.register(f"Client of {tenant}", "c@example.com")
        with BankUnitOfWork(graphs[tenant], registry) as uow:
            uow.people.add(people[tenant])

    for tenant, graph in graphs.items():
        with BankUnitOfWork(graph, registry) as uow:
            assert [p.id for p in uow.people.list()] == [people[tenant].id]
            others = [p.id for t, p in people.items() if t != tenant]
            assert not any(uow.people.exists(key) for key in others)
