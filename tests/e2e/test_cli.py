"""The command line, run as a user runs it: ``python -m app ...`` in its own process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from infrastructure.bank import BankUnitOfWork, bank_registry
from infrastructure.server import Database

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FALKORDB_")}
    environment.update(env, COLUMNS="120")
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def graph(database: Database) -> Iterator[str]:
    name = f"e2e_cli_{uuid.uuid4().hex[:8]}"
    yield name
    database.graph(name).delete()


def test_help_lists_every_command() -> None:
    from app.cli import cli

    done = run("--help")
    assert done.returncode == 0, done.stderr
    commands = [c.name or c.callback.__name__ for c in cli.registered_commands if c.callback]
    assert {"serve", "demo", "seed", "schema", "relay", "plan", "stop", "check"} <= set(commands)
    for command in commands:
        assert f"│ {command} " in done.stdout, command
    serve = run("serve", "--help")
    assert "127.0.0.1" in serve.stdout
    assert "8000" in serve.stdout


def test_seed_adds_people_with_accounts_and_friends(database: Database, graph: str) -> None:
    done = run(
        "seed", "--people", "5", "--friends", "2", FALKORDB_URL=database.url, FALKORDB_GRAPH=graph
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Added 5 people with one funded account each" in done.stdout
    with BankUnitOfWork(database.graph(graph), bank_registry()) as uow:
        people = uow.people.list()
        accounts = uow.accounts.list()
        # Each FRIEND edge is seen from both of its people.
        friendships = sum(len(p.friendships) for p in uow.people.list(load=["friendships"])) // 2
    assert len(people) == 5
    assert sorted(a.owner_id for a in accounts) == sorted(p.id for p in people)
    assert all(a.balance.amount > 0 for a in accounts)
    # The first person has nobody to befriend, the second one person, the rest two each.
    assert friendships == 1 + 2 + 2 + 2
    assert f"{friendships} friendships" in done.stdout


def test_seed_refuses_a_count_below_one() -> None:
    done = run("seed", "--people", "0")
    assert done.returncode == 2
    assert "--people" in done.stderr


def test_schema_creates_and_shows_the_constraints(database: Database, graph: str) -> None:
    env = {"FALKORDB_URL": database.url, "FALKORDB_GRAPH": graph}
    first = run("schema", **env)
    assert first.returncode == 0, first.stdout + first.stderr
    lines = first.stdout.splitlines()
    for label in ("Person", "Account", "Transfer"):
        assert any(label in line and "UNIQUE" in line and "created" in line for line in lines)
    assert any("FRIEND" in line and "since" in line and "RANGE" in line for line in lines)
    assert graph in first.stdout.splitlines()[-1]
    second = run("schema", **env)
    assert second.returncode == 0
    assert "created" not in second.stdout
    assert second.stdout.count("present") == first.stdout.count("created")


def test_check_lists_stored_values_that_do_not_load(database: Database, graph: str) -> None:
    env = {"FALKORDB_URL": database.url, "FALKORDB_GRAPH": graph}
    database.graph(graph).query("CREATE (:Person {id: 'not-a-uuid', name: 'X', email: 'x@y'})")
    found = run("check", **env)
    assert found.returncode == 1, found.stdout + found.stderr
    assert "Person" in found.stdout
    assert "'not-a-uuid'" in found.stdout
    database.graph(graph).query("MATCH (n:Person) DELETE n")
    clean = run("check", **env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "loads" in clean.stdout


def test_serve_on_a_busy_port_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run("serve", FALKORDB_DATA_DIR=str(tmp_path / "data"), APP_PORT=str(port))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"cannot listen on 127.0.0.1:{port}: Address already in use; choose another port "
        "with --port, APP_PORT or make run PORT=..."
    ]
    assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "data").exists()  # refused before starting anything


def test_bench_help_works() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "--profile" in done.stdout


def test_plan_prints_the_demo_units_commit_and_writes_nothing(
    database: Database, graph: str
) -> None:
    done = run("plan", FALKORDB_URL=database.url, FALKORDB_GRAPH=graph)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "create  Person: 1" in done.stdout
    assert "create  Account: 1" in done.stdout
    assert "create  OutboxRecord: 3" in done.stdout
    assert "CALL { UNWIND $create_Account AS row CREATE (n:Account {" in done.stdout
    assert "plan.demo@example.com" not in done.stdout  # values are not shown
    assert "nothing was written" in done.stdout
    rows = database.graph(graph).ro_query("MATCH (n) RETURN count(n)").result_set
    assert rows == [[0]]
