"""The web API under abuse and load: bad requests get a 4xx, never a 5xx.

The app runs for real (``python -m app serve``) on a loopback port against
the test run's FalkorDB; requests are malformed JSON, wrong types, oversized
bodies, unknown ids, hostile strings and generated junk. The load test runs
concurrent clients for a fixed few seconds, reports throughput and p99, and
checks that no money appeared or vanished.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infrastructure.server import Database

from .api_process import ApiProcess
from .hostile import INJECTIONS
from .profile import Figures, Profile, current_profile

EXAMPLES = current_profile().hostile_examples


@pytest.fixture(scope="module")
def app_url(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("api") / "app.log"
    graph = f"reliability_api_{uuid.uuid4().hex[:8]}"
    app = ApiProcess(log, FALKORDB_URL=database.url, FALKORDB_GRAPH=graph)
    try:
        yield app.url
    finally:
        app.stop()
        database.graph(graph).delete()


@pytest.fixture(scope="module")
def tally() -> Counter[str]:
    return Counter()


@pytest.fixture
def api(app_url: str, tally: Counter[str]) -> Iterator[httpx.Client]:
    def count(response: httpx.Response) -> None:
        tally["requests"] += 1
        tally["5xx"] += response.status_code >= 500

    with httpx.Client(base_url=app_url, timeout=60, event_hooks={"response": [count]}) as client:
        yield client


@pytest.fixture(scope="module", autouse=True)
def record(tally: Counter[str], figures: Figures) -> Iterator[None]:
    yield
    figures.add("api", abuse_requests=tally["requests"], abuse_5xx=tally["5xx"])


def refused(response: httpx.Response, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["detail"]
    return body


def person(api: httpx.Client, name: str = "Ann") -> str:
    email = f"{name.lower()}.{uuid.uuid4().hex[:12]}@example.com"  # emails are unique
    made = api.post("/people", json={"name": name, "email": email})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def account(api: httpx.Client, deposit: str | None = None) -> str:
    opened = api.post("/accounts", json={"owner_id": person(api)})
    assert opened.status_code == 201, opened.text
    account_id = str(opened.json()["id"])
    if deposit:
        assert api.post(f"/accounts/{account_id}/deposits", json={"amount": deposit}).is_success
    return account_id


JSON_HEADERS = {"content-type": "application/json"}


@pytest.mark.parametrize(
    "body",
    ["{", "", "null", "[]", '{"name": "A", "email": "a@b.c"', "\x00", "\xff\xfe"],
    ids=["open-brace", "empty", "null", "list", "truncated", "nul", "not-utf8"],
)
def test_malformed_json_is_422(api: httpx.Client, body: str) -> None:
    refused(api.post("/people", content=body.encode("latin-1"), headers=JSON_HEADERS))
    refused(api.post("/transfers", content=body.encode("latin-1"), headers=JSON_HEADERS))


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_json_numbers_are_422(api: httpx.Client, literal: str) -> None:
    body = '{"name": ' + literal + ', "email": "a@b.c"}'
    refused(api.post("/people", content=body, headers=JSON_HEADERS))


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/people", {"name": 1, "email": "a@b.c"}),
        ("/people", {"name": "A", "email": ["a@b.c"]}),
        ("/people", {"name": "A", "email": "a@b.c", "age": "old"}),
        ("/people", {"name": "A", "email": "a@b.c", "age": 2**70}),
        ("/people", {"name": "A", "email": "a@b.c", "age": -1}),
        ("/people", {"name": "A", "email": "a@b.c", "admin": True}),
        ("/people", {"name": {"$ne": None}, "email": "a@b.c"}),
        ("/accounts", {"owner_id": "not-a-uuid"}),
        ("/accounts", {"owner_id": 12}),
        ("/transfers", {"source_id": None, "target_id": None, "amount": "1"}),
    ],
)
def test_wrong_types_are_422(api: httpx.Client, path: str, body: dict[str, Any]) -> None:
    refused(api.post(path, json=body))


@pytest.mark.parametrize(
    "amount", ["NaN", "Infinity", "-1", "0", "1e400", "0.00001", "1" * 30, "12,5", "", True, []]
)
def test_bad_amounts_are_422(api: httpx.Client, amount: Any) -> None:
    target = account(api)
    refused(api.post(f"/accounts/{target}/deposits", json={"amount": amount}))
    assert api.get(f"/accounts/{target}").json()["balance"] == "0.00"


def test_oversized_bodies_are_refused_with_4xx(api: httpx.Client) -> None:
    huge = "x" * 5_000_000
    answer = api.post("/people", json={"name": huge, "email": "a@b.c"})
    assert 400 <= answer.status_code < 500, answer.status_code
    deep = '{"name": ' + "[" * 100_000 + "]" * 100_000 + ', "email": "a@b.c"}'
    nested = api.post("/people", content=deep, headers=JSON_HEADERS)
    assert 400 <= nested.status_code < 500, nested.status_code
    many = api.post("/people", json={f"k{i}": i for i in range(100_000)})
    assert 400 <= many.status_code < 500, many.status_code


def test_unknown_ids_are_404_and_bad_ids_422(api: httpx.Client) -> None:
    nobody = uuid.uuid4()
    existing = account(api, "10")
    hostile = quote("x'}) DETACH DELETE n //", safe="")
    for path in (f"/people/{nobody}", f"/accounts/{nobody}", f"/transfers/{nobody}"):
        refused(api.get(path), 404)
        refused(api.get(path.replace(str(nobody), "not-a-uuid")), 422)
        answer = api.get(path.replace(str(nobody), hostile), follow_redirects=True)
        assert 400 <= answer.status_code < 500, answer.status_code
    refused(api.post("/accounts", json={"owner_id": str(nobody)}), 404)
    refused(api.post(f"/accounts/{nobody}/deposits", json={"amount": "1"}), 404)
    refused(
        api.post(
            "/transfers", json={"source_id": existing, "target_id": str(nobody), "amount": "1"}
        ),
        404,
    )
    refused(api.post(f"/people/{nobody}/friends", json={"friend_id": person(api)}), 404)
    assert api.get("/no/such/path").status_code == 404
    assert api.delete(f"/people/{nobody}").status_code == 405
    assert api.get(f"/accounts/{existing}").json()["balance"] == "10.00"


def test_domain_refusals_are_4xx(api: httpx.Client) -> None:
    poor, other = account(api, "5"), account(api)
    refused(api.post("/transfers", json={"source_id": poor, "target_id": other, "amount": "6"}))
    refused(api.post("/transfers", json={"source_id": poor, "target_id": poor, "amount": "1"}))
    refused(
        api.post(
            "/transfers",
            json={"source_id": poor, "target_id": other, "amount": "1", "currency": "USD"},
        )
    )
    assert api.get(f"/accounts/{poor}").json()["balance"] == "5.00"


@pytest.mark.parametrize("text", [*INJECTIONS, "\u202e\u0000", "\ud7ff" * 3, "é" * 200])
def test_hostile_strings_are_stored_as_data_or_refused(api: httpx.Client, text: str) -> None:
    made = api.post("/people", json={"name": text, "email": f"{uuid.uuid4().hex}@b.c"})
    assert made.status_code in (201, 422), made.text
    if made.status_code == 201:
        stored = api.get(f"/people/{made.json()['id']}").json()
        assert stored["name"] == text.strip()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.sampled_from(INJECTIONS),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
field_names = st.sampled_from(
    ["name", "email", "age", "owner_id", "currency", "amount", "source_id", "target_id",
     "transfer_id", "friend_id"]
)  # fmt: skip
bodies = st.dictionaries(field_names, json_values | st.uuids().map(str), max_size=5) | json_values


def test_generated_junk_never_gets_a_5xx(api: httpx.Client) -> None:
    some = account(api, "100")
    paths = ["/people", "/accounts", "/transfers", f"/accounts/{some}/deposits",
             f"/people/{person(api)}/friends"]  # fmt: skip

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(path=st.sampled_from(paths), body=bodies)
    def check(path: str, body: Any) -> None:
        answer = api.post(path, content=json.dumps(body), headers=JSON_HEADERS)
        assert answer.status_code < 500, (path, body, answer.text)

    check()


async def _load(url: str, profile: Profile, accounts: list[str]) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    deadline = time.monotonic() + profile.load_seconds
    limits = httpx.Limits(max_connections=profile.load_clients)

    async def client(seed: int, http: httpx.AsyncClient) -> None:
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            roll = rng.random()
            source, target = rng.sample(accounts, 2)
            started = time.perf_counter()
            if roll < 0.5:
                body = {"source_id": source, "target_id": target, "amount": "0.01"}
                answer = await http.post("/transfers", json=body)
            elif roll < 0.9:
                answer = await http.get(f"/accounts/{source}")
            else:
                answer = await http.get("/people", params={"limit": 20})
            latencies.append(time.perf_counter() - started)
            statuses[answer.status_code] += 1

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        started = time.monotonic()
        await asyncio.gather(*(client(i, http) for i in range(profile.load_clients)))
        elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "statuses": statuses,
        "throughput": len(latencies) / elapsed,
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))] * 1000,
    }


def test_load_has_no_5xx_and_keeps_every_cent(
    api: httpx.Client, app_url: str, profile: Profile, figures: Figures
) -> None:
    accounts = [account(api, "1000") for _ in range(8)]
    result = asyncio.run(_load(app_url, profile, accounts))
    statuses: Counter[int] = result["statuses"]
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    figures.set(
        "api", throughput_rps=round(result["throughput"], 1), p99_ms=round(result["p99_ms"], 1)
    )
    figures.add("api", load_requests=result["requests"], load_5xx=server_errors)
    balances = [Decimal(api.get(f"/accounts/{a}").json()["balance"]) for a in accounts]
    assert server_errors == 0, statuses
    assert set(statuses) <= {200, 201, 409}, statuses
    assert statuses[201] > 0
    assert sum(balances) == Decimal(8000)
