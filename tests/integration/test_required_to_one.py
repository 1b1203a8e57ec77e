"""``to_one(..., required=True)``: a commit may not leave it empty; nothing is sent then."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from infrastructure.fakes import FakeStore, FakeUnitOfWork
from infrastructure.persistence import CardinalityError, Registry, to_one


@dataclass
class Owner:
    id: str


@dataclass
class Ticket:
    id: str
    title: str
    assignee: Owner | None = field(default=None, repr=False, compare=False)


def ticket_registry() -> Registry:
    registry = Registry()
    registry.map(Owner, key="id")
    registry.map(
        Ticket, key="id", relationships={"assignee": to_one(Owner, "ASSIGNED", required=True)}
    )
    return registry


async def test_a_required_to_one_refuses_a_commit_leaving_it_empty(harness):
    registry = harness.prepare(ticket_registry())
    async with harness.unit(registry) as uow:
        uow.add(Ticket("t1", "assigned", Owner("o1")))
    harness.log.clear()
    uow = harness.unit(registry)
    uow.add(Ticket("t2", "nobody"))
    with pytest.raises(CardinalityError, match=r"Ticket\['t2'\].assignee is required"):
        await uow.commit()
    await uow.close()
    assert harness.log.writes == []  # refused before anything was sent
    uow = harness.unit(registry)
    ticket = await uow.repository(Ticket).get("t1", load=["assignee"])
    ticket.assignee = None
    with pytest.raises(CardinalityError, match=r"Ticket\['t1'\].assignee"):
        await uow.commit()
    await uow.close()
    async with harness.unit(registry) as uow:  # an unloaded one is not checked: not written
        (await uow.repository(Ticket).get("t1")).title = "renamed"
    assert harness.edges() == [("ASSIGNED", "t1", "o1")]


def test_the_fakes_refuse_it_alike():
    store = FakeStore()
    uow = FakeUnitOfWork(store, ticket_registry())
    uow.add(Ticket("t", "nobody"))
    with pytest.raises(CardinalityError):
        uow.commit()
    assert not uow.committed
