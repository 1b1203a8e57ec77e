"""Units running at the same time lose no update: conflicts are detected and rerun.

sync: one thread per unit, each rerun by ``retry_on_conflict``;
async: tasks under ``asyncio.gather``, each rerun by ``retry_on_conflict_async``
(see ``Harness.run_concurrently``).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Coroutine
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from domain.model import Account, Money, Transfer
from infrastructure.persistence import (
    ConcurrencyError,
    retry_on_conflict,
    retry_on_conflict_async,
)

if TYPE_CHECKING:
    from tests.integration.conftest import Harness

UNITS = 6
R = TypeVar("R")


async def open_account(harness: Harness, amount: str = "0") -> Account:
    account = Account.open(uuid.uuid4())
    if Decimal(amount):
        account.deposit(Money.of(amount))
    async with harness.unit() as uow:
        uow.accounts.add(account)
    return account


async def test_concurrent_read_modify_write_units_lose_no_update(harness: Harness) -> None:
    account = await open_account(harness)
    attempts: Counter[int] = Counter()
    # Every first attempt reads before any commits, so all but one of them must conflict.
    everyone_has_read = harness.barrier(UNITS)

    async def deposit(unit_no: int) -> None:
        attempts[unit_no] += 1
        async with harness.unit() as uow:
            loaded = await uow.accounts.get(account.id)
            if attempts[unit_no] == 1:
                await everyone_has_read.wait()
            loaded.deposit(Money.of("1.25"))

    # A unit can lose at most once to each other unit, so UNITS attempts always suffice.
    await harness.run_concurrently(deposit, UNITS, attempts=UNITS)

    async with harness.unit() as uow:
        final = await uow.accounts.get(account.id)
    assert final.balance == Money(Decimal("1.25") * UNITS)
    assert final.version == 1 + UNITS
    conflicts = sum(attempts.values()) - UNITS
    assert conflicts >= UNITS - 1


async def test_concurrent_transfers_conserve_money_exactly(harness: Harness) -> None:
    left = await open_account(harness, "100.00")
    right = await open_account(harness, "100.00")
    moves = [(left.id, right.id, "3.10"), (right.id, left.id, "1.05")] * 3
    started = harness.barrier(len(moves))
    attempts: Counter[int] = Counter()

    async def move(unit_no: int) -> None:
        source, target, amount = moves[unit_no]
        attempts[unit_no] += 1
        async with harness.unit() as uow:
            a, b = await uow.accounts.get_many([source, target])
            if attempts[unit_no] == 1:
                await started.wait()
            uow.transfers.add(Transfer.between(a, b, Money.of(amount)))

    await harness.run_concurrently(move, len(moves), attempts=len(moves))

    async with harness.unit() as uow:
        final_left, final_right = await uow.accounts.get_many([left.id, right.id])
        assert await uow.transfers.count() == len(moves)
    assert final_left.balance == Money.of("100.00") - Money.of("9.30") + Money.of("3.15")
    assert final_right.balance == Money.of("100.00") + Money.of("9.30") - Money.of("3.15")


async def test_retry_gives_up_after_its_attempts_with_the_conflict(harness: Harness) -> None:
    account = await open_account(harness)
    calls = 0

    async def always_overtaken() -> None:
        nonlocal calls
        calls += 1
        async with harness.unit() as uow:
            mine = await uow.accounts.get(account.id)
            async with harness.unit() as other:
                (await other.accounts.get(account.id)).deposit(Money.of("1"))
            mine.deposit(Money.of("100"))

    async def retried() -> None:
        if harness.variant == "async":
            await retry_on_conflict_async(always_overtaken, attempts=3, base_delay_s=0)
        else:
            retry_on_conflict(lambda: complete(always_overtaken()), attempts=3, base_delay_s=0)

    with pytest.raises(ConcurrencyError) as caught:
        await retried()
    assert calls == 3
    assert caught.value.stale == [("Account", account.id)]
    async with harness.unit() as uow:
        assert (await uow.accounts.get(account.id)).balance == Money.of("3")


async def test_retry_returns_the_result_of_the_attempt_that_won(harness: Harness) -> None:
    account = await open_account(harness)
    calls = 0

    async def overtaken_once() -> str:
        nonlocal calls
        calls += 1
        async with harness.unit() as uow:
            mine = await uow.accounts.get(account.id)
            if calls == 1:
                async with harness.unit() as other:
                    (await other.accounts.get(account.id)).deposit(Money.of("1"))
            mine.deposit(Money.of("10"))
        return f"attempt {calls}"

    if harness.variant == "async":
        result = await retry_on_conflict_async(overtaken_once, base_delay_s=0)
    else:
        result = retry_on_conflict(lambda: complete(overtaken_once()), base_delay_s=0)
    assert result == "attempt 2"
    async with harness.unit() as uow:
        assert (await uow.accounts.get(account.id)).balance == Money.of("11")


def complete(coroutine: Coroutine[Any, Any, R]) -> R:
    """Run a coroutine that never suspends (the sync variant only calls the sync unit)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        result: R = done.value
        return result
    coroutine.close()
    raise AssertionError("the sync variant suspended")
