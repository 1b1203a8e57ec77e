"""The web API for real: ``python -m app serve`` in its own process, driven over HTTP.

One server for the module uses the test run's FalkorDB (``FALKORDB_URL``) and a
graph of its own; the restart test lets the app start its own embedded
FalkorDB on a temporary data directory, twice.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from infrastructure.server import Database
from tests.reliability.api_process import ApiProcess as App


@pytest.fixture(scope="module")
def api(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    graph = f"e2e_api_{uuid.uuid4().hex[:8]}"
    log = tmp_path_factory.mktemp("api") / "app.log"
    app = App(
        log,
        FALKORDB_URL=database.url,
        FALKORDB_GRAPH=graph,
        APP_OUTBOX_STREAM=f"{graph}:events",
        APP_RELAY_INTERVAL_S="0.1",
    )
    try:
        with httpx.Client(base_url=app.url, timeout=30) as client:
            yield client
    finally:
        app.stop()
        database.graph(graph).delete()


def person(api: httpx.Client, name: str) -> dict:
    response = api.post("/people", json={"name": name, "email": f"{name.lower()}@example.com"})
    assert response.status_code == 201, response.text
    return response.json()


def account(api: httpx.Client, owner: dict, amount: str = "0", currency: str = "EUR") -> dict:
    response = api.post("/accounts", json={"owner_id": owner["id"], "currency": currency})
    assert response.status_code == 201, response.text
    opened = response.json()
    if amount != "0":
        response = api.post(
            f"/accounts/{opened['id']}/deposits", json={"amount": amount, "currency": currency}
        )
        assert response.status_code == 200, response.text
        return response.json()
    return opened


def error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def test_committed_events_reach_the_stream_in_order(api: httpx.Client, database: Database) -> None:
    """The served app relays what each request committed to its Redis Stream, by itself."""
    ann = person(api, "Streamy")
    opened = account(api, ann, "12.50")
    graph = api.get("/health").json()["graph"]
    redis = database.client.connection
    wanted = {ann["id"]: ["PersonRegistered"], opened["id"]: ["AccountOpened", "MoneyDeposited"]}
    seen: dict[str, list[str]] = {}
    deadline = time.monotonic() + 20  # the relay polls every 0.1 s; this bounds a hang
    while time.monotonic() < deadline:
        seen = {}
        for _, fields in redis.xrange(f"{graph}:events"):
            if fields["aggregate_id"] in wanted:
                seen.setdefault(fields["aggregate_id"], []).append(fields["event_type"])
        if seen == wanted:
            break
        time.sleep(0.1)
    assert seen == wanted


def test_people(api: httpx.Client) -> None:
    ann = api.post("/people", json={"name": "Ann", "email": "ann@example.com", "age": 34})
    assert ann.status_code == 201
    body = ann.json()
    assert body == {"id": body["id"], "name": "Ann", "email": "ann@example.com", "age": 34}
    assert api.get(f"/people/{body['id']}").json() == body
    person(api, "Abe")
    names = [p["name"] for p in api.get("/people", params={"limit": 500}).json()]
    assert names == sorted(names)
    assert {"Ann", "Abe"} <= set(names)
    assert len(api.get("/people", params={"limit": 1, "offset": 1}).json()) == 1

    missing = uuid.uuid4()
    assert error(api.get(f"/people/{missing}"), 404)["detail"] == f"no Person with id {missing}"
    invalid = error(api.post("/people", json={"name": "", "email": "x"}), 422)
    assert {e["loc"][-1] for e in invalid["detail"]} == {"name", "email"}
    assert error(api.get("/people/not-an-id"), 422)["detail"][0]["loc"] == ["path", "person_id"]
    assert api.get("/people", params={"limit": -1}).status_code == 422
    blank = error(api.post("/people", json={"name": "  ", "email": "a@b.c"}), 422)
    assert blank == {"detail": "name must not be blank", "error": "InvalidPerson"}


def test_friends_and_recommendations(api: httpx.Client) -> None:
    p = {n: person(api, n) for n in ("Kim", "Lou", "Max", "Ned", "Ola")}
    for a, b in (("Kim", "Lou"), ("Kim", "Max"), ("Lou", "Ned"), ("Max", "Ned"), ("Max", "Ola")):
        made = api.post(f"/people/{p[a]['id']}/friends", json={"friend_id": p[b]["id"]})
        assert made.status_code == 201, made.text
        assert (made.json()["person_id"], made.json()["friend_id"]) == (p[a]["id"], p[b]["id"])
    kim = p["Kim"]["id"]
    assert {f["name"] for f in api.get(f"/people/{kim}/friends").json()} == {"Lou", "Max"}
    suggested = api.get(f"/people/{kim}/recommendations").json()
    assert [(s["person"]["name"], s["mutual_friends"]) for s in suggested] == [
        ("Ned", 2),
        ("Ola", 1),
    ]
    assert len(api.get(f"/people/{kim}/recommendations", params={"limit": 1}).json()) == 1

    again = api.post(f"/people/{p['Lou']['id']}/friends", json={"friend_id": kim})
    assert error(again, 409)["error"] == "AlreadyFriends"
    assert error(api.post(f"/people/{kim}/friends", json={"friend_id": kim}), 422)["error"] == (
        "InvalidFriendship"
    )
    nobody = uuid.uuid4()
    assert error(api.post(f"/people/{kim}/friends", json={"friend_id": str(nobody)}), 404)[
        "detail"
    ] == (f"no Person with id {nobody}")
    assert api.get(f"/people/{nobody}/friends").status_code == 404
    assert api.get(f"/people/{nobody}/recommendations").status_code == 404
    assert api.post(f"/people/{kim}/friends", json={}).status_code == 422


def test_the_shortest_chain_of_friends(api: httpx.Client) -> None:
    p = {n: person(api, n) for n in ("Ida", "Jon", "Kay", "Lee", "Mo")}
    for a, b in (("Ida", "Jon"), ("Kay", "Jon"), ("Kay", "Lee")):
        made = api.post(f"/people/{p[a]['id']}/friends", json={"friend_id": p[b]["id"]})
        assert made.status_code == 201, made.text
    path = api.get(f"/people/{p['Ida']['id']}/path/{p['Lee']['id']}")
    assert path.status_code == 200, path.text
    assert [x["name"] for x in path.json()] == ["Ida", "Jon", "Kay", "Lee"]
    assert path.json()[0] == p["Ida"]
    back = api.get(f"/people/{p['Lee']['id']}/path/{p['Ida']['id']}").json()
    assert [x["name"] for x in back] == ["Lee", "Kay", "Jon", "Ida"]
    assert api.get(f"/people/{p['Ida']['id']}/path/{p['Mo']['id']}").json() == []
    nobody = uuid.uuid4()
    missing = api.get(f"/people/{p['Ida']['id']}/path/{nobody}")
    assert error(missing, 404)["detail"] == f"no Person with id {nobody}"
    assert api.get(f"/people/{p['Ida']['id']}/path/not-an-id").status_code == 422


def test_accounts_reachable_through_transfers(api: httpx.Client) -> None:
    a, b, c, d = (account(api, person(api, n), "50") for n in ("Nia", "Oto", "Pam", "Ray"))
    for source, target in ((a, b), (b, c), (d, a)):
        body = {"source_id": source["id"], "target_id": target["id"], "amount": "5"}
        assert api.post("/transfers", json=body).status_code == 201
    reached = api.get(f"/accounts/{a['id']}/reachable")
    assert reached.status_code == 200, reached.text
    assert [x["id"] for x in reached.json()] == sorted([b["id"], c["id"]])
    assert {x["id"]: x["balance"] for x in reached.json()} == {b["id"]: "50.00", c["id"]: "55.00"}
    from_d = api.get(f"/accounts/{d['id']}/reachable").json()
    assert [x["id"] for x in from_d] == sorted([a["id"], b["id"], c["id"]])
    assert api.get(f"/accounts/{c['id']}/reachable").json() == []
    nobody = uuid.uuid4()
    assert error(api.get(f"/accounts/{nobody}/reachable"), 404)["detail"] == (
        f"no Account with id {nobody}"
    )


def test_accounts_and_deposits(api: httpx.Client) -> None:
    owner = person(api, "Pia")
    opened = api.post("/accounts", json={"owner_id": owner["id"]})
    assert opened.status_code == 201
    assert opened.json()["balance"] == "0.00"
    assert opened.json()["currency"] == "EUR"
    acc = opened.json()["id"]
    paid = api.post(f"/accounts/{acc}/deposits", json={"amount": "10.25"})
    assert paid.status_code == 200
    assert (paid.json()["balance"], paid.json()["version"]) == ("10.25", 2)
    assert api.get(f"/accounts/{acc}").json() == paid.json()

    nobody = uuid.uuid4()
    assert error(api.post("/accounts", json={"owner_id": str(nobody)}), 404)["detail"] == (
        f"no Person with id {nobody}"
    )
    assert api.post("/accounts", json={"owner_id": owner["id"], "currency": "eur"}).status_code == (
        422
    )
    assert api.get(f"/accounts/{nobody}").status_code == 404
    assert api.post(f"/accounts/{nobody}/deposits", json={"amount": "1"}).status_code == 404
    assert api.post(f"/accounts/{acc}/deposits", json={"amount": "-1"}).status_code == 422
    assert api.post(f"/accounts/{acc}/deposits", json={"amount": "0.00001"}).status_code == 422
    mismatch = api.post(f"/accounts/{acc}/deposits", json={"amount": "1", "currency": "USD"})
    assert error(mismatch, 422) == {
        "detail": "cannot combine EUR with USD",
        "error": "CurrencyMismatch",
    }
    assert api.get(f"/accounts/{acc}").json()["balance"] == "10.25"


def test_transfers(api: httpx.Client) -> None:
    source = account(api, person(api, "Quin"), "100")
    target = account(api, person(api, "Rae"))
    chosen = str(uuid.uuid4())
    body = {"source_id": source["id"], "target_id": target["id"], "amount": "30.50"}
    made = api.post("/transfers", json={**body, "transfer_id": chosen})
    assert made.status_code == 201, made.text
    assert (made.json()["id"], made.json()["amount"]) == (chosen, "30.50")
    replay = api.post("/transfers", json={**body, "transfer_id": chosen})
    assert replay.json() == made.json()
    assert api.get(f"/transfers/{chosen}").json() == made.json()
    assert api.get(f"/accounts/{source['id']}").json()["balance"] == "69.50"
    assert api.get(f"/accounts/{target['id']}").json()["balance"] == "30.50"

    reused = api.post("/transfers", json={**body, "amount": "1", "transfer_id": chosen})
    assert error(reused, 409)["error"] == "TransferIdReused"
    poor = error(api.post("/transfers", json={**body, "amount": "69.51"}), 422)
    assert poor["error"] == "InsufficientFunds"
    assert "cannot withdraw 69.51 EUR" in poor["detail"]
    nobody = uuid.uuid4()
    unknown = api.post("/transfers", json={**body, "target_id": str(nobody)})
    assert error(unknown, 404)["detail"] == f"no Account with id {nobody}"
    assert api.get(f"/transfers/{nobody}").status_code == 404
    assert api.post("/transfers", json={**body, "amount": "abc"}).status_code == 422
    assert api.get(f"/accounts/{source['id']}").json()["balance"] == "69.50"


def test_concurrent_transfers_lose_no_money(api: httpx.Client) -> None:
    source = account(api, person(api, "Sam"), "50")
    target = account(api, person(api, "Tia"))
    body = {"source_id": source["id"], "target_id": target["id"], "amount": "1"}

    async def many() -> list[int]:
        async with httpx.AsyncClient(base_url=str(api.base_url), timeout=60) as client:
            responses = await asyncio.gather(
                *(client.post("/transfers", json=body) for _ in range(20))
            )
        return [r.status_code for r in responses]

    statuses = asyncio.run(many())
    # Every transfer read and wrote the same two accounts: conflicts were retried, not lost.
    assert statuses.count(201) + statuses.count(409) == 20
    landed = statuses.count(201)
    assert api.get(f"/accounts/{source['id']}").json()["balance"] == f"{50 - landed}.00"
    assert api.get(f"/accounts/{target['id']}").json()["balance"] == f"{landed}.00"
    assert landed > 0


def test_health_and_docs(api: httpx.Client) -> None:
    assert api.get("/health").json()["status"] == "ok"
    assert "swagger" in api.get("/docs").text.lower()
    schema = api.get("/openapi.json").json()
    assert schema["info"]["title"] == "FalkorDB bank example"
    assert "/transfers" in schema["paths"]


def test_a_transfer_is_still_there_after_the_app_restarts(tmp_path: Path) -> None:
    data = tmp_path / "falkordb"
    env = {"FALKORDB_DATA_DIR": str(data), "FALKORDB_GRAPH": "bank"}
    first = App(tmp_path / "first.log", **env)
    try:
        with httpx.Client(base_url=first.url, timeout=30) as client:
            source = account(client, person(client, "Uma"), "80")
            target = account(client, person(client, "Vic"))
            made = client.post(
                "/transfers",
                json={"source_id": source["id"], "target_id": target["id"], "amount": "12.34"},
            )
            assert made.status_code == 201, made.text
    finally:
        first.stop()
    assert first.process.returncode == 0
    second = App(tmp_path / "second.log", **env)
    try:
        with httpx.Client(base_url=second.url, timeout=30) as client:
            assert client.get(f"/transfers/{made.json()['id']}").json() == made.json()
            assert client.get(f"/accounts/{source['id']}").json()["balance"] == "67.66"
            assert client.get(f"/accounts/{target['id']}").json()["balance"] == "12.34"
    finally:
        second.stop()


def test_emails_are_unique(api: httpx.Client) -> None:
    email = f"only.{uuid.uuid4().hex[:8]}@example.com"
    assert api.post("/people", json={"name": "One", "email": email}).status_code == 201
    taken = error(api.post("/people", json={"name": "Two", "email": email}), 409)
    assert taken == {
        "error": "EmailTaken",
        "detail": f"a person with email {email!r} is registered already",
    }

    async def race() -> list[int]:  # at once: the unique constraint decides, not the check
        contested = f"race.{uuid.uuid4().hex[:8]}@example.com"
        async with httpx.AsyncClient(base_url=str(api.base_url), timeout=30) as client:
            answers = await asyncio.gather(
                *(
                    client.post("/people", json={"name": f"R{i}", "email": contested})
                    for i in range(8)
                )
            )
        return sorted(a.status_code for a in answers)

    assert asyncio.run(race()) == [201] + [409] * 7


def test_money_has_its_currency_decimal_places(api: httpx.Client) -> None:
    owner = person(api, f"Money{uuid.uuid4().hex[:6]}")
    euros = account(api, owner, "7.5")
    assert euros["balance"] == "7.50"
    yen = account(api, owner, "1200", currency="JPY")
    assert yen["balance"] == "1200"
    dinars = account(api, owner, "1.5", currency="KWD")
    assert dinars["balance"] == "1.500"
    too_fine = error(api.post(f"/accounts/{euros['id']}/deposits", json={"amount": "0.001"}), 422)
    assert "amount 0.001 has more decimal places than EUR has (2)" in too_fine["detail"][0]["msg"]
    no_sen = api.post(f"/accounts/{yen['id']}/deposits", json={"amount": "0.5", "currency": "JPY"})
    assert no_sen.status_code == 422
    assert api.get(f"/accounts/{euros['id']}").json()["balance"] == "7.50"  # nothing written
    other = account(api, person(api, f"Payee{uuid.uuid4().hex[:6]}"))
    body = {"source_id": euros["id"], "target_id": other["id"], "amount": "2"}
    made = api.post("/transfers", json=body)
    assert made.status_code == 201, made.text
    assert made.json()["amount"] == "2.00"


def test_a_transfer_to_the_same_account_says_so(api: httpx.Client) -> None:
    own = account(api, person(api, f"Self{uuid.uuid4().hex[:6]}"), "10")
    body = {"source_id": own["id"], "target_id": own["id"], "amount": "1"}
    refused = error(api.post("/transfers", json=body), 422)
    assert refused["error"] == "SameAccountTransfer"
    assert "same account" in refused["detail"]


def test_every_error_has_one_shape(api: httpx.Client) -> None:
    garbled = api.post(
        "/people", content=b'{"name": "\xff\xfe"}', headers={"content-type": "application/json"}
    )
    assert error(garbled, 400) == {
        "error": "BadRequest",
        "detail": "the request body cannot be read: send JSON encoded in UTF-8",
    }
    assert error(api.get("/no/such/path"), 404) == {"error": "NotFound", "detail": "Not Found"}
    wrong_method = error(api.delete("/people"), 405)
    assert wrong_method == {"error": "MethodNotAllowed", "detail": "Method Not Allowed"}
    invalid = error(api.post("/people", json={}), 422)
    assert set(invalid) == {"error", "detail"}
    assert all(set(problem) == {"loc", "msg", "type"} for problem in invalid["detail"])


def test_the_openapi_documents_every_error_status(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()
    error_body = {"$ref": "#/components/schemas/ErrorBody"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if path == "/health":
                continue
            statuses = set(operation["responses"]) - {"200", "201"}
            assert {"422", "503"} <= statuses, (method, path)
            if method == "post":
                assert "400" in statuses, (method, path)
            if "{" in path:
                assert "404" in statuses, (method, path)
            for status in statuses:
                content = operation["responses"][status]["content"]["application/json"]
                assert content["schema"] == error_body, (method, path, status)
    assert "409" in spec["paths"]["/people"]["post"]["responses"]
    assert "409" in spec["paths"]["/transfers"]["post"]["responses"]


def test_the_docs_page_needs_no_network(api: httpx.Client) -> None:
    page = api.get("/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text
    assert "unpkg" not in page.text
    scripts = [part.split('"')[1] for part in page.text.split("src=")[1:]]
    assert scripts, page.text
    for script in scripts:
        assert script.startswith("/"), script  # served by the app itself
        asset = api.get(script)
        assert asset.status_code == 200
        assert len(asset.content) > 100_000  # the Swagger UI bundle, not a stub


def test_writes_are_stamped_with_the_requests_actor(api: httpx.Client, database: Database) -> None:
    owner = person(api, "Stamped")
    anonymous = account(api, owner)
    response = api.post(
        "/accounts", json={"owner_id": owner["id"], "currency": "EUR"}, headers={"X-Actor": "alice"}
    )
    assert response.status_code == 201, response.text
    named = response.json()
    graph = database.graph(api.get("/health").json()["graph"])
    rows = graph.ro_query(
        "MATCH (a:Account) WHERE a.id IN $ids RETURN a.id, a.updated_by, a.created_at IS NOT NULL",
        {"ids": [anonymous["id"], named["id"]]},
    ).result_set
    assert {row[0]: row[1:] for row in rows} == {
        anonymous["id"]: ["api", True],
        named["id"]: ["alice", True],
    }
