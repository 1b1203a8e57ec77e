"""The examples, run as a user runs them: each in its own process, on a real FalkorDB.

Every ``examples/NN_*.py`` is collected automatically. Passing means the
script exited 0 AND printed the lines that show its behaviour happened (a
plain string must equal a whole output line; a compiled pattern must match
one whole line).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from infrastructure.server import Database

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((ROOT / "examples").glob("[0-9][0-9]_*.py"))
UUID = r"UUID\('[0-9a-f-]{36}'\)"

EXPECTED: dict[str, list[str | re.Pattern[str]]] = {
    "01_basic_usage": [
        "inside the unit, pending changes: True",
        "loaded: Domain-Driven Design by Eric Evans (2003)",
        "book count: 2",
        "by Eric Evans: ['Domain-Driven Design']",
        "unknown key: no Book with key '000-0000000000'",
        "get_or_none of an unknown key: None",
        "year after the edit: 2004",
    ],
    "02_identity_map": [
        "get / find_by, same object: True",
        "get / get_many, same object: True",
        "get / uow.get, same object: True",
        "get / list, same object: True",
        "repository(Person) is uow.people: True",
        "age seen through find_by after a local edit: 37",
        re.compile(rf"IdentityConflictError: Person\[{UUID}\] is already tracked .*"),
        "different units, same object: False",
        "different units, equal values: True (age 37)",
    ],
    "03_change_tracking": [
        "after loading, pending changes: False",
        "after carol.age = 30, pending changes: True",
        "after setting it back to 29, pending changes: False",
        "after acc.deposit(250.00), pending changes: True",
        "balance stored: 250.00 EUR",
        "stored after commit: age=30 email=carol@new.example.com",
        "a read-only unit has pending changes: False",
        "version before and after the read-only unit: 2, 2",
    ],
    "04_rollback_on_error": [
        "checking balance after the failed unit: 100.00 EUR",
        re.compile(rf"DuplicateKeyError: Person\[{UUID}\] already exists; nothing was written .*"),
        "Dave's age after the refused commit: 52",
        "people named Frank stored: 0",
        "before rollback: Erin Smith 48 | pending: True",
        "after rollback: Erin 47 | pending: False",
        "Gina exists after rollback: False",
        "Erin stored: Erin | people stored: 2",
    ],
    "05_manual_flush": [
        "after flush, the unit is still active: True",
        "after flush, pending changes: False",
        "another unit already sees Hugo: True",
        "version after flushing an edit: 2",
        re.compile(r"rollback raised FlushedWorkError: .*already stored.*"),
        "Hugo's age in this unit after the rollback: 34",
        "Hugo's age stored: 34",
        re.compile(r"  note: work flushed in this unit before the error is already stored.*"),
        "stored: email=hugo@flushed.example.com age=34",
    ],
    "06_money_transfer": [
        "after one transfer: 900.00 EUR, 100.00 EUR",
        re.compile(rf"ConcurrencyError: concurrent modification: Account\[{UUID}\], Account\[.*"),
        "the stale entities named are our two accounts: True",
        "after the conflict (only 50.00 moved): 850.00 EUR, 150.00 EUR",
        "retry_on_conflict attempts: 2",
        "after the retried transfer: 625.00 EUR, 375.00 EUR",
        "transfers recorded: 44",
        "after 40 concurrent transfers: 625.00 EUR, 375.00 EUR",
        "money conserved: True",
    ],
    "07_batch_operations": [
        re.compile(r"added 1000 people in one unit: 1 write and 0 read queries \(\d+ ms\)"),
        "get_many of 3 keys: ['Person 0999', 'Person 0000', 'Person 0500'] | 0 write and 1 read queries",
        "count(): 1000 | count(age=20): 20 | 0 write and 2 read queries",
        "find_by(age=20) found: 20 | 0 write and 1 read queries",
        "3 oldest: [('Person 0049', 69), ('Person 0099', 69), ('Person 0149', 69)]",
        "pages of 200 by name: 5",
        "age 42, names 3 and 4: ['Person 0122', 'Person 0172']",
        "deleted 500 people in one unit: 1 write and 0 read queries",
        "people left: 500",
    ],
    "08_session_properties": [
        "new session, active: True | pending: False",
        "after commit, active: True | pending: False",
        "after close, active: False",
        "closed session, get: UnitClosedError",
        "closed session, add: UnitClosedError",
        "closed session, commit: UnitClosedError",
        "closed session, has_pending_changes: UnitClosedError",
        "inside with, active: True | Jane's age: 29",
        "after the with block, active: False",
        "a repository of a closed unit raises UnitClosedError too",
    ],
    "09_semantic_search": [
        "indexes created: FULLTEXT, UNIQUE, VECTOR",
        "nearest 'nodes and edges': Graph theory, Graph databases, Graph queries",
        "distances ascending: True",
        "a found note is the unit's object: True",
        "nearest German note: Brot backen",
        "search 'GRAPH': Graph databases, Graph queries, Graph theory",
        "hostile text: Graph databases",
        "prefix 'sour': Sourdough bread",
        "hybrid 'bread' + 'flour water': Sourdough bread, Brot backen",
        "about 'nodes and edges', near Ada: Graph databases by Ada, Graph queries by Bob",
        "has pending changes after searching: False",
    ],
    "10_custom_query": [
        "sync, adults in Lyon: ['ada', 'cyd']",
        "sync, members per city: {'Lyon': 3, 'Oslo': 1}",
        "sync, a found member is the unit's object: True",
        "async, adults in Lyon: ['ada', 'cyd']",
        "async, members per city: {'Lyon': 3, 'Oslo': 1}",
        "async, a found member is the unit's object: True",
    ],
    "21_async_unit": [
        "committed on exit, Hana's version: 1",
        "loaded: Hana, 34 | same object twice: True",
        "after await uow.commit(), pending changes: False",
        "unit active after the block: False",
        "stored balance: 75.00 EUR (version 2)",
    ],
    "22_async_concurrent_loads": [
        "gather, one unit each: ['Ines', 'Jonas', 'Kemal', 'Lea', 'Mateo']",
        "same key, two units: same object False, equal True",
        "get_many, reversed keys: ['Mateo', 'Lea', 'Kemal', 'Jonas', 'Ines']",
        "get after get_many, same object: True",
        "200 concurrent units on a pool of 64 connections: all loaded",
    ],
    "09_observe_a_unit": [
        "the preview sends nothing; it would create: [('Account', 'create'), ('Person', 'create')]",
        "after_commit: 2 new, 0 changed",
        "created_at set: True | by: teller-1",
        re.compile(
            r"log: read on example_observe_\w+: [\d.]+ ms \(server [\d.]+ ms\), 1 rows; "
            r"params \{key:text\}"
        ),
        "before_update Account: changed ['balance_amount']",
        re.compile(
            r"log: commit on example_observe_\w+: .* "
            r"params \{update_Account:rows\[1\], expected:rows\[1\]\}"
        ),
        "after_commit: 0 new, 1 changed",
        "balance 25.00 EUR, updated by teller-2",
        "updated_at moved past created_at: True",
    ],
    "23_async_commit_rollback": [
        "balances after the failed unit: 100.00 EUR | 0 EUR",
        "after the refused commit: 101.00 EUR | 0 EUR",
        "retried: 2 attempts, balances: 92.00 EUR | 10.00 EUR",
        "after rollback: 10.00 EUR | pending: False",
        "balances at the end: 92.00 EUR | 10.00 EUR",
    ],
}


def run_example(script: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FALKORDB_URL": url}
    return subprocess.run(
        [sys.executable, str(script)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def missing_lines(output: str, expected: list[str | re.Pattern[str]]) -> list[str]:
    lines = output.splitlines()
    missing = []
    for want in expected:
        if isinstance(want, re.Pattern):
            if not any(want.fullmatch(line) for line in lines):
                missing.append(f"/{want.pattern}/")
        elif want not in lines:
            missing.append(want)
    return missing


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.stem)
def test_example_runs_and_shows_its_behaviour(script: Path, database: Database) -> None:
    result = run_example(script, database.url)
    assert result.returncode == 0, f"{script.name} failed:\n{result.stdout}\n{result.stderr}"
    assert result.stdout.strip(), f"{script.name} printed nothing"
    missing = missing_lines(result.stdout, EXPECTED.get(script.stem, []))
    assert not missing, f"{script.name} did not print {missing}; it printed:\n{result.stdout}"


def test_every_seed_example_is_present() -> None:
    assert set(EXPECTED) <= {s.stem for s in SCRIPTS}


def test_demo_runs_every_example_on_its_own_embedded_server() -> None:
    env = {k: v for k, v in os.environ.items() if k != "FALKORDB_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "examples"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    lines = result.stdout.splitlines()
    for script in SCRIPTS:
        assert any(line.startswith(f"=== {script.stem} ") for line in lines), script.stem
        assert any(line.startswith(f"--- {script.stem}: ok ") for line in lines), script.stem
    assert re.fullmatch(
        rf"{len(SCRIPTS)} of {len(SCRIPTS)} examples passed in [\d.]+ s", lines[-1]
    ), lines[-1]


def test_demo_exits_non_zero_and_names_a_failing_example(
    database: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from examples import __main__ as demo

    good = tmp_path / "01_prints.py"
    good.write_text("print('fine')\n")
    bad = tmp_path / "02_raises.py"
    bad.write_text("raise SystemExit('this example broke')\n")
    monkeypatch.setattr(demo, "discover", lambda: [good, bad])
    monkeypatch.setenv("FALKORDB_URL", database.url)

    assert demo.main() == 1
    out = capfd.readouterr().out.splitlines()
    assert any(line.startswith("--- 01_prints: ok ") for line in out)
    assert any(line.startswith("--- 02_raises: FAILED ") for line in out)
    assert re.fullmatch(r"1 of 2 examples passed in [\d.]+ s; failed: 02_raises", out[-1]), out[-1]
