"""Seeing what a unit does: the query log, the commit preview, lifecycle events, audit fields.

``falkor_uow.query`` logs every read and commit (values redacted unless asked
for); ``uow.plan()`` shows the one query a commit would send, without sending
it; handlers run around each commit and see a small public view of the unit;
``AuditHook`` stamps ``created_at``/``updated_at``/``updated_by`` in the same
atomic query.
"""

from __future__ import annotations

import logging
import sys

from _support import example_database, example_graph

from domain.model import Account, Money, Person
from infrastructure.bank import BankUnitOfWork, bank_registry
from infrastructure.persistence import (
    QUERY_LOGGER,
    AuditHook,
    Events,
    acting_as,
    configure_query_log,
    ensure_key_constraints,
)


def main() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("log: %(message)s"))
    logging.getLogger(QUERY_LOGGER).addHandler(handler)

    events = Events()
    events.listen(
        "before_update",
        lambda unit, write: print(f"before_update {write.name}: changed {sorted(write.changed)}"),
    )
    events.listen(
        "after_commit",
        lambda unit, written: print(
            f"after_commit: {len(written.new)} new, {len(written.changed)} changed"
        ),
    )
    with example_database() as db, example_graph(db, "observe") as graph:
        registry = bank_registry()
        ensure_key_constraints(graph, registry)

        def new_unit() -> BankUnitOfWork:
            return BankUnitOfWork(graph, registry, hooks=[AuditHook(), events])

        ada = Person.register("Ada", "ada@example.com", 36)
        account = Account.open(ada.id)
        with acting_as("teller-1"), new_unit() as uow:
            uow.people.add(ada)
            uow.accounts.add(account)
            preview = uow.plan()
            assert preview is not None
            print("the preview sends nothing; it would create:", sorted(preview.counts))
        print("created_at set:", account.created_at is not None, "| by:", account.updated_by)

        configure_query_log(echo=True)  # DEBUG on falkor_uow.query, values redacted
        with acting_as("teller-2"), new_unit() as uow:
            stored = uow.accounts.get(account.id)
            stored.deposit(Money.of("25.00"))
        configure_query_log(echo=False)

        with new_unit() as uow:
            again = uow.accounts.get(account.id)
        print(f"balance {again.balance}, updated by {again.updated_by}")
        assert again.created_at is not None
        assert again.updated_at is not None
        print("updated_at moved past created_at:", again.updated_at > again.created_at)


if __name__ == "__main__":
    main()
