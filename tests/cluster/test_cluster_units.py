"""Units of work on a three-node cluster behave exactly as on one server.

Each graph is one key, held whole by one node, so each commit (one
``GRAPH.QUERY``) is atomic wherever the graph lives. The tests use one graph
per node and check atomic commits, the version guard, concurrent units,
async units started cold, the key constraints, and listing graphs across
nodes.
"""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal
from typing import Any

import pytest

from domain.model import Account, Money, Person, Transfer
from infrastructure.bank import AsyncBankUnitOfWork, BankUnitOfWork
from infrastructure.persistence import (
    ConcurrencyError,
    DuplicateKeyError,
    Registry,
    ensure_key_constraints,
    retry_on_conflict,
)
from infrastructure.server import Database
from infrastructure.server.local_cluster import LocalCluster

from .conftest import graphs_on_node


def open_accounts(graph: Any, registry: Registry, amount: str) -> tuple[Person, Account, Account]:
    owner = Person.register("Owner", "owner@example.com", 40)
    source, target = Account.open(owner.id), Account.open(owner.id)
    source.deposit(Money(Decimal(amount)))
    with BankUnitOfWork(graph, registry) as uow:
        uow.people.add(owner)
        uow.accounts.add(source)
        uow.accounts.add(target)
    return owner, source, target


def test_each_tenant_graph_lives_whole_on_the_node_that_owns_its_slot(
    local_cluster: LocalCluster, bank_graphs: list[Any], tenant_per_node: list[str]
) -> None:
    for index, name in enumerate(tenant_per_node):
        on_node = graphs_on_node(local_cluster, index)
        assert name in on_node
        assert not on_node & (set(tenant_per_node) - {name})


def test_list_graphs_gathers_every_node_sorted(
    cluster_db: Database, bank_graphs: list[Any], tenant_per_node: list[str]
) -> None:
    listed = cluster_db.list_graphs()
    assert set(tenant_per_node) <= set(listed)
    assert listed == sorted(listed)
    assert len(listed) == len(set(listed))


@pytest.mark.parametrize("node", [0, 1, 2])
def test_transfer_commits_atomically_on_each_node(
    bank_graphs: list[Any], registry: Registry, node: int
) -> None:
    graph = bank_graphs[node]
    owner, source, target = open_accounts(graph, registry, "100")

    with BankUnitOfWork(graph, registry) as uow:
        a, b = uow.accounts.get_many([source.id, target.id])
        uow.transfers.add(Transfer.between(a, b, Money(Decimal("30"))))

    # A unit whose commit fails (duplicate key) leaves every change of it unwritten.
    failing = BankUnitOfWork(graph, registry)
    a, b = failing.accounts.get_many([source.id, target.id])
    failed_transfer = Transfer.between(a, b, Money(Decimal("50")))
    failing.transfers.add(failed_transfer)
    failing.people.add(Person(id=owner.id, name="Clone", email="clone@example.com"))
    with pytest.raises(DuplicateKeyError):
        failing.commit()
    failing.close()

    with BankUnitOfWork(graph, registry) as uow:
        a, b = uow.accounts.get_many([source.id, target.id])
        assert (a.balance, b.balance) == (Money(Decimal("70")), Money(Decimal("30")))
        assert uow.transfers.count() == 1
        assert not uow.transfers.exists(failed_transfer.id)
        assert uow.people.get(owner.id).name == "Owner"


def test_stale_version_is_refused_on_every_node(bank_graphs: list[Any], registry: Registry) -> None:
    for graph in bank_graphs:
        _, account, _ = open_accounts(graph, registry, "10")
        slow = BankUnitOfWork(graph, registry)
        stale = slow.accounts.get(account.id)

        with BankUnitOfWork(graph, registry) as fast:
            fast.accounts.get(account.id).deposit(Money(Decimal("1")))

        stale.deposit(Money(Decimal("100")))
        with pytest.raises(ConcurrencyError, match=str(account.id)):
            slow.commit()
        slow.close()
        with BankUnitOfWork(graph, registry) as uow:
            assert uow.accounts.get(account.id).balance == Money(Decimal("11"))


def test_concurrent_units_on_all_nodes_lose_no_update(
    bank_graphs: list[Any], registry: Registry
) -> None:
    threads_per_graph, deposits_each = 3, 8
    accounts = [open_accounts(graph, registry, "1")[1] for graph in bank_graphs]

    def deposit_once(graph: Any, account_id: Any) -> None:
        with BankUnitOfWork(graph, registry) as uow:
            uow.accounts.get(account_id).deposit(Money(Decimal("1")))

    errors: list[BaseException] = []

    def worker(graph: Any, account_id: Any) -> None:
        try:
            for _ in range(deposits_each):
                retry_on_conflict(lambda: deposit_once(graph, account_id), attempts=50)
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=worker, args=(graph, account.id))
        for graph, account in zip(bank_graphs, accounts, strict=True)
        for _ in range(threads_per_graph)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    for graph, account in zip(bank_graphs, accounts, strict=True):
        with BankUnitOfWork(graph, registry) as uow:
            expected = Decimal(1 + threads_per_graph * deposits_each)
            assert uow.accounts.get(account.id).balance == Money(expected)


def test_key_constraints_hold_on_every_node(bank_graphs: list[Any], registry: Registry) -> None:
    for graph in bank_graphs:
        ensure_key_constraints(graph, registry)  # a second call changes nothing
        person = Person.register("Once", "once@example.com")
        with BankUnitOfWork(graph, registry) as uow:
            uow.people.add(person)
        with pytest.raises(DuplicateKeyError), BankUnitOfWork(graph, registry) as uow:
            uow.people.add(Person(id=person.id, name="Twice", email="twice@example.com"))
        with BankUnitOfWork(graph, registry) as uow:
            assert uow.people.count() == 1


async def test_async_units_started_cold_write_each_change_once_on_its_node(
    local_cluster: LocalCluster,
    bank_graphs: list[Any],
    tenant_per_node: list[str],
    registry: Registry,
) -> None:
    # A fresh Database: its async client has not loaded the slot map yet.
    db = Database(local_cluster.url, max_connections=8)
    client = db.async_client()
    graphs = [client.select_graph(name) for name in tenant_per_node]
    per_graph = 12
    people = [
        [Person.register(f"P{i}", f"p{i}@example.com", i) for i in range(per_graph)] for _ in graphs
    ]

    async def register(graph: Any, person: Person) -> None:
        async with AsyncBankUnitOfWork(graph, registry) as uow:
            uow.people.add(person)

    try:
        await asyncio.gather(
            *(
                register(graph, person)
                for graph, group in zip(graphs, people, strict=True)
                for person in group
            )
        )
        for graph, group in zip(graphs, people, strict=True):
            async with AsyncBankUnitOfWork(graph, registry) as uow:
                assert await uow.people.count() == per_graph
                stored = await uow.people.get_many([p.id for p in group])
                assert [p.name for p in stored] == [p.name for p in group]

        # Concurrent read-modify-write units through the async client lose nothing either.
        owner = Person.register("Owner", "owner@example.com")
        account = Account.open(owner.id)
        async with AsyncBankUnitOfWork(graphs[1], registry) as uow:
            uow.accounts.add(account)

        async def deposit() -> None:
            for _ in range(50):
                try:
                    async with AsyncBankUnitOfWork(graphs[1], registry) as uow:
                        (await uow.accounts.get(account.id)).deposit(Money(Decimal("1")))
                    return
                except ConcurrencyError:
                    await asyncio.sleep(0.001)
            raise AssertionError("a deposit lost 50 races in a row")

        await asyncio.gather(*(deposit() for _ in range(10)))
        async with AsyncBankUnitOfWork(graphs[1], registry) as uow:
            assert (await uow.accounts.get(account.id)).balance == Money(Decimal("10"))
        assert sorted(await client.list_graphs()) == await client.list_graphs()
        assert set(tenant_per_node) <= set(await client.list_graphs())
    finally:
        await db.aclose()
        db.close()
    for index, name in enumerate(tenant_per_node):
        assert name in graphs_on_node(local_cluster, index)
