"""Microseconds per entity at 1,000 / 10,000 / 100,000 entities, ours and raw.

A layer whose cost per entity grows with the size of the unit (a list scanned
per entity, a snapshot copied per commit) shows it here, where a single size
would hide it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .harness import Bench
from .sync_cases import PEOPLE_CASES

SCALING_CASES = ("insert", "get_many", "update 10%", "list")
SIZES = (1_000, 10_000, 100_000)


@dataclass(frozen=True, slots=True)
class Point:
    workload: str
    n: int
    us_ours: float
    us_raw: float
    reps: int

    @property
    def ratio(self) -> float:
        return self.us_ours / self.us_raw

    def as_json(self) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "n": self.n,
            "us_per_entity": round(self.us_ours, 3),
            "raw_us_per_entity": round(self.us_raw, 3),
            "ratio": round(self.ratio, 3),
            "reps": self.reps,
        }


def run_scaling(bench: Bench, sizes: tuple[int, ...] = SIZES) -> list[Point]:
    """Best of a few runs per size (fewer for the largest: each takes seconds)."""
    points = []
    for n in sizes:
        reps = max(1, min(bench.reps, 3 if n <= 10_000 else 2))
        sized = Bench(bench.db, bench.registry, reps)
        for name in SCALING_CASES:
            make, _ = PEOPLE_CASES[name]
            best = sized.best_of(f"scale_{name.split()[0]}", *make(n, bench.registry))
            point = Point(name, n, best["ours"] * 1000 / n, best["raw"] * 1000 / n, reps)
            points.append(point)
            print(
                f"  scaling {name} n={n}: {point.us_ours:.2f} vs raw {point.us_raw:.2f} us/entity",
                flush=True,
            )
    return points


def render_scaling(points: list[Point]) -> str:
    """One row per workload, a column pair (ours / raw us per entity) per size."""
    sizes = sorted({p.n for p in points})
    head = ["us per entity", *(f"n={n:,}" for n in sizes)]
    rows = [head]
    for name in SCALING_CASES:
        cells = [name]
        for n in sizes:
            found = [p for p in points if p.workload == name and p.n == n]
            cells.append(
                f"{found[0].us_ours:.2f} / {found[0].us_raw:.2f} ({found[0].ratio:.2f}x)"
                if found
                else "-"
            )
        rows.append(cells)
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "ours / raw (ratio)\n" + "\n".join(line.rstrip() for line in lines)
