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

import ast
import inspect
import textwrap
from typing import Any

import pytest

from infrastructure import bank
from infrastructure.persistence import aio, conversation, unit_of_work
from infrastructure.persistence.aio import AsyncRepository, AsyncUnitOfWork
from infrastructure.persistence.repository import Repository
from infrastructure.persistence.unit_of_work import UnitOfWork

# Names in async code and the sync names they stand for.
ASYNC_TO_SYNC = {
    "AsyncRepository": "Repository",
    "AsyncUnitOfWork": "UnitOfWork",
    "AsyncGraph": "SyncGraph",
    "AsyncPersonRepository": "PersonRepository",
    "AsyncAccountRepository": "AccountRepository",
    "AsyncBankUnitOfWork": "BankUnitOfWork",
    "AsyncReader": "Reader",
    "drive_async": "drive",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
}
SYNC_TO_ASYNC = {sync: asyn for asyn, sync in ASYNC_TO_SYNC.items()}

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


class _Unasync(ast.NodeTransformer):
    """Rewrites async code as the sync code it must equal."""

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> Any:
        self.generic_visit(node)
        fields = {name: getattr(node, name) for name in node._fields}
        fields["name"] = ASYNC_TO_SYNC.get(node.name, node.name)
        return ast.copy_location(ast.FunctionDef(**fields), node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        self.generic_visit(node)
        node.name = ASYNC_TO_SYNC.get(node.name, node.name)
        return node

    def visit_Await(self, node: ast.Await) -> Any:
        return self.visit(node.value)

    def visit_Name(self, node: ast.Name) -> Any:
        node.id = ASYNC_TO_SYNC.get(node.id, node.id)
        return node

    def visit_Constant(self, node: ast.Constant) -> Any:
        # Type annotations are strings here (``from __future__ import annotations``).
        if isinstance(node.value, str) and node.value in ASYNC_TO_SYNC:
            node.value = ASYNC_TO_SYNC[node.value]
        return node

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        self.generic_visit(node)
        if isinstance(node.value, ast.Name) and node.value.id == "Awaitable":
            return node.slice  # Awaitable[X] in async code is X in sync code
        return node


def _without_docstring(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return tree


def _code(function: Any, *, unasync: bool) -> str:
    tree = _without_docstring(ast.parse(textwrap.dedent(inspect.getsource(function))))
    if unasync:
        tree = ast.fix_missing_locations(_Unasync().visit(tree))
    return ast.unparse(tree)


def _annotation(text: Any, *, unasync: bool) -> str:
    if text is inspect.Parameter.empty:
        return ""
    source = text if isinstance(text, str) else inspect.formatannotation(text)
    tree = ast.parse(source, mode="eval")
    if unasync:
        tree = _Unasync().visit(tree)
    return ast.unparse(tree)


def _members(cls: type) -> dict[str, Any]:
    """Public members, plus the context-manager methods, by their sync name."""
    names = {n for n in dir(cls) if not n.startswith("_")}
    names |= {n for n in ("__enter__", "__exit__", "__aenter__", "__aexit__") if hasattr(cls, n)}
    return {ASYNC_TO_SYNC.get(n, n): inspect.getattr_static(cls, n) for n in names}


def _function(member: Any) -> Any:
    return member.fget if isinstance(member, property) else member


def _signature(function: Any, *, unasync: bool) -> list[tuple[str, str, str, str]]:
    signature = inspect.signature(function)
    rows = [
        (p.name, str(p.kind), repr(p.default), _annotation(p.annotation, unasync=unasync))
        for p in signature.parameters.values()
    ]
    rows.append(("return", "", "", _annotation(signature.return_annotation, unasync=unasync)))
    return rows


def _calls(function: Any) -> set[str]:
    """Names the function calls; ``<graph>`` for a call on ``self.graph``."""
    called: set[str] = set()
    for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(function)))):
        if isinstance(node, ast.Call):
            target = node.func
            if isinstance(target, ast.Name):
                called.add(target.id)
            elif isinstance(target, ast.Attribute):
                called.add(target.attr)
                if isinstance(target.value, ast.Attribute) and target.value.attr == "graph":
                    called.add("<graph>")
    return called


def io_members(*sync_classes: type) -> set[str]:
    """Public members of the sync classes that talk to the server.

    A member does I/O when it calls the graph, runs a read conversation
    (``drive``), or calls another member that does I/O.
    """
    calls: dict[str, set[str]] = {}
    for cls in sync_classes:
        for name, member in _members(cls).items():
            calls.setdefault(name, set()).update(_calls(_function(member)))
    io: set[str] = set()
    while True:
        found = {n for n, called in calls.items() if called & (io | {"drive", "<graph>"})}
        if found <= io:
            return io
        io |= found


AWAITED = (
    io_members(UnitOfWork, Repository, bank.PersonRepository, bank.AccountRepository)
    | AWAITED_WITHOUT_IO
)


def drift(sync_cls: type, async_cls: type, awaited: set[str]) -> list[str]:
    """Every way ``async_cls`` differs from ``sync_cls`` beyond ``await``."""
    problems: list[str] = []
    sync_members, async_members = _members(sync_cls), _members(async_cls)
    for name in sorted(sync_members.keys() ^ async_members.keys()):
        side = sync_cls if name in sync_members else async_cls
        problems.append(f"{name}: only on {side.__name__}")
    for name in sorted(sync_members.keys() & async_members.keys()):
        sync_member, async_member = sync_members[name], async_members[name]
        if isinstance(sync_member, property) != isinstance(async_member, property):
            problems.append(f"{name}: a property on one side only")
            continue
        sync_fn, async_fn = _function(sync_member), _function(async_member)
        if inspect.iscoroutinefunction(sync_fn):
            problems.append(f"{name}: {sync_cls.__name__}.{name} is a coroutine")
        if inspect.iscoroutinefunction(async_fn) != (name in awaited):
            expected = "a coroutine" if name in awaited else "a plain call"
            problems.append(f"{name}: {async_cls.__name__}.{name} should be {expected}")
        if sync_fn is async_fn:
            continue  # one shared implementation
        if name not in awaited and name != "repository":
            problems.append(f"{name}: does no I/O but is implemented twice (move it to the base)")
        if _signature(sync_fn, unasync=False) != _signature(async_fn, unasync=True):
            problems.append(f"{name}: signatures differ")
        if inspect.getdoc(sync_fn) != inspect.getdoc(async_fn):
            problems.append(f"{name}: docstrings differ")
        if _code(sync_fn, unasync=False) != _code(async_fn, unasync=True):
            problems.append(f"{name}: code differs beyond async/await")
    return problems


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
    assert seed <= _members(UnitOfWork).keys()
    assert seed <= _members(AsyncUnitOfWork).keys()


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
    assert _signature(sync_fn, unasync=False) == _signature(async_fn, unasync=True)
    assert _code(sync_fn, unasync=False) == _code(async_fn, unasync=True)


# -- the checker itself must notice drift --------------------------------------


class _SyncThing:
    def fetch(self, key: int, *, fresh: bool = False) -> int:
        """Fetch."""
        return self._read(key) + 1

    def name(self) -> str:
        return "thing"

    def _read(self, key: int) -> int:
        return key


class _AsyncRenamedParameter:
    async def fetch(self, ident: int, *, fresh: bool = False) -> int:
        """Fetch."""
        return await self._read(ident) + 1

    def name(self) -> str:
        return "thing"

    async def _read(self, key: int) -> int:
        return key


class _AsyncDifferentDecision:
    async def fetch(self, key: int, *, fresh: bool = False) -> int:
        """Fetch."""
        return await self._read(key) + 2

    def name(self) -> str:
        return "thing"

    async def _read(self, key: int) -> int:
        return key


class _AsyncNotAwaited:
    def fetch(self, key: int, *, fresh: bool = False) -> int:
        """Fetch."""
        return self._read(key) + 1

    def name(self) -> str:
        return "thing"

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
