"""SIGKILL the server at random moments under a loop of transfer units.

Every acknowledged commit must survive, no commit may be half-applied, money
is conserved exactly, and a commit whose outcome was unknown is either all
there or all absent. Most transfers run through ``run_idempotent`` (rerun
from fresh reads, never resent, an in-doubt first attempt that landed is
detected); some run once with no retry, leaving in-doubt commits for the
audit to classify.
"""

from __future__ import annotations

import random
import threading
import time

from infrastructure.bank import BankUnitOfWork, bank_registry
from infrastructure.persistence import (
    CommitOutcomeUnknownError,
    DatabaseUnavailableError,
    ensure_key_constraints,
    run_idempotent,
)
from infrastructure.server import Database, EmbeddedFalkorDB

from .bank_workload import (
    Ledger,
    audit,
    open_accounts,
    random_intent,
    recording,
    transfer_stored,
    transfer_work,
)
from .profile import Figures, Profile

# The only errors a unit may see while the server dies and comes back.
CLEAR_ERRORS = {"CommitOutcomeUnknownError", "DatabaseUnavailableError"}


class Killer(threading.Thread):
    """Kills the server at random moments and starts it again on the same data."""

    def __init__(self, server: EmbeddedFalkorDB, every_s: tuple[float, float], seed: int) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.every_s = every_s
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.kills = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.wait(self.rng.uniform(*self.every_s)):
                self.server.kill()
                self.kills += 1
                time.sleep(self.rng.uniform(0, 0.03))
                self.server.restart()
        except BaseException as exc:  # reported by the test
            self.error = exc


def test_acknowledged_commits_survive_sigkill_and_none_is_half_applied(
    crashable_server: EmbeddedFalkorDB, profile: Profile, figures: Figures
) -> None:
    registry = bank_registry()
    with Database(crashable_server.url) as db:
        graph = db.graph("crash")
        ensure_key_constraints(graph, registry)

        def new_unit() -> BankUnitOfWork:
            return BankUnitOfWork(graph, registry)

        accounts = open_accounts(new_unit, 6)
        rng = random.Random(7)
        ledger = Ledger()
        killer = Killer(crashable_server, profile.kill_every_s, seed=11)
        killer.start()
        deadline = time.monotonic() + profile.crash_seconds
        try:
            while time.monotonic() < deadline:
                intent = random_intent(rng, accounts)
                work = recording(transfer_work(new_unit, intent), ledger.errors)
                if rng.random() < 0.25:
                    # One attempt, no retry: its outcome stays as the client saw it.
                    try:
                        work()
                    except CommitOutcomeUnknownError:
                        ledger.in_doubt[intent.id] = intent
                    except DatabaseUnavailableError:
                        ledger.not_written[intent.id] = intent
                    else:
                        ledger.acknowledged[intent.id] = intent
                    continue
                run = run_idempotent(
                    work, transfer_stored(new_unit, intent), attempts=100, unavailable_delay_s=0.005
                )
                if run.applied_earlier:
                    ledger.applied_earlier += 1
                    ledger.in_doubt[intent.id] = intent
                else:
                    ledger.acknowledged[intent.id] = intent
        finally:
            killer.stop.set()
            killer.join()

        crashable_server.kill()
        crashable_server.restart()
        result = audit(new_unit, accounts)

    intents = ledger.intents()
    in_doubt_found = result.found(ledger.in_doubt)
    figures.add(
        "crash",
        faults_injected=killer.kills,
        commits_acknowledged=len(ledger.acknowledged),
        commits_found=result.found(ledger.acknowledged),
        in_doubt=len(ledger.in_doubt),
        in_doubt_found=in_doubt_found,
        in_doubt_absent=len(ledger.in_doubt) - in_doubt_found,
        in_doubt_detected_on_rerun=ledger.applied_earlier,
        refused_not_written=len(ledger.not_written),
        half_applied=len(result.wrong_version),
        lost_updates=len(result.wrong_balance),
        unclear_errors=sum(n for e, n in ledger.errors.items() if e not in CLEAR_ERRORS),
    )
    assert killer.error is None
    assert killer.kills > 0
    assert set(ledger.errors) <= CLEAR_ERRORS, ledger.errors
    assert result.found(ledger.acknowledged) == len(ledger.acknowledged)
    assert result.found(ledger.not_written) == 0
    assert result.mismatched(intents) == []
    assert result.wrong_version == []
    assert result.wrong_balance == []
    assert result.total == result.expected_total
    assert result.accounts == len(accounts)
    assert ledger.errors["DatabaseUnavailableError"] > 0
