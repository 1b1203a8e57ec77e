"""The one checker of sync/async twins: an async twin is its sync twin with ``await`` added.

The repository has one sync/async strategy: the decisions are written once,
I/O-free (a read conversation driven by ``drive``/``drive_async``, or a body
of yielded I/O calls driven by ``run_steps``/``run_steps_async``, see
``infrastructure.persistence.steps``), and the sync and async classes or
functions around them are shells that differ only where they await. This
module compares a pair of shells by their syntax trees once ``async``/
``await`` are removed and the async names are mapped to their sync ones
(``ASYNC_TO_SYNC``): the same members, signatures, docstrings and code;
members that do no I/O implemented once; exactly the I/O members coroutines.

``tests/unit/test_sync_async_parity.py`` runs it on every pair in ``TWINS``
and fails when a module of the project defines an async twin that is not
listed there.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

# Names in async code and the sync names they stand for (a dotted name maps
# an attribute of a module, ``asyncio.sleep``; a plain one maps names and
# attribute names alike).
ASYNC_TO_SYNC = {
    "AsyncRepository": "Repository",
    "AsyncUnitOfWork": "UnitOfWork",
    "AsyncGraph": "SyncGraph",
    "AsyncPersonRepository": "PersonRepository",
    "AsyncAccountRepository": "AccountRepository",
    "AsyncReader": "Reader",
    "drive_async": "drive",
    "run_steps_async": "run_steps",
    "run_async": "run",
    "retry_on_conflict_async": "retry_on_conflict",
    "run_idempotent_async": "run_idempotent",
    "AsyncBankService": "BankService",
    "AsyncBankUnitOfWork": "BankUnitOfWork",
    "AsyncOutboxRelay": "OutboxRelay",
    "AsyncOutboxSource": "OutboxSource",
    "AsyncGraphOutboxSource": "GraphOutboxSource",
    "FakeAsyncUnitOfWork": "FakeUnitOfWork",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "asyncio.sleep": "time.sleep",
    "aioredis.Redis": "redis.Redis",
}


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


class Unasync(ast.NodeTransformer):
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

    def visit_AsyncWith(self, node: ast.AsyncWith) -> Any:
        self.generic_visit(node)
        fields = {name: getattr(node, name) for name in node._fields}
        return ast.copy_location(ast.With(**fields), node)

    def visit_Await(self, node: ast.Await) -> Any:
        return self.visit(node.value)

    def visit_Name(self, node: ast.Name) -> Any:
        node.id = ASYNC_TO_SYNC.get(node.id, node.id)
        return node

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        dotted = _dotted(node)
        if dotted is not None and "." in dotted and dotted in ASYNC_TO_SYNC:
            return ast.parse(ASYNC_TO_SYNC[dotted], mode="eval").body
        self.generic_visit(node)
        node.attr = ASYNC_TO_SYNC.get(node.attr, node.attr)
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


def _without_decorators(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            node.decorator_list = []  # ``twin_of`` on the async side only
    return tree


def code(function: Any, *, unasync: bool) -> str:
    """The function's code without docstrings or decorators (as sync code when ``unasync``)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    tree = _without_decorators(_without_docstring(tree))
    if unasync:
        tree = ast.fix_missing_locations(Unasync().visit(tree))
    return ast.unparse(tree)


def _annotation(text: Any, *, unasync: bool) -> str:
    if text is inspect.Parameter.empty:
        return ""
    source = text if isinstance(text, str) else inspect.formatannotation(text)
    tree = ast.parse(source, mode="eval")
    if unasync:
        tree = Unasync().visit(tree)
    return ast.unparse(tree)


def members(cls: type) -> dict[str, Any]:
    """Public members, plus the context-manager methods, by their sync name."""
    names = {n for n in dir(cls) if not n.startswith("_")}
    names |= {n for n in ("__enter__", "__exit__", "__aenter__", "__aexit__") if hasattr(cls, n)}
    return {ASYNC_TO_SYNC.get(n, n): inspect.getattr_static(cls, n) for n in names}


def _function(member: Any) -> Any:
    return member.fget if isinstance(member, property) else member


def signature(function: Any, *, unasync: bool) -> list[tuple[str, str, str, str]]:
    """Parameters (name, kind, default, annotation) and the return annotation."""
    found = inspect.signature(function)
    rows = [
        (p.name, str(p.kind), repr(p.default), _annotation(p.annotation, unasync=unasync))
        for p in found.parameters.values()
    ]
    rows.append(("return", "", "", _annotation(found.return_annotation, unasync=unasync)))
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


DRIVERS = {"drive", "run_steps", "<graph>"}
"""Calls that do I/O: a conversation or a body driven, the graph asked."""


def io_members(*sync_classes: type) -> set[str]:
    """Public members of the sync classes that talk to the server.

    A member does I/O when it calls the graph, drives a conversation or a
    body (``drive``, ``run_steps``), or calls another member that does I/O.
    """
    calls: dict[str, set[str]] = {}
    for cls in sync_classes:
        for name, member in members(cls).items():
            if callable(_function(member)):
                calls.setdefault(name, set()).update(_calls(_function(member)))
    io: set[str] = set()
    while True:
        found = {n for n, called in calls.items() if called & (io | DRIVERS)}
        if found <= io:
            return io
        io |= found


def function_drift(sync_fn: Any, async_fn: Any, *, name: str = "") -> list[str]:
    """Every way the async function differs from the sync one beyond ``await``."""
    problems: list[str] = []
    prefix = f"{name}: " if name else ""
    if signature(sync_fn, unasync=False) != signature(async_fn, unasync=True):
        problems.append(f"{prefix}signatures differ")
    if inspect.getdoc(sync_fn) != inspect.getdoc(async_fn):
        problems.append(f"{prefix}docstrings differ")
    if code(sync_fn, unasync=False) != code(async_fn, unasync=True):
        problems.append(f"{prefix}code differs beyond async/await")
    return problems


def drift(sync_cls: type, async_cls: type, awaited: set[str]) -> list[str]:
    """Every way ``async_cls`` differs from ``sync_cls`` beyond ``await``."""
    problems: list[str] = []
    sync_members, async_members = members(sync_cls), members(async_cls)
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
        problems += function_drift(sync_fn, async_fn, name=name)
    return problems


@dataclass(frozen=True)
class Twin:
    """A sync thing and its async twin (two classes, or two functions).

    ``awaited``: the members that must be coroutines on the async class
    (derived from the sync class's I/O when None); unused for functions.
    """

    sync: Any
    asyn: Any
    awaited: frozenset[str] | None = None

    @property
    def name(self) -> str:
        return f"{self.sync.__module__}.{self.sync.__qualname__}"

    def problems(self) -> list[str]:
        if not isinstance(self.sync, type):
            found = [] if inspect.iscoroutinefunction(self.asyn) else ["not a coroutine"]
            return found + function_drift(self.sync, self.asyn)
        awaited = set(self.awaited) if self.awaited is not None else io_members(self.sync)
        return drift(self.sync, self.asyn, awaited)


def async_twins(modules: Iterable[Any], is_twin: Callable[[str], bool]) -> set[str]:
    """``module.name`` of every class or function defined in ``modules`` that ``is_twin``."""
    found: set[str] = set()
    for module in modules:
        for name, value in vars(module).items():
            defined_here = getattr(value, "__module__", None) == module.__name__
            is_code = inspect.isclass(value) or inspect.isfunction(value)
            if defined_here and is_code and is_twin(name):
                found.add(f"{module.__name__}.{name}")
            if defined_here and inspect.isclass(value):
                for attr, member in vars(value).items():
                    if inspect.iscoroutinefunction(member) and is_twin(attr):
                        found.add(f"{module.__name__}.{value.__qualname__}.{attr}")
    return found
