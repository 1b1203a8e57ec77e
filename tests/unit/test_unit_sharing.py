"""One unit, one thread: the fake units refuse a second thread exactly as the real ones."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import pytest

from domain.model import Person
from infrastructure.bank import bank_registry
from infrastructure.bank.fakes import FakeBankUnitOfWork
from infrastructure.fakes import FakeStore
from infrastructure.persistence import ConcurrentUseError

HELD = "MATCH (n:Person) RETURN count(n)"
inside, release = threading.Event(), threading.Event()


def held_twin(reader: Any, params: dict[str, Any]) -> list[list[Any]]:
    inside.set()
    assert release.wait(timeout=30)
    return [[0]]


class HeldUnit(FakeBankUnitOfWork):
    queries: ClassVar[dict[str, Any]] = {HELD: held_twin}


def test_a_second_thread_inside_a_fake_unit_is_refused() -> None:
    store = FakeStore()
    uow = HeldUnit(store, bank_registry())
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(uow.people.query, HELD)
        assert inside.wait(timeout=30)
        with pytest.raises(ConcurrentUseError):
            uow.people.count()
        with pytest.raises(ConcurrentUseError):
            uow.people.add(Person.register("Ann", "ann@example.com"))
        with pytest.raises(ConcurrentUseError):
            uow.commit()
        release.set()
        assert first.result(timeout=30) == [[0]]
    uow.people.add(Person.register("Ann", "ann@example.com"))
    uow.commit()
    assert store.commits == 1
