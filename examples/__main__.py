"""Run every example in order: ``python -m examples`` (what ``make demo`` runs).

Each ``examples/NN_*.py`` runs in its own Python process, as a user would run
it. They share one FalkorDB: the one at ``FALKORDB_URL`` if set, otherwise an
embedded server started here once and handed to every example through
``FALKORDB_URL``. Exits non-zero when any example fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from ._support import example_database

HERE = Path(__file__).resolve().parent


def discover() -> list[Path]:
    """The example scripts, in the order of their number."""
    return sorted(HERE.glob("[0-9][0-9]_*.py"))


def run(script: Path, url: str) -> tuple[bool, float]:
    """Run one example with its output going straight to ours; (succeeded, seconds)."""
    env = {**os.environ, "FALKORDB_URL": url}
    started = time.perf_counter()
    sys.stdout.flush()
    completed = subprocess.run([sys.executable, str(script)], env=env, check=False)
    return completed.returncode == 0, time.perf_counter() - started


def main() -> int:
    scripts = discover()
    failed: list[str] = []
    started = time.perf_counter()
    with example_database() as db:
        for script in scripts:
            title = script.stem
            print(f"\n=== {title} " + "=" * max(3, 70 - len(title)))
            ok, seconds = run(script, db.url)
            print(f"--- {title}: {'ok' if ok else 'FAILED'} ({seconds:.1f} s)")
            if not ok:
                failed.append(title)
    elapsed = time.perf_counter() - started
    passed = len(scripts) - len(failed)
    summary = f"{passed} of {len(scripts)} examples passed in {elapsed:.1f} s"
    if failed:
        summary += f"; failed: {', '.join(failed)}"
    print(f"\n{summary}")
    return 1 if failed or not scripts else 0


if __name__ == "__main__":
    sys.exit(main())
