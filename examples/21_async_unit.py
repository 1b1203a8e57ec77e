"""The async unit of work: ``async with``, add, get, commit.

``AsyncBankUnitOfWork`` is the sync unit with awaited I/O: ``add`` and
``delete`` are plain calls, everything that talks to the server is awaited.
A clean exit from ``async with`` commits everything the unit tracked in one
atomic query; ``await uow.commit()`` does it explicitly.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from _support import run_async_example

from domain.model import Account, Money, Person
from infrastructure.bank import AsyncBankUnitOfWork
from infrastructure.persistence import Registry


async def run(client: Any, graph_name: str, registry: Registry) -> None:
    graph = client.select_graph(graph_name)
    hana = Person.register("Hana", "hana@example.com", 34)
    account = Account.open(hana.id)

    # add: plain calls; the clean exit commits both in one query.
    async with AsyncBankUnitOfWork(graph, registry) as uow:
        uow.people.add(hana)
        uow.accounts.add(account)
        print("inside the unit, pending changes:", uow.has_pending_changes)
    print("committed on exit, Hana's version:", hana.version)

    # get: awaited; the identity map hands back the same object.
    async with AsyncBankUnitOfWork(graph, registry) as uow:
        loaded = await uow.people.get(hana.id)
        again = await uow.get(Person, hana.id)
        print(f"loaded: {loaded.name}, {loaded.age} | same object twice: {loaded is again}")
        acc = await uow.accounts.get(account.id)
        acc.deposit(Money(Decimal("75.00")))
        print("after the deposit, pending changes:", uow.has_pending_changes)
        await uow.commit()  # explicit commit; the unit stays open
        print("after await uow.commit(), pending changes:", uow.has_pending_changes)
        print("unit still active:", uow.is_active)
    print("unit active after the block:", uow.is_active)

    async with AsyncBankUnitOfWork(graph, registry) as uow:
        stored = await uow.accounts.get(account.id)
        print(f"stored balance: {stored.balance} (version {stored.version})")
        print("people stored:", await uow.people.count())


def main() -> None:
    run_async_example("async_unit", run)


if __name__ == "__main__":
    main()
