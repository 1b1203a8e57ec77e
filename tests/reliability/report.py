"""Run the long reliability suites and print their figures as one table.

``python -m tests.reliability.report`` (``make reliability``) runs pytest on
``tests/reliability`` with ``RELIABILITY=long``, collects what every suite
recorded, and prints one table; the exit status is pytest's. Extra arguments
go to pytest (``-k crash`` for one suite).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent

# (suite, figure, label, what it must be: "0", the name of an equal figure, or "")
ROWS = [
    ("crash", "faults_injected", "SIGKILLs injected", ""),
    ("crash", "commits_acknowledged", "commits acknowledged", ""),
    ("crash", "commits_found", "acknowledged commits found", "commits_acknowledged"),
    ("crash", "in_doubt", "commits in doubt", ""),
    ("crash", "in_doubt_found", "  in doubt, found whole", ""),
    ("crash", "in_doubt_absent", "  in doubt, wholly absent", ""),
    ("crash", "in_doubt_detected_on_rerun", "  landed, caught on rerun", ""),
    ("crash", "refused_not_written", "commits refused (not sent)", ""),
    ("crash", "half_applied", "half-applied commits", "0"),
    ("crash", "lost_updates", "lost updates", "0"),
    ("crash", "unclear_errors", "unclear errors", "0"),
    ("connection", "faults_injected", "kills and restarts", ""),
    ("connection", "clear_errors", "clear errors reported", ""),
    ("connection", "loading_answers", "LOADING answers, nothing written", ""),
    ("connection", "in_doubt_all_or_nothing", "in-flight commits all-or-nothing", ""),
    ("concurrency", "workers", "workers (threads + processes)", ""),
    ("concurrency", "commits_acknowledged", "commits acknowledged", ""),
    ("concurrency", "commits_found", "acknowledged commits found", "commits_acknowledged"),
    ("concurrency", "conflicts", "conflicts", ""),
    ("concurrency", "retries", "retries", ""),
    ("concurrency", "half_applied", "half-applied commits", "0"),
    ("concurrency", "lost_updates", "lost updates", "0"),
    ("hostile", "values_tried", "hostile values tried", ""),
    ("hostile", "values_accepted", "  round-tripped exactly", ""),
    ("hostile", "values_refused", "  refused (ValueEncodingError)", ""),
    ("hostile", "values_wrongly_written", "  wrongly written", "0"),
    ("hostile", "injections_tried", "injections tried (keys, criteria, names)", ""),
    ("hostile", "injections_accepted", "  accepted as plain data", ""),
    ("hostile", "injections_refused", "  refused", ""),
    ("hostile", "wrongly_written", "  graph changed", "0"),
    ("timeouts", "read_timeouts", "reads timed out", ""),
    ("timeouts", "write_timeouts", "commits timed out", ""),
    ("timeouts", "timed_out_writes_left_behind", "  entities left behind", "0"),
    ("differential", "sequences", "sequences (real unit, fake unit, model)", ""),
    ("differential", "steps", "  steps compared", ""),
    ("failover_no_wait", "failovers", "sentinel failovers (SIGKILL), no WAIT", ""),
    ("failover_no_wait", "lagged_replica", "  of them with a lagging replica", ""),
    ("failover_no_wait", "commits_acknowledged", "  commits acknowledged", ""),
    ("failover_no_wait", "acknowledged_lost", "  acknowledged commits lost", ""),
    ("failover_no_wait", "in_doubt", "  commits in doubt", ""),
    ("failover_no_wait", "in_doubt_found", "    in doubt, found whole", ""),
    ("failover_no_wait", "half_applied", "  half-applied commits", "0"),
    ("failover_no_wait", "lost_updates", "  lost updates", "0"),
    ("failover_wait", "failovers", "sentinel failovers (SIGKILL), WAIT 1", ""),
    ("failover_wait", "lagged_replica", "  of them with a lagging replica", ""),
    ("failover_wait", "commits_acknowledged", "  commits acknowledged", ""),
    ("failover_wait", "acknowledged_lost", "  acknowledged commits lost", "0"),
    ("failover_wait", "in_doubt", "  commits in doubt", ""),
    ("failover_wait", "not_replicated", "    of them not confirmed by the replica", ""),
    ("failover_wait", "in_doubt_found", "    in doubt, found whole", ""),
    ("failover_wait", "half_applied", "  half-applied commits", "0"),
    ("failover_wait", "lost_updates", "  lost updates", "0"),
    ("cluster_no_wait", "failovers", "cluster failovers (SIGKILL), no WAIT", ""),
    ("cluster_no_wait", "lagged_replica", "  of them with a lagging replica", ""),
    ("cluster_no_wait", "commits_acknowledged", "  commits acknowledged", ""),
    ("cluster_no_wait", "acknowledged_lost", "  acknowledged commits lost", ""),
    ("cluster_no_wait", "in_doubt", "  commits in doubt", ""),
    ("cluster_no_wait", "in_doubt_found", "    in doubt, found whole", ""),
    ("cluster_no_wait", "half_applied", "  half-applied commits", "0"),
    ("cluster_no_wait", "lost_updates", "  lost updates", "0"),
    ("cluster_wait", "failovers", "cluster failovers (SIGKILL), WAIT 1", ""),
    ("cluster_wait", "lagged_replica", "  of them with a lagging replica", ""),
    ("cluster_wait", "commits_acknowledged", "  commits acknowledged", ""),
    ("cluster_wait", "acknowledged_lost", "  acknowledged commits lost", "0"),
    ("cluster_wait", "in_doubt", "  commits in doubt", ""),
    ("cluster_wait", "not_replicated", "    of them not confirmed by the replica", ""),
    ("cluster_wait", "in_doubt_found", "    in doubt, found whole", ""),
    ("cluster_wait", "half_applied", "  half-applied commits", "0"),
    ("cluster_wait", "lost_updates", "  lost updates", "0"),
    ("api", "abuse_requests", "abusive requests", ""),
    ("api", "abuse_5xx", "  answered 5xx", "0"),
    ("api", "load_requests", "load requests", ""),
    ("api", "load_5xx", "  answered 5xx", "0"),
    ("api", "throughput_rps", "throughput (requests/s)", ""),
    ("api", "p99_ms", "p99 latency (ms)", ""),
]


def render(figures: dict[str, dict[str, float]]) -> tuple[str, bool]:
    """The table, and whether every figure with a required value has it."""
    lines = [f"{'suite':<16} {'figure':<42} {'value':>10}  {'must be':<22} ok"]
    lines.append("-" * len(lines[0]))
    all_ok = True
    for suite, name, label, must in ROWS:
        bucket = figures.get(suite, {})
        if name not in bucket:
            lines.append(f"{suite:<16} {label:<42} {'(not run)':>10}")
            continue
        value = bucket[name]
        shown = (
            f"{value:,.1f}"
            if isinstance(value, float) and not value.is_integer()
            else f"{int(value):,}"
        )
        if must == "0":
            ok, wanted = value == 0, "0"
        elif must:
            ok, wanted = value == bucket.get(must), f"= {must.replace('_', ' ')}"
        else:
            ok, wanted = True, ""
        all_ok &= ok
        mark = "" if not must else ("yes" if ok else "NO")
        lines.append(f"{suite:<16} {label:<42} {shown:>10}  {wanted:<22} {mark}")
    return "\n".join(lines), all_ok


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="reliability-") as tmp:
        target = Path(tmp) / "figures.json"
        env = {**os.environ, "RELIABILITY": "long", "RELIABILITY_FIGURES": str(target)}
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(HERE), *argv]
        status = subprocess.run(command, env=env, check=False).returncode
        figures = json.loads(target.read_text()) if target.exists() else {}
    table, all_ok = render(figures)
    print()
    print("Reliability figures (long run)")
    print(table)
    if status == 0 and not all_ok:
        status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
