"""``uow.plan()``: what a commit would send now, without sending it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from .changes import ChangeSet
from .observe import fingerprint, shapes
from .planner import CommitPlan, _distinct_edges


@dataclass(frozen=True, slots=True)
class CommitPreview:
    """The one query a commit would send, and what it would do.

    ``query`` and ``params`` are exactly what would be sent; ``shapes`` the
    parameters without their values (``rows[3]``); ``counts`` the entities
    and edges per (label or relationship type, operation); ``guards`` the
    counts the query checks before it writes (block name, expected count):
    any other count aborts the whole commit with nothing written.
    """

    query: str
    params: dict[str, Any]
    shapes: dict[str, str]
    counts: dict[tuple[str, str], int]
    guards: tuple[tuple[str, int], ...]

    @property
    def fingerprint(self) -> str:
        """The digest of ``query`` that the query log and spans name."""
        return fingerprint(self.query)

    def __str__(self) -> str:
        lines = [f"commit {self.fingerprint}: one atomic query"]
        lines += [f"  {op:<7} {what}: {n}" for (what, op), n in sorted(self.counts.items())]
        if self.guards:
            lines.append("  guards: " + ", ".join(f"{name} = {n}" for name, n in self.guards))
        lines.append("  params: " + ", ".join(f"{k}:{v}" for k, v in self.shapes.items()))
        lines.append(self.query)
        return "\n".join(lines)


def preview(plan: CommitPlan, changes: ChangeSet) -> CommitPreview:
    counts: Counter[tuple[str, str]] = Counter()
    for operation, items in (
        ("create", changes.creates),
        ("update", changes.updates),
        ("delete", changes.deletes),
    ):
        for item in items:
            counts[(item.state.mapping.label, operation)] += 1
    for operation, writes in (
        ("link", changes.links),
        ("relink", changes.relinks),
        ("unlink", changes.unlinks),
    ):
        for write in _distinct_edges(writes):  # an edge held from both ends is written once
            counts[(write.rel.type, operation)] += 1
    return CommitPreview(plan.query, plan.params, shapes(plan.params), dict(counts), plan.guards)
