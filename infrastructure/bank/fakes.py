"""In-memory fakes of the example domain's units of work, for service tests.

from infrastructure.bank.fakes import FakeBankUnitOfWork

store = FakeStore()
service = BankService(lambda: FakeBankUnitOfWork(store, bank_registry()))

The units are the real ``BankUnitOfWork`` / ``AsyncBankUnitOfWork`` on a
``FakeStore``; the bank's custom Cypher queries are answered by the
in-memory twins below (the contract suite checks they agree with FalkorDB).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from domain import ports
from infrastructure.fakes import (
    FakeAsyncUnitOfWork,
    FakePath,
    FakeUnitOfWork,
    GraphReader,
    MemoryQuery,
    Ref,
)
from infrastructure.persistence import Rows

from .repositories import (
    FRIEND_SUGGESTIONS,
    NEXT_ACCOUNTS,
    SHORTEST_PATH,
    AsyncBankUnitOfWork,
    BankUnitOfWork,
)


def friend_suggestions(graph: GraphReader, params: dict[str, Any]) -> Rows:
    """``FRIEND_SUGGESTIONS``: friends of friends, most mutual friends first, then by id."""
    me: Ref = ("Person", params["id"])
    friends = set(graph.neighbours(me, "FRIEND", "both", "Person"))
    mutual: dict[Ref, set[Ref]] = {}
    for friend in friends:
        for candidate in graph.neighbours(friend, "FRIEND", "both", "Person"):
            if candidate != me and candidate not in friends:
                mutual.setdefault(candidate, set()).add(friend)
    ranked = sorted(mutual.items(), key=lambda item: (-len(item[1]), item[0][1]))
    return [[graph.node(ref), len(via)] for ref, via in ranked[: params["limit"]]]


def shortest_path(graph: GraphReader, params: dict[str, Any]) -> Rows:
    """``SHORTEST_PATH``: a shortest chain of FRIEND edges, either way, of at most ``hops``."""
    start: Ref = ("Person", params["a"])
    goal: Ref = ("Person", params["b"])
    if not (graph.exists(start) and graph.exists(goal)):
        return []
    came_from: dict[Ref, Ref | None] = {start: None}
    queue = deque([(start, 0)])
    while queue:
        ref, hops = queue.popleft()
        if ref == goal:
            chain = []
            step: Ref | None = ref
            while step is not None:
                chain.append(graph.node(step))
                step = came_from[step]
            return [[FakePath(chain[::-1])]]
        if hops < params["hops"]:
            for other in graph.neighbours(ref, "FRIEND", "both", "Person"):
                if other not in came_from:
                    came_from[other] = ref
                    queue.append((other, hops + 1))
    return []


def next_accounts(graph: GraphReader, params: dict[str, Any]) -> Rows:
    """``NEXT_ACCOUNTS``: the accounts one transfer further from the frontier, each once."""
    found: dict[Ref, None] = {}
    for key in params["frontier"]:
        for transfer in graph.neighbours(("Account", key), "SENT", "out", "Transfer"):
            found.update(dict.fromkeys(graph.neighbours(transfer, "TO", "out", "Account")))
    return [[graph.node(ref)] for ref in found]


BANK_QUERIES: dict[str, MemoryQuery] = {
    FRIEND_SUGGESTIONS: friend_suggestions,
    SHORTEST_PATH: shortest_path,
    NEXT_ACCOUNTS: next_accounts,
}


class FakeBankUnitOfWork(FakeUnitOfWork, BankUnitOfWork):
    """The fake twin of ``BankUnitOfWork``."""

    queries = BANK_QUERIES


class FakeAsyncBankUnitOfWork(FakeAsyncUnitOfWork, AsyncBankUnitOfWork):
    """The fake twin of ``AsyncBankUnitOfWork``."""

    queries = BANK_QUERIES


if TYPE_CHECKING:
    # Checked by mypy: the real units and their fakes fit the ports services depend on.
    def _fit_the_ports(
        real: BankUnitOfWork,
        fake: FakeBankUnitOfWork,
        real_async: AsyncBankUnitOfWork,
        fake_async: FakeAsyncBankUnitOfWork,
    ) -> tuple[
        ports.BankUnitOfWork,
        ports.BankUnitOfWork,
        ports.AsyncBankUnitOfWork,
        ports.AsyncBankUnitOfWork,
    ]:
        return real, fake, real_async, fake_async
