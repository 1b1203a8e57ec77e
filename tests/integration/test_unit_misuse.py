"""A unit is one conversation: a second thread or task inside it is refused, and Cypher
that writes cannot be slipped through a read."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from domain.model import Person
from infrastructure.bank import AsyncBankUnitOfWork, BankUnitOfWork
from infrastructure.persistence import ConcurrentUseError, ReadOnlyQueryError
from infrastructure.server.cypher import AsyncFastGraph


class HeldRead:
    """A sync graph whose first read waits until released (so another thread can arrive)."""

    def __init__(self, graph: Any) -> None:
        self._graph = graph
        self.inside = threading.Event()
        self.release = threading.Event()

    def ro_query(self, *args: Any, **kwargs: Any) -> Any:
        if not self.inside.is_set():
            self.inside.set()
            assert self.release.wait(timeout=30)
        return self._graph.ro_query(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._graph, name)


class AsyncHeldRead:
    def __init__(self, graph: Any) -> None:
        self._graph = graph
        self.inside = asyncio.Event()
        self.release = asyncio.Event()

    async def ro_query(self, *args: Any, **kwargs: Any) -> Any:
        if not self.inside.is_set():
            self.inside.set()
            await asyncio.wait_for(self.release.wait(), timeout=30)
        return await self._graph.ro_query(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._graph, name)


def test_a_second_thread_inside_a_sync_unit_is_refused(bank_graph: Any, registry: Any) -> None:
    alice = Person.register("Alice", "alice@example.com")
    with BankUnitOfWork(bank_graph, registry) as uow:
        uow.people.add(alice)
    held = HeldRead(bank_graph)
    uow = BankUnitOfWork(held, registry)  # type: ignore[arg-type]
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(uow.people.get, alice.id)
        assert held.inside.wait(timeout=30)
        with pytest.raises(ConcurrentUseError, match="another thread or task"):
            uow.people.get(alice.id)
        with pytest.raises(ConcurrentUseError):
            uow.people.add(Person.register("Bob", "bob@example.com"))
        with pytest.raises(ConcurrentUseError):
            uow.commit()
        held.release.set()
        assert first.result(timeout=30).name == "Alice"
    with uow:  # once the other thread is out, the unit works as before
        uow.people.get(alice.id).age = 5
    with BankUnitOfWork(bank_graph, registry) as check:
        assert check.people.get(alice.id).age == 5
        assert check.people.count() == 1


async def test_a_second_task_inside_an_async_unit_is_refused(
    bank_graph: Any, async_bank_graph: Any, registry: Any
) -> None:
    alice = Person.register("Alice", "alice@example.com")
    with BankUnitOfWork(bank_graph, registry) as uow:
        uow.people.add(alice)
    held = AsyncHeldRead(AsyncFastGraph(async_bank_graph))
    uow = AsyncBankUnitOfWork(held, registry)  # type: ignore[arg-type]
    first = asyncio.create_task(uow.people.get(alice.id))
    await asyncio.wait_for(held.inside.wait(), timeout=30)
    with pytest.raises(ConcurrentUseError):
        await uow.people.get(alice.id)
    with pytest.raises(ConcurrentUseError):
        await uow.commit()
    held.release.set()
    assert (await first).name == "Alice"
    (await uow.people.get(alice.id)).age = 7
    await uow.commit()
    with BankUnitOfWork(bank_graph, registry) as check:
        assert check.people.get(alice.id).age == 7


async def test_two_concurrent_commits_of_one_async_unit_write_once(
    bank_graph: Any, async_bank_graph: Any, registry: Any
) -> None:
    uow = AsyncBankUnitOfWork(async_bank_graph, registry)
    for i in range(20):
        uow.people.add(Person.register(f"P{i}", f"p{i}@example.com"))
    results = await asyncio.gather(uow.commit(), uow.commit(), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(e, ConcurrentUseError) for e in errors)
    with BankUnitOfWork(bank_graph, registry) as check:
        assert check.people.count() == 20


def test_cypher_that_writes_is_refused_by_query_with_a_typed_error(
    bank_graph: Any, registry: Any
) -> None:
    with BankUnitOfWork(bank_graph, registry) as uow:
        with pytest.raises(ReadOnlyQueryError, match="runs reads only"):
            uow.people.query("CREATE (:Person {id: 'x'})")
        assert uow.people.count() == 0
