"""/docs in a real browser with the network off: Swagger UI renders every operation.

Chromium (Debian's; ``make chromium`` installs it) loads the page headless,
with every host but 127.0.0.1 unresolvable and every other connection sent
to a proxy that does not exist, so an asset fetched from a CDN would fail.
Skipped, saying why, when Chromium is not installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from .processes import Serve

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (make chromium installs it)"
)


def rendered(url: str, profile: Path) -> str:
    """The DOM of ``url`` after its scripts ran, offline but for 127.0.0.1."""
    assert CHROMIUM is not None
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--proxy-server=http://127.0.0.1:9",  # loopback is never proxied
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_docs_render_every_operation_without_a_network(tmp_path: Path) -> None:
    serve = Serve(tmp_path / "data", tmp_path / "serve.log", APP_RELAY_INTERVAL_S="0")
    try:
        paths = httpx.get(f"{serve.url}/openapi.json", timeout=30).json()["paths"]
        dom = rendered(f"{serve.url}/docs", tmp_path / "profile")
        offline = rendered("http://example.com/", tmp_path / "profile2")
    finally:
        serve.interrupt()
        serve.wait()
    assert "Failed to load API definition" not in dom
    shown = set(re.findall(r'data-path="([^"]+)"', dom))
    assert shown == set(paths), dom[-3000:]  # every operation's path is rendered
    assert dom.count('class="opblock-summary-method"') == sum(len(ops) for ops in paths.values())
    assert "Example Domain" not in offline  # the browser really had no network
