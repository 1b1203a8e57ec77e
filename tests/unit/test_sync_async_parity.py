"""The async unit of work and repository stay the sync ones with ``await`` added.

Every public member of ``AsyncUnitOfWork``/``AsyncRepository`` must exist on
``UnitOfWork``/``Repository`` with the same parameters, the same docstring,
and the same code once ``async``/``await`` are removed and the async names
are mapped to their sync twins. Members that do no I/O must be one shared
implementation (inherited from the I/O-free base), and exactly the members
that talk to the server (plus ``rollback``/``close``, which end the unit
and are awaited like the calls that may send) are coroutines.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any

import pytest

import app
import infrastructure
from app.container import ConflictRetry
from app.services import AsyncBankService, BankService, RunOnce
from infrastructure import bank
from infrastructure.bank.fakes import FakeAsyncBankUnitOfWork, FakeBankUnitOfWork
from infrastructure.fakes import FakeAsyncUnitOfWork, FakeUnitOfWork
from infrastructure.messaging import outbox, relay
from infrastructure.persistence import aio, conversation, retry, unit_of_work
from infrastructure.persistence.aio import AsyncRepository, AsyncUnitOfWork
from infrastructure.persistence.repository import Repository
from infrastructure.persistence.unit_of_work import UnitOfWork
from tests.twins import Twin, async_twins, code, drift, io_members, members, signature

# Awaited although they do no I/O: the async context protocol, and the calls
# that end an async unit (rollback and close).
AWAITED_WITHOUT_IO = {"__enter__", "rollback", "close"}
# What the documented async API awaits; the derived set must keep covering it.
SEED_AWAITED = {
    "get",
    "get_many",
    "find_by",
    "list",
    "count",
    "exists",
    "flush",
    "commit",
    "rollback",
    "close",
}
PAIRS = [(UnitOfWork, AsyncUnitOfWork), (Repository, AsyncRepository)]
# The example's repositories: their custom queries, written once as conversations,
# must be offered alike by the sync and the async repository.
EXAMPLE_PAIRS = [
    (bank.BankUnitOfWork, bank.AsyncBankUnitOfWork),
    (bank.PersonRepository, bank.AsyncPersonRepository),
    (bank.AccountRepository, bank.AsyncAccountRepository),
]


AWAITED = (
    io_members(UnitOfWork, Repository, bank.PersonRepository, bank.AccountRepository)
    | AWAITED_WITHOUT_IO
)


@pytest.mark.parametrize(("sync_cls", "async_cls"), PAIRS + EXAMPLE_PAIRS, ids=lambda c: c.__name__)
def test_async_class_is_the_sync_class_with_awaited_io(sync_cls: type, async_cls: type) -> None:
    assert drift(sync_cls, async_cls, AWAITED) == []


def test_what_talks_to_the_server_is_awaited_and_nothing_else() -> None:
    assert SEED_AWAITED <= AWAITED
    # A custom query is I/O as soon as it is run, on either side.
    assert {"run", "friend_suggestions", "shortest_path", "reachable_from"} <= AWAITED
    # Tracking is plain on both sides: no query is sent before the commit.
    assert not {"add", "delete", "remove", "repository", "is_active"} & AWAITED


def test_both_variants_offer_the_seed_session_api() -> None:
    seed = {"add", "delete", "get", "flush", "commit", "rollback", "close", "is_active"}
    seed |= {"has_pending_changes", "repository"}
    assert seed <= members(UnitOfWork).keys()
    assert seed <= members(AsyncUnitOfWork).keys()


@pytest.mark.parametrize(
    ("sync_fn", "async_fn"),
    [
        (conversation.drive, conversation.drive_async),
        (unit_of_work.SyncGraph.query, aio.AsyncGraph.query),
        (unit_of_work.SyncGraph.ro_query, aio.AsyncGraph.ro_query),
    ],
    ids=["drive", "graph.query", "graph.ro_query"],
)
def test_io_helpers_are_twins(sync_fn: Any, async_fn: Any) -> None:
    assert inspect.iscoroutinefunction(async_fn)
    assert signature(sync_fn, unasync=False) == signature(async_fn, unasync=True)
    assert code(sync_fn, unasync=False) == code(async_fn, unasync=True)


# -- every other twin of the project, through the same checker ---------------------

SERVICE_METHODS = frozenset(n for n in vars(BankService) if not n.startswith("_"))
TWINS = [
    Twin(BankService, AsyncBankService, SERVICE_METHODS),
    Twin(RunOnce.run, RunOnce.run_async),
    Twin(ConflictRetry.run, ConflictRetry.run_async),
    Twin(retry.retry_on_conflict, retry.retry_on_conflict_async),
    Twin(retry.run_idempotent, retry.run_idempotent_async),
    Twin(relay.OutboxRelay, relay.AsyncOutboxRelay),
    Twin(relay.OutboxSource, relay.AsyncOutboxSource, frozenset({"pending", "mark_delivered"})),
    Twin(outbox.GraphOutboxSource, outbox.AsyncGraphOutboxSource),
    Twin(FakeUnitOfWork, FakeAsyncUnitOfWork, frozenset(AWAITED | {"read"})),
    Twin(FakeBankUnitOfWork, FakeAsyncBankUnitOfWork, frozenset(AWAITED | {"read"})),
]
# Async code that is not a twin of sync code written like it, and why.
NOT_TWINS = {
    # checked above, with the unit of work and repository they belong to
    "infrastructure.persistence.aio.AsyncGraph",
    "infrastructure.persistence.aio.AsyncRepository",
    "infrastructure.persistence.aio.AsyncUnitOfWork",
    "infrastructure.persistence.aio.AsyncSession",
    "infrastructure.persistence.conversation.drive_async",
    "infrastructure.persistence.steps.run_steps_async",
    # the fakes' graph stand-ins raise before any I/O
    "infrastructure.fakes.unit_of_work._NoAsyncGraph",
    # clients of the server: built on different client libraries (redis.asyncio
    # and falkordb.asyncio), tested against the server by tests/integration
    "infrastructure.server.cypher.AsyncFastGraph",
    "infrastructure.server.clients.AsyncClient",
    "infrastructure.server.clients.AsyncGate",
    "infrastructure.server.connections.async_connection",
    "infrastructure.server.replication.async_write_and_wait",
}


def _is_async_name(name: str) -> bool:
    return "Async" in name or name.endswith("_async") or name.startswith("async_")


@pytest.mark.parametrize("twin", TWINS, ids=lambda t: t.name)
def test_every_twin_is_its_sync_twin_with_awaited_io(twin: Twin) -> None:
    assert twin.problems() == []


def test_every_async_twin_of_the_project_is_checked() -> None:
    modules = [
        importlib.import_module(found.name)
        for package in (app, infrastructure)
        for found in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")
        if not found.name.endswith("__main__")
    ]
    checked = {f"{t.asyn.__module__}.{t.asyn.__qualname__}" for t in TWINS}
    checked |= {f"{a.__module__}.{a.__qualname__}" for _, a in PAIRS + EXAMPLE_PAIRS}
    found = async_twins(modules, _is_async_name)
    assert found - checked - NOT_TWINS == set()
    assert NOT_TWINS - found == set()  # no stale exception


def test_the_relay_and_the_outbox_sources_await_exactly_their_io() -> None:
    assert io_members(relay.OutboxRelay) == {"publish", "run_once", "drain"}
    assert io_members(outbox.GraphOutboxSource) == {
        "pending",
        "mark_delivered",
        "prune_delivered",
    }


# -- the checker itself must notice drift --------------------------------------


class _SyncThing:
    def fetch(self, key: int, *, fresh: bool = False) -> int:
        """Fetch."""
        return self._read(key) + 1

    def name(self) -> str:
        return "thing"

    def _read(self, key: int) -> int:
        return key


class _AsyncThing:
    def name(self) -> str:
        return "thing"

    async def _read(self, key: int) -> int:
        return key


class _AsyncRenamedParameter(_AsyncThing):
    async def fetch(self, ident: int, *, fresh: bool = False) -> int:
        """Fetch."""
        return await self._read(ident) + 1


class _AsyncDifferentDecision(_AsyncThing):
    async def fetch(self, key: int, *, fresh: bool = False) -> int:
        """Fetch."""
        return await self._read(key) + 2


class _AsyncNotAwaited(_AsyncThing):
    def fetch(self, key: int, *, fresh: bool = False) -> int:
        """Fetch."""
        return self._read(key) + 1

    def _read(self, key: int) -> int:
        return key


class _AsyncExtraMethod(_AsyncDifferentDecision):
    async def fetch(self, key: int, *, fresh: bool = False) -> int:
        """Fetch."""
        return await self._read(key) + 1

    async def refresh(self) -> None:
        pass


@pytest.mark.parametrize(
    ("async_cls", "expected"),
    [
        (_AsyncRenamedParameter, ["fetch: signatures differ", "fetch: code differs"]),
        (_AsyncDifferentDecision, ["fetch: code differs"]),
        (_AsyncNotAwaited, ["fetch: _AsyncNotAwaited.fetch should be a coroutine"]),
        (_AsyncExtraMethod, ["refresh: only on _AsyncExtraMethod"]),
    ],
    ids=["renamed-parameter", "changed-decision", "not-awaited", "extra-method"],
)
def test_the_checker_reports_drift(async_cls: type, expected: list[str]) -> None:
    found = drift(_SyncThing, async_cls, {"fetch"})
    for fragment in expected:
        assert any(problem.startswith(fragment) for problem in found), found


def test_the_checker_reports_a_plain_method_implemented_twice() -> None:
    assert "name: does no I/O but is implemented twice (move it to the base)" in drift(
        _SyncThing, _AsyncRenamedParameter, {"fetch"}
    )
