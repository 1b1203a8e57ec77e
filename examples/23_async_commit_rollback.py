"""Async commit and rollback: an exception inside ``async with`` writes nothing.

1. ``await uow.commit()`` writes the unit's changes in one atomic query.
2. An exception inside ``async with`` rolls the unit back and propagates:
   none of the unit's changes are written, not even those made before it.
3. A commit the database refuses (a stale version: another unit changed the
   account first) writes nothing at all; ``retry_on_conflict_async`` reruns
   the unit from fresh reads.
4. ``await uow.rollback()`` discards pending work and restores the loaded
   entities; the unit stays usable.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from _support import run_async_example

from domain.errors import InsufficientFunds
from domain.model import Account, Money, Person, Transfer
from infrastructure.bank import AsyncBankUnitOfWork
from infrastructure.persistence import (
    ConcurrencyError,
    Registry,
    retry_on_conflict_async,
)


async def balances(graph: Any, registry: Registry, *accounts: Account) -> str:
    async with AsyncBankUnitOfWork(graph, registry) as uow:
        loaded = await uow.accounts.get_many([a.id for a in accounts])
        return " | ".join(str(a.balance) for a in loaded)


async def run(client: Any, graph_name: str, registry: Registry) -> None:
    graph = client.select_graph(graph_name)

    def unit() -> AsyncBankUnitOfWork:
        return AsyncBankUnitOfWork(graph, registry)

    nora = Person.register("Nora", "nora@example.com", 41)
    checking, savings = Account.open(nora.id), Account.open(nora.id)

    # 1. An explicit commit.
    async with unit() as uow:
        uow.people.add(nora)
        uow.accounts.add(checking)
        uow.accounts.add(savings)
        checking.deposit(Money(Decimal("100.00")))
        await uow.commit()
        print("committed, pending changes:", uow.has_pending_changes)
    print("balances (checking | savings):", await balances(graph, registry, checking, savings))

    # 2. An exception inside the block: the deposit before it is not written.
    try:
        async with unit() as uow:
            source, target = await uow.accounts.get_many([checking.id, savings.id])
            source.deposit(Money(Decimal("50.00")))  # 150.00 in memory
            uow.transfers.add(Transfer.between(source, target, Money(Decimal("500.00"))))
    except InsufficientFunds as exc:
        print("the unit raised InsufficientFunds:", exc)
    print("balances after the failed unit:", await balances(graph, registry, checking, savings))
    async with unit() as uow:
        print("transfers stored:", await uow.transfers.count())

    # 3. A stale commit is refused whole: another unit changed the account
    #    between this unit's read and its commit.
    async def move_ten(interfere: bool) -> None:
        async with unit() as uow:
            source, target = await uow.accounts.get_many([checking.id, savings.id])
            if interfere:
                async with unit() as other:
                    (await other.accounts.get(checking.id)).deposit(Money(Decimal("1.00")))
            uow.transfers.add(Transfer.between(source, target, Money(Decimal("10.00"))))

    try:
        await move_ten(interfere=True)
    except ConcurrencyError as exc:
        print("ConcurrencyError:", str(exc).split(":")[0])
    print("after the refused commit:", await balances(graph, registry, checking, savings))

    #    retry_on_conflict_async reruns the whole unit from fresh reads.
    attempts = 0

    async def move_ten_once_interrupted() -> None:
        nonlocal attempts
        attempts += 1
        await move_ten(interfere=attempts == 1)

    await retry_on_conflict_async(move_ten_once_interrupted)
    print(
        f"retried: {attempts} attempts, balances:",
        await balances(graph, registry, checking, savings),
    )
    async with unit() as uow:
        print("transfers stored:", await uow.transfers.count())

    # 4. An explicit rollback restores what was loaded; the unit stays usable.
    async with unit() as uow:
        acc = await uow.accounts.get(savings.id)
        acc.deposit(Money(Decimal("999.00")))
        print("before rollback:", acc.balance, "| pending:", uow.has_pending_changes)
        await uow.rollback()
        print("after rollback:", acc.balance, "| pending:", uow.has_pending_changes)
        print("unit still active:", uow.is_active)
    print("balances at the end:", await balances(graph, registry, checking, savings))


def main() -> None:
    run_async_example("async_rollback", run)


if __name__ == "__main__":
    main()
