"""schemathesis against the served API's own OpenAPI: what it answers is what it documents.

The API runs as ``python -m app serve`` on its own embedded server, with a
few people, accounts and a transfer in it so that generated requests reach
the services (half of the generated ids are ones that exist). The checks:
no 5xx, only documented status codes, content types and response bodies.
Examples per operation are bounded, and the seed fixed, to keep the run
short and repeatable.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from .processes import Serve

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
MAX_EXAMPLES = 3


def seeded(url: str) -> dict[str, list[str]]:
    """Two people with funded accounts, friends, and a transfer between them."""
    with httpx.Client(base_url=url, timeout=30) as api:
        people, accounts = [], []
        for name in ("Ann", "Bob"):
            made = api.post("/people", json={"name": name, "email": f"{name}@example.com"})
            people.append(made.json()["id"])
            opened = api.post("/accounts", json={"owner_id": people[-1]}).json()
            api.post(f"/accounts/{opened['id']}/deposits", json={"amount": "1000"})
            accounts.append(opened["id"])
        api.post(f"/people/{people[0]}/friends", json={"friend_id": people[1]})
        body = {"source_id": accounts[0], "target_id": accounts[1], "amount": "1"}
        transfer = api.post("/transfers", json=body).json()["id"]
    return {"people": people, "accounts": accounts, "transfers": [transfer]}


def config(ids: dict[str, list[str]]) -> str:
    lines = []
    for name, values in ids.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    lines.append("[parameters]")
    for key, dictionary in {
        "path.person_id": "people",
        "path.other_id": "people",
        "path.account_id": "accounts",
        "path.transfer_id": "transfers",
        "body.friend_id": "people",
        "body.owner_id": "people",
        "body.source_id": "accounts",
        "body.target_id": "accounts",
    }.items():
        lines.append(f'"{key}" = {{ dictionary = "{dictionary}", probability = 0.5 }}')
    return "\n".join(lines) + "\n"


def test_the_api_answers_only_what_its_openapi_documents(tmp_path: Path) -> None:
    serve = Serve(tmp_path / "data", tmp_path / "serve.log", APP_RELAY_INTERVAL_S="0")
    try:
        settings = tmp_path / "schemathesis.toml"
        settings.write_text(config(seeded(serve.url)))
        command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(settings)]
        command += ["run", f"{serve.url}/openapi.json", "--checks", CHECKS]
        command += ["--max-examples", str(MAX_EXAMPLES), "--phases", "examples,coverage,fuzzing"]
        command += ["--seed", "20261202", "--no-color"]
        done = subprocess.run(
            command,
            cwd=tmp_path,  # its cache stays out of the work tree
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        serve.interrupt()
        serve.wait()
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert " failed" not in report.split("SUMMARY")[-1], report
    assert "Tested: 14" in report, report
    assert "Traceback" not in serve.output
