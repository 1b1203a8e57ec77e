"""The web API on the in-memory fakes: request scope, status codes and messages."""

from __future__ import annotations

from uuid import UUID, uuid4

import httpx
import pytest
from dependency_injector import providers

from app.api import create_app
from app.container import ConflictRetry, create_container
from app.request_scope import RequestUnit
from app.settings import Settings
from domain.model import Account, Money
from infrastructure.bank import bank_registry
from infrastructure.bank.fakes import FakeAsyncBankUnitOfWork, FakeBankUnitOfWork
from infrastructure.fakes import FakeStore

REGISTRY = bank_registry()


class Rival:
    """A flush hook that commits a competing deposit to an account before every commit."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.account_id = None

    def before_flush(self, unit) -> None:
        if any(isinstance(e, Account) and e.id == self.account_id for e in unit.tracked_entities()):
            with FakeBankUnitOfWork(self.store, REGISTRY) as rival:
                rival.accounts.get(self.account_id).deposit(Money.of(1))

    def after_flush(self, unit, pending) -> None:
        pass

    def after_rollback(self, unit) -> None:
        pass


@pytest.fixture
async def world():
    store = FakeStore()
    units: list[FakeAsyncBankUnitOfWork] = []
    rival = Rival(store)

    def open_unit():
        unit = FakeAsyncBankUnitOfWork(store, REGISTRY, hooks=[rival])
        units.append(unit)
        return unit

    container = create_container(Settings(falkordb_graph="unit", app_retry_attempts=2))
    container.async_unit_of_work.override(providers.Callable(open_unit))
    container.retry.override(providers.Object(ConflictRetry(2)))
    app = create_app(container)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://api") as client,
    ):
        yield client, units, rival


async def make_person(client, name="Ann"):
    response = await client.post(
        "/people", json={"name": name, "email": f"{name.lower()}@example.com"}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def make_account(client, owner, amount="0"):
    account = (await client.post("/accounts", json={"owner_id": owner["id"]})).json()
    if amount != "0":
        response = await client.post(f"/accounts/{account['id']}/deposits", json={"amount": amount})
        assert response.status_code == 200, response.text
        account = response.json()
    return account


async def test_every_unit_a_request_opens_is_closed_whatever_happens(world):
    client, units, _ = world
    ann = await make_person(client)
    account = await make_account(client, ann, "10")
    requests = [
        await client.get(f"/people/{ann['id']}"),  # 200
        await client.get(f"/people/{uuid4()}"),  # 404
        await client.post(  # 422 from the domain
            "/transfers",
            json={"source_id": account["id"], "target_id": account["id"], "amount": "1"},
        ),
        await client.post(f"/people/{ann['id']}/friends", json={"friend_id": ann["id"]}),  # 422
    ]
    assert [r.status_code for r in requests] == [200, 404, 422, 422]
    # One unit per request that reached a service (the deposit's included), all closed.
    assert len(units) == 3 + len(requests)
    assert not any(u.is_active for u in units)
    assert sum(u.committed for u in units) == 4  # register, open, deposit, the read


async def test_invalid_input_never_opens_a_unit(world):
    client, units, _ = world
    response = await client.post("/people", json={"name": "Ann", "email": "nope", "shoe": 44})
    assert response.status_code == 422
    fields = {e["loc"][-1] for e in response.json()["detail"]}
    assert fields == {"email", "shoe"}
    assert (await client.get("/people/not-a-uuid")).status_code == 422
    # JSON that Python accepts but no JSON reply can echo back (NaN) is still a 422.
    nan = await client.post(
        "/people",
        content=b'{"name": NaN, "email": "a@b.c"}',
        headers={"content-type": "application/json"},
    )
    assert nan.status_code == 422
    assert nan.json()["detail"][0]["loc"] == ["body", "name"]
    assert units == []


def test_a_request_unit_is_shared_until_it_is_closed():
    store = FakeStore()
    request_unit = RequestUnit(lambda: FakeAsyncBankUnitOfWork(store, REGISTRY))
    first = request_unit()
    assert request_unit() is first
    assert request_unit.opened == 1


async def test_a_closed_request_unit_is_replaced_and_the_last_one_closed():
    store = FakeStore()
    request_unit = RequestUnit(lambda: FakeAsyncBankUnitOfWork(store, REGISTRY))
    first = request_unit()
    async with first:
        pass
    second = request_unit()
    assert second is not first
    assert second.is_active
    await request_unit.close()
    assert not second.is_active
    assert request_unit.opened == 2


async def test_unknown_ids_get_404_naming_them(world):
    client, _, _ = world
    missing = uuid4()
    response = await client.get(f"/accounts/{missing}")
    assert response.status_code == 404
    assert response.json() == {
        "detail": f"no Account with id {missing}",
        "error": "EntityNotFoundError",
    }


async def test_rule_violations_get_422_saying_which_rule(world):
    client, _, _ = world
    ann, ben = await make_person(client, "Ann"), await make_person(client, "Ben")
    source, target = await make_account(client, ann, "5"), await make_account(client, ben)
    response = await client.post(
        "/transfers",
        json={"source_id": source["id"], "target_id": target["id"], "amount": "5.01"},
    )
    assert response.status_code == 422
    assert response.json()["error"] == "InsufficientFunds"
    assert "cannot withdraw 5.01 EUR" in response.json()["detail"]


async def test_conflicts_get_409(world):
    client, _, rival = world
    ann, ben = await make_person(client, "Ann"), await make_person(client, "Ben")
    made = await client.post(f"/people/{ann['id']}/friends", json={"friend_id": ben["id"]})
    assert made.status_code == 201
    again = await client.post(f"/people/{ben['id']}/friends", json={"friend_id": ann["id"]})
    assert again.status_code == 409
    assert again.json()["error"] == "AlreadyFriends"
    # A rival commits to the account before each attempt: both retries lose the race.
    account = await make_account(client, ann)
    rival.account_id = UUID(account["id"])
    lost = await client.post(f"/accounts/{account['id']}/deposits", json={"amount": "1"})
    assert lost.status_code == 409
    assert lost.json()["error"] == "ConcurrencyError"
    assert account["id"] in lost.json()["detail"]


async def test_the_openapi_document_lists_every_endpoint(world):
    client, _, _ = world
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert set(paths) == {
        "/people",
        "/people/{person_id}",
        "/people/{person_id}/friends",
        "/people/{person_id}/recommendations",
        "/people/{person_id}/path/{other_id}",
        "/accounts",
        "/accounts/{account_id}",
        "/accounts/{account_id}/deposits",
        "/accounts/{account_id}/reachable",
        "/transfers",
        "/transfers/{transfer_id}",
        "/health",
    }
    assert (await client.get("/docs")).status_code == 200


async def test_graph_reads_answer_over_http(world):
    client, _, _ = world
    ann, ben, cat = [await make_person(client, n) for n in ("Ann", "Ben", "Cat")]
    for a, b in ((ann, ben), (cat, ben)):
        made = await client.post(f"/people/{a['id']}/friends", json={"friend_id": b["id"]})
        assert made.status_code == 201, made.text
    path = await client.get(f"/people/{ann['id']}/path/{cat['id']}")
    assert [p["name"] for p in path.json()] == ["Ann", "Ben", "Cat"]
    source, target = await make_account(client, ann, "10"), await make_account(client, cat)
    body = {"source_id": source["id"], "target_id": target["id"], "amount": "1"}
    assert (await client.post("/transfers", json=body)).status_code == 201
    reached = await client.get(f"/accounts/{source['id']}/reachable")
    assert [a["id"] for a in reached.json()] == [target["id"]]
    missing = uuid4()
    for url in (f"/people/{missing}/path/{ann['id']}", f"/accounts/{missing}/reachable"):
        response = await client.get(url)
        assert response.status_code == 404
        assert str(missing) in response.json()["detail"]
