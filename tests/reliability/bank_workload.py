"""The bank workload the fault suites run, its client-side ledger and the audit.

A transfer is one unit of work: read both accounts (versioned), move money
with ``Transfer.between``, add the ``Transfer`` under an id chosen before the
first attempt. That id is the idempotency key ``run_idempotent`` looks up
after a commit whose outcome was unknown.

The audit reads everything back and checks it against the stored transfers:
an account's balance must be its opening balance plus the credits minus the
debits of the stored transfers touching it, and its version one (the
creation) plus the number of those transfers: a transfer stored without both
account writes, or an account write without its transfer, breaks one of them.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from uuid import UUID, uuid4

from domain.model import Account, Money, Transfer
from infrastructure.bank import BankUnitOfWork

OPENING = Decimal("1000000")

UnitFactory = Callable[[], BankUnitOfWork]


def open_accounts(new_unit: UnitFactory, count: int) -> list[UUID]:
    """``count`` accounts holding ``OPENING`` each, written in one unit."""
    ids = []
    with new_unit() as uow:
        for _ in range(count):
            account = Account.open(uuid4())
            account.deposit(Money(OPENING))
            uow.accounts.add(account)
            ids.append(account.id)
    return ids


@dataclass(frozen=True)
class Intent:
    """One transfer as the client meant it."""

    id: UUID
    source: UUID
    target: UUID
    amount: Decimal


def random_intent(rng: random.Random, accounts: list[UUID]) -> Intent:
    source, target = rng.sample(accounts, 2)
    return Intent(uuid4(), source, target, Decimal(rng.randint(1, 9999)) / 100)


def transfer_work(new_unit: UnitFactory, intent: Intent) -> Callable[[], UUID]:
    """The whole unit for ``intent``: fresh reads, the domain move, one commit."""

    def work() -> UUID:
        with new_unit() as uow:
            source, target = uow.accounts.get_many([intent.source, intent.target])
            moved = Transfer.between(source, target, Money(intent.amount))
            uow.transfers.add(replace(moved, id=intent.id))
        return intent.id

    return work


def transfer_stored(new_unit: UnitFactory, intent: Intent) -> Callable[[], bool]:
    """Whether the transfer of ``intent`` is stored (asked after an in-doubt commit)."""

    def stored() -> bool:
        with new_unit() as uow:
            return uow.transfers.exists(intent.id)

    return stored


def recording(work: Callable[[], UUID], seen: Counter[str]) -> Callable[[], UUID]:
    """``work`` that counts, by class name, every error an attempt raised."""

    def attempt() -> UUID:
        try:
            return work()
        except Exception as exc:
            seen[type(exc).__name__] += 1
            raise

    return attempt


@dataclass
class Ledger:
    """What the client knows: acknowledged commits, and those of unknown outcome."""

    acknowledged: dict[UUID, Intent] = field(default_factory=dict)
    in_doubt: dict[UUID, Intent] = field(default_factory=dict)
    not_written: dict[UUID, Intent] = field(default_factory=dict)
    applied_earlier: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    def intents(self) -> dict[UUID, Intent]:
        return {**self.not_written, **self.in_doubt, **self.acknowledged}


@dataclass
class Audit:
    """What is stored, checked against itself and against the ledger."""

    accounts: int
    transfers: dict[UUID, Transfer]
    total: Decimal
    expected_total: Decimal
    lowest: Decimal
    wrong_version: list[UUID]
    wrong_balance: list[UUID]

    def found(self, ids: Iterable[UUID]) -> int:
        return sum(1 for i in ids if i in self.transfers)

    def mismatched(self, intents: dict[UUID, Intent]) -> list[UUID]:
        """Stored transfers that the client never meant, or meant differently."""
        bad = []
        for tid, t in self.transfers.items():
            meant = intents.get(tid)
            if meant is None or (t.source_id, t.target_id, t.amount.amount) != (
                meant.source,
                meant.target,
                meant.amount,
            ):
                bad.append(tid)
        return bad


def audit(new_unit: UnitFactory, account_ids: list[UUID]) -> Audit:
    """Read every account and transfer back and check the invariants."""
    with new_unit() as uow:
        accounts = uow.accounts.get_many(account_ids)
        transfers = {t.id: t for t in uow.transfers.list()}
    touched: Counter[UUID] = Counter()
    net: dict[UUID, Decimal] = {a: Decimal(0) for a in account_ids}
    for t in transfers.values():
        net[t.source_id] -= t.amount.amount
        net[t.target_id] += t.amount.amount
        touched[t.source_id] += 1
        touched[t.target_id] += 1
    return Audit(
        accounts=len(accounts),
        transfers=transfers,
        total=sum((a.balance.amount for a in accounts), Decimal(0)),
        expected_total=OPENING * len(account_ids),
        lowest=min((a.balance.amount for a in accounts), default=Decimal(0)),
        wrong_version=[a.id for a in accounts if a.version != 1 + touched[a.id]],
        wrong_balance=[a.id for a in accounts if a.balance.amount != OPENING + net[a.id]],
    )
