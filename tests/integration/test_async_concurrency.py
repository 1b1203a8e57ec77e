"""Many async units at once: each has its own identity map, money is conserved.

200 transfer units run concurrently over 50 versioned accounts, on one
client whose connection pool is smaller than the number of units. Units
that lose a race get ``ConcurrencyError`` (nothing written) and are rerun
from fresh reads by ``retry_on_conflict_async``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from domain.model import Account, Money, Transfer
from infrastructure.bank import AsyncBankUnitOfWork
from infrastructure.persistence import ConcurrencyError, retry_on_conflict_async

ACCOUNTS = 50
TRANSFERS = 200
INITIAL = Money(Decimal("10000.00"))
# At most 50.00 per transfer: even every transfer leaving one account cannot
# overdraw it, so every planned transfer must be applied.
MAX_AMOUNT = 50

Units = Callable[[], AsyncBankUnitOfWork]


def transfer_plan(accounts: list[Account], seed: int) -> list[tuple[UUID, UUID, Money]]:
    rng = random.Random(seed)
    plan = []
    for _ in range(TRANSFERS):
        source, target = rng.sample(accounts, 2)
        amount = Money(Decimal(rng.randint(1, MAX_AMOUNT * 100)) / 100)
        plan.append((source.id, target.id, amount))
    return plan


async def open_accounts(units: Units, count: int = ACCOUNTS) -> list[Account]:
    accounts = [Account.open(uuid4()) for _ in range(count)]
    for account in accounts:
        account.deposit(INITIAL)
    async with units() as uow:
        for account in accounts:
            uow.accounts.add(account)
    return accounts


async def run_transfers(
    units: Units, plan: list[tuple[UUID, UUID, Money]]
) -> tuple[list[UUID], Counter[str]]:
    """Run every planned transfer as its own unit, all at once; the ids they stored."""
    stats: Counter[str] = Counter()

    async def transfer(source_id: UUID, target_id: UUID, amount: Money) -> UUID:
        tries = 0

        async def attempt() -> UUID:
            nonlocal tries
            tries += 1
            stats["attempts"] += 1
            stats["most attempts"] = max(stats["most attempts"], tries)
            try:
                async with units() as uow:
                    source, target = await uow.accounts.get_many([source_id, target_id])
                    done = Transfer.between(source, target, amount)
                    uow.transfers.add(done)
            except ConcurrencyError:
                stats["conflicts"] += 1
                raise
            stats["commits"] += 1
            return done.id

        return await retry_on_conflict_async(attempt, attempts=100)

    ids = await asyncio.gather(*(transfer(*step) for step in plan))
    return ids, stats


async def test_concurrent_transfers_conserve_money_and_apply_each_exactly_once(
    async_uow_factory: Units, async_client: Any
) -> None:
    # The pool is the bound: far fewer connections than concurrent units.
    assert async_client.connection.connection_pool.max_connections < TRANSFERS
    accounts = await open_accounts(async_uow_factory)
    plan = transfer_plan(accounts, seed=7)

    started = time.perf_counter()
    ids, stats = await run_transfers(async_uow_factory, plan)
    elapsed = time.perf_counter() - started
    print(
        f"\n{TRANSFERS} transfer units over {ACCOUNTS} accounts: {stats['commits']} commits, "
        f"{stats['conflicts']} conflicts, {stats['attempts'] - TRANSFERS} retries, "
        f"at most {stats['most attempts']} attempts for one transfer, {elapsed:.2f} s"
    )

    async with async_uow_factory() as uow:
        stored = await uow.transfers.list()
        balances = {a.id: a.balance for a in await uow.accounts.list()}

    # The units really raced (otherwise this test proves nothing about conflicts).
    assert stats["conflicts"] > 0
    # Every unit committed exactly once, and each stored exactly one transfer.
    assert stats["commits"] == TRANSFERS
    assert stats["attempts"] == TRANSFERS + stats["conflicts"]
    assert len(set(ids)) == TRANSFERS
    assert sorted(t.id for t in stored) == sorted(ids)
    assert Counter((t.source_id, t.target_id, t.amount) for t in stored) == Counter(plan)

    # Each balance is what the stored transfers say; the total never moved.
    for account in accounts:
        incoming = sum((t.amount.amount for t in stored if t.target_id == account.id), Decimal(0))
        outgoing = sum((t.amount.amount for t in stored if t.source_id == account.id), Decimal(0))
        assert balances[account.id] == Money(INITIAL.amount + incoming - outgoing)
    assert sum(b.amount for b in balances.values()) == ACCOUNTS * INITIAL.amount


async def test_concurrent_units_never_share_loaded_objects(async_uow_factory: Units) -> None:
    (account,) = await open_accounts(async_uow_factory, 1)
    first, second = async_uow_factory(), async_uow_factory()
    async with first, second:
        mine, theirs = await asyncio.gather(
            first.accounts.get(account.id), second.accounts.get(account.id)
        )
        assert mine is not theirs
        assert mine == theirs
        # Within a unit the key keeps giving the same object.
        assert await first.accounts.get(account.id) is mine
        assert (await second.accounts.get_many([account.id]))[0] is theirs

        mine.deposit(Money(Decimal("1.00")))
        assert theirs.balance == INITIAL
        assert first.has_pending_changes
        assert not second.has_pending_changes

    async with async_uow_factory() as uow:
        assert (await uow.accounts.get(account.id)).balance == INITIAL + Money(Decimal("1.00"))
