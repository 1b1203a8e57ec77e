"""Fixtures of the reliability suites: the short/long profile, the figures, own servers.

``RELIABILITY=long`` (set by ``make reliability``) runs the long versions;
the default is the short ones that ``make test`` runs. When
``RELIABILITY_FIGURES`` names a file, the figures every suite recorded are
written there as JSON at the end of the session (``report.py`` reads it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from infrastructure.server import EmbeddedFalkorDB
from infrastructure.server.embedded import free_port

from .profile import Figures, Profile, current_profile


@pytest.fixture(scope="session")
def profile() -> Profile:
    return current_profile()


@pytest.fixture(scope="session")
def figures() -> Iterator[Figures]:
    recorded = Figures()
    yield recorded
    target = os.environ.get("RELIABILITY_FIGURES")
    if target:
        Path(target).write_text(json.dumps(recorded.data, indent=2, sort_keys=True))


@pytest.fixture
def crashable_server(tmp_path: Path) -> Iterator[EmbeddedFalkorDB]:
    """A server of this test's own, on a fixed port and a kept data directory.

    Every write is on disk before it is acknowledged (``appendfsync always``),
    so ``kill()`` + ``restart()`` behaves like a crash and a reboot.
    ``LOADING`` answers come early in a reload (events every 1 KiB read).
    """
    server = EmbeddedFalkorDB(
        tmp_path / "data",
        appendfsync="always",
        port=free_port(),
        extra_args=["--loading-process-events-interval-bytes", "1024"],
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()
