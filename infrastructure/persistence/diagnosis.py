"""What a failed commit stands for: the error that names what went wrong. No I/O.

The failed query wrote nothing. ``explain`` reads back, in one fixed
order, what the commit's checks found (``failures`` tells the kind of
failure the server or the in-memory store reported), and returns the error
to raise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import reads
from .cardinality import over, refused
from .conversation import Conversation
from .errors import (
    CommitError,
    ConcurrencyError,
    DeleteRestrictedError,
    DuplicateKeyError,
    PersistenceError,
)
from .failures import CommitFailure, GuardFailure, TimeoutFailure, UniqueFailure
from .planner import CommitPlan, existing_keys_probe, restrict_probe, stale_keys, stale_probe
from .reads import Attached, ExistingKeys, Read, Versions
from .wire import commit_timed_out


def explain(
    plan: CommitPlan, failure: CommitFailure, timeout_ms: int | None = None
) -> Conversation[PersistenceError]:
    """Turn a failed commit into the error that names what went wrong.

    Yields the reads it needs and returns the error to raise. A timeout
    needs no read (``QueryTimeoutError``). Otherwise which check of the
    query fired first depends on its shape, so the cause is read back in one
    fixed order, whatever the store said: entities stale or gone
    (``ConcurrencyError``: rerunning from fresh reads is the cure, and may
    avoid the rest), then keys already taken (``DuplicateKeyError``), then
    ``restrict`` rules that still hold targets (``DeleteRestrictedError``).
    """
    message = failure.message
    if isinstance(failure, TimeoutFailure):
        return commit_timed_out(failure, timeout_ms)
    stale: list[tuple[str, Any]] = []
    for batch in plan.checked:
        if batch.operation not in ("update", "delete"):
            continue
        query, params = stale_probe(batch)
        asked = [k for k, _ in batch.rows]
        rows = yield Read(query, params, Versions(batch.mapping, asked, batch.olds or None))
        stale.extend((batch.mapping.name, k) for k in stale_keys(batch, rows))
    if stale:
        return ConcurrencyError(stale)
    taken: list[str] = []
    for mapping, keys in plan.created:
        query, params = existing_keys_probe(mapping, keys)
        rows = yield Read(query, params, ExistingKeys(mapping, keys))
        decode = mapping.key_codec.decode
        taken.extend(f"{mapping.name}[{decode(r[0])!r}]" for r in rows)
    if taken:
        return _duplicate(taken, message)
    for rule in plan.restricted:
        query, params = restrict_probe(rule)
        rows = yield Read(query, params, Attached(rule.rel, rule.source, rule.removed))
        if rows:
            rel = rule.rel
            holder = f"{rel.source.name}[{rel.source.key_codec.decode(rule.source)!r}]"
            attached = ", ".join(
                f"{rel.target.name}[{rel.target.key_codec.decode(r[0])!r}]" for r in rows
            )
            return DeleteRestrictedError(
                f"{holder} cannot be deleted: its {rel.name!r} relationship (restrict) "
                f"still holds {attached}; remove those first. Nothing was written."
            )
    for check in plan.one_at_most:
        holders = [check.rel.source.key_codec.decode(h) for h in check.added]
        found = over(check, (yield reads.related(check.rel, holders)))
        if found:
            return refused(found)
    if isinstance(failure, GuardFailure) and plan.refusals:
        return DeleteRestrictedError(plan.refusals[0])  # a delete_where's own guard
    if isinstance(failure, UniqueFailure):
        return DuplicateKeyError(
            f"an entity already holds a unique value this commit writes; nothing was "
            f"written ({message})"
        )
    if isinstance(failure, GuardFailure):
        return ConcurrencyError(stale)
    return CommitError(f"commit failed, nothing was written: {message}")


def _duplicate(taken: Sequence[str], message: str) -> DuplicateKeyError:
    shown = ", ".join(taken) or "an entity"
    return DuplicateKeyError(
        f"{shown} already exists; nothing was written ({message}). An object from "
        "another unit (detached, cached, rebuilt from a request) that stands for a "
        "stored entity is saved with uow.merge(obj), not add"
    )
