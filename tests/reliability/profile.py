"""How long the reliability suites run, and what they measured.

``RELIABILITY=long`` (set by ``make reliability``) selects the long
versions; the default is the short ones that ``make test`` runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """How much of everything a run does."""

    name: str
    crash_seconds: float
    kill_every_s: tuple[float, float]
    stress_seconds: float
    stress_threads: int
    stress_processes: int
    stress_accounts: int
    hostile_examples: int
    load_seconds: float
    load_clients: int
    differential_examples: int = 60
    differential_steps: int = 25
    failovers: int = 3
    failover_pause_s: tuple[float, float] = (0.2, 0.8)


SHORT = Profile("short", 5.0, (0.08, 0.3), 3.0, 4, 2, 6, 60, 2.0, 8)
LONG = Profile("long", 45.0, (0.05, 0.4), 20.0, 6, 3, 8, 400, 10.0, 16, 400, 40, failovers=12)


def current_profile() -> Profile:
    """The profile ``RELIABILITY`` selects (short unless it says ``long``)."""
    return LONG if os.environ.get("RELIABILITY", "short").lower() == "long" else SHORT


class Figures:
    """What each suite measured, by suite and figure name; counts add up across tests."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, float]] = {}

    def add(self, suite: str, **counts: float) -> None:
        bucket = self.data.setdefault(suite, {})
        for name, value in counts.items():
            bucket[name] = bucket.get(name, 0) + value

    def set(self, suite: str, **values: float) -> None:
        self.data.setdefault(suite, {}).update(values)
