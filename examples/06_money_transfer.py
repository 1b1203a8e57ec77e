"""A money transfer with optimistic concurrency.

Accounts are versioned (``registry.map(Account, ..., version="version")``):
a commit updates an account only if its stored version is still the one the
unit read, and checks this for every account in the same atomic query. When
another unit got there first, the commit raises ``ConcurrencyError`` naming
the stale accounts and writes nothing, so no update is ever lost. The cure
is to rerun the whole unit from fresh reads: ``retry_on_conflict`` does it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from uuid import UUID

from _support import bank_example

from domain.model import Account, Money, Person, Transfer
from infrastructure.bank import BankUnitOfWork
from infrastructure.persistence import ConcurrencyError, retry_on_conflict

UnitFactory = Callable[[], BankUnitOfWork]


def transfer(new_unit: UnitFactory, source_id: UUID, target_id: UUID, amount: Money) -> None:
    """The use case: one unit, fresh reads, the domain decides, one atomic commit."""
    with new_unit() as uow:
        source, target = uow.accounts.get_many([source_id, target_id])
        uow.transfers.add(Transfer.between(source, target, amount))


def balances(new_unit: UnitFactory, *ids: UUID) -> str:
    with new_unit() as uow:
        return ", ".join(str(a.balance) for a in uow.accounts.get_many(list(ids)))


def main() -> None:
    with bank_example("transfer") as new_unit:
        ivan = Person.register("Ivan", "ivan@example.com")
        a, b = Account.open(ivan.id), Account.open(ivan.id)
        a.deposit(Money.of("1000.00"))
        with new_unit() as uow:
            uow.people.add(ivan)
            uow.accounts.add(a)
            uow.accounts.add(b)

        transfer(new_unit, a.id, b.id, Money.of("100.00"))
        print("after one transfer:", balances(new_unit, a.id, b.id))
        with new_unit() as uow:
            recorded, version = uow.transfers.count(), uow.accounts.get(a.id).version
            print(f"transfers recorded: {recorded} | account version: {version}")

        # Two units read the same accounts; the second one to commit loses.
        slow = new_unit()
        slow_a, slow_b = slow.accounts.get_many([a.id, b.id])
        slow.transfers.add(Transfer.between(slow_a, slow_b, Money.of("300.00")))
        transfer(new_unit, a.id, b.id, Money.of("50.00"))  # a concurrent unit commits first
        try:
            slow.commit()
        except ConcurrencyError as exc:
            print("ConcurrencyError:", exc)
            named = {key for _, key in exc.stale}
            print("the stale entities named are our two accounts:", named == {a.id, b.id})
        finally:
            slow.close()
        print("after the conflict (only 50.00 moved):", balances(new_unit, a.id, b.id))

        # retry_on_conflict reruns the whole unit. The first attempt below is
        # overtaken by a concurrent transfer on purpose; the second one succeeds.
        attempts = 0

        def transfer_200() -> None:
            nonlocal attempts
            attempts += 1
            with new_unit() as uow:
                source, target = uow.accounts.get_many([a.id, b.id])
                uow.transfers.add(Transfer.between(source, target, Money.of("200.00")))
                if attempts == 1:
                    transfer(new_unit, a.id, b.id, Money.of("25.00"))

        retry_on_conflict(transfer_200)
        print("retry_on_conflict attempts:", attempts)
        print("after the retried transfer:", balances(new_unit, a.id, b.id))

        # Real concurrency: 4 threads, 10 transfers each, back and forth.
        # Conflicts happen at random; every transfer is retried until it applies.
        runs: list[int] = []  # one entry per attempt (list.append is thread-safe)

        def worker(forward: bool) -> None:
            src, dst = (a.id, b.id) if forward else (b.id, a.id)

            def attempt() -> None:
                runs.append(1)
                transfer(new_unit, src, dst, Money.of("1.00"))

            for _ in range(10):
                retry_on_conflict(attempt, attempts=50)

        threads = [threading.Thread(target=worker, args=(i % 2 == 0,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with new_unit() as uow:
            total = sum((acc.balance for acc in uow.accounts.get_many([a.id, b.id])), Money.of("0"))
            print("transfers recorded:", uow.transfers.count())
        print("after 40 concurrent transfers:", balances(new_unit, a.id, b.id))
        print("conflicts retried by the threads:", len(runs) - 40)
        print("money conserved:", total == Money.of("1000.00"))


if __name__ == "__main__":
    main()
