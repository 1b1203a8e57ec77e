"""Upserts and set-based changes against the real server: one query, data of other clients.

The semantics shared with the fakes are in tests/contract/test_bulk_contract.py;
here: what the server is sent and holds, and nodes written by the raw client.
"""

from __future__ import annotations

from typing import Any

from infrastructure.persistence import F, to_many
from tests.integration.graph_support import Account, Person, Transfer, graph_registry


def people(harness: Any) -> list[list[Any]]:
    rows = harness.graph.ro_query(
        "MATCH (n:Person) RETURN n.id, n.name, n.age, n.version ORDER BY n.id"
    ).result_set
    return [list(r) for r in rows]


async def test_update_where_on_ten_thousand_nodes_is_one_query_and_keeps_tracked_ones(harness):
    registry = harness.prepare(graph_registry())
    harness.graph.query(
        "UNWIND range(0, 9999) AS i CREATE (:Person {id: 'p' + toString(i), name: 'n', age: i})"
    )
    async with harness.unit(registry) as uow:
        repo = uow.repository(Person)
        tracked = await repo.get_many(["p5", "p9999"])
        harness.log.clear()
        moved = repo.update_where(F("age") >= 0, age=F("age") + 1, name="m")
        await uow.flush()
        assert len(harness.log.writes) == 1
        assert not harness.log.reads
        assert moved.count == 10_000
        assert [(p.age, p.name, p.version) for p in tracked] == [(6, "m", 1), (10000, "m", 1)]
        tracked[0].age = 60  # the unit holds the stored version: commits without conflict
    rows = harness.graph.ro_query(
        "MATCH (n:Person) RETURN count(n), sum(n.age), min(n.version), max(n.version)"
    ).result_set
    assert rows == [[10_000, sum(range(1, 10_001)) + 60 - 6, 1, 2]]


async def test_upsert_keeps_what_another_client_stored_beside_the_mapping(harness):
    registry = harness.prepare(graph_registry())
    harness.graph.query("CREATE (:Person {id: 'a', name: 'Ann', shoe: 38})")  # no version
    async with harness.unit(registry) as uow:
        ann = uow.repository(Person).upsert(Person("a", "Anna", age=7))
        uow.repository(Person).upsert(Person("b", "Bob"))
    assert ann.version == 1  # an unversioned node that changed: coalesce(0) + 1
    assert harness.stored("Person", "a") == {
        "id": "a",
        "name": "Anna",
        "age": 7,
        "shoe": 38,
        "version": 1,
    }
    assert people(harness) == [["a", "Anna", 7, 1], ["b", "Bob", None, 1]]


async def test_upserts_and_set_based_changes_share_the_commit_query(harness):
    registry = harness.prepare(graph_registry())
    harness.graph.query("CREATE (:Person {id: 'a', name: 'Ann', age: 1, version: 1})")
    async with harness.unit(registry) as uow:
        repo = uow.repository(Person)
        uow.add(Person("c", "Cy", age=1))
        repo.upsert(Person("b", "Bob", age=1))
        bumped = repo.update_where(F("age") == 1, age=F("age") + 1)
        harness.log.clear()
    assert len(harness.log.writes) == 1
    assert bumped.count == 3  # applied after the commit's other writes: sees b and c
    assert people(harness) == [["a", "Ann", 2, 2], ["b", "Bob", 2, 2], ["c", "Cy", 2, 2]]


async def test_delete_where_detaches_edges_and_counts_after_the_commit(harness):
    registry = harness.prepare(graph_registry())
    harness.graph.query(
        "CREATE (:Account {id: 'a1', balance: 0})-[:SENT]->(:Transfer {id: 't1', amount: 1}),"
        " (:Transfer {id: 't2', amount: 2})"
    )
    async with harness.unit(registry) as uow:
        gone = uow.repository(Transfer).delete_where(F("amount") >= 1)
    assert gone.count == 2
    assert harness.count("Transfer") == 0
    assert harness.edges() == []
    async with harness.unit(registry) as uow:
        account = await uow.repository(Account).get("a1", load=["transfers"])
        assert account.transfers == []


async def test_a_relationship_merge_after_a_batched_create_keeps_every_row(harness):
    """FalkorDB#1955: MERGE of edges after a multi-row CREATE in one query may drop rows.

    A commit has exactly that shape: it creates the new nodes of each label in
    one UNWIND ... CREATE, then MERGEs the edges of stored holders, here to
    those very nodes, and to stored ones, in batches of several rows.
    """
    registry = harness.prepare(graph_registry())
    harness.graph.query(
        "UNWIND range(0, 199) AS i CREATE (:Person {id: 'old' + toString(i), name: 'o'})"
    )
    async with harness.unit(registry) as uow:
        olds = await uow.repository(Person).find(F("id").startswith("old"), order_by="id")
        await uow.repository(Person).load_related(olds, "follows")
        expected = []
        for i, holder in enumerate(olds):
            fresh = Person(f"new{i}", "n")
            expected.append((holder.id, fresh.id))
            uow.add(fresh)
            holder.follows.append(fresh)  # MERGE to a node the same query CREATEs
            holder.follows.append(olds[(i + 1) % len(olds)])  # MERGE between stored nodes
    rows = harness.graph.ro_query(
        "MATCH (a:Person)-[:FOLLOWS]->(b:Person) RETURN count(*), count(DISTINCT a), "
        "sum(CASE WHEN b.id STARTS WITH 'new' THEN 1 ELSE 0 END)"
    ).result_set
    assert rows == [[400, 200, 200]]
    assert harness.count("Person") == 400
    pairs = harness.graph.ro_query(
        "MATCH (a:Person)-[:FOLLOWS]->(b:Person) WHERE b.id STARTS WITH 'new' "
        "RETURN a.id, b.id ORDER BY a.id"
    ).result_set
    assert sorted((a, b) for a, b in pairs) == sorted(expected)


def test_to_many_declared_here_is_the_one_the_graph_domain_maps() -> None:
    # The #1955 test above relies on Person.follows being an outgoing to-many.
    rel = graph_registry().mapping_for(Person).relationships["follows"]
    assert (rel.type, rel.direction, rel.many) == ("FOLLOWS", "out", True)
    assert to_many(Person, "FOLLOWS").many
