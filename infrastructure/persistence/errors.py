"""The errors the data-access layer raises.

Every error names what was wrong (the entity type, the key, the field) and
what to do about it. They form one small hierarchy so callers can catch
``PersistenceError`` for all of them, or one kind precisely. Every exception
class of the layer is defined here (the last ones are internal: ``Refused``,
which the generated encoders raise and their callers catch, and the kinds of
commit failure, ``CommitFailure`` and its subclasses, which the unit
explains with the errors above).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


class PersistenceError(Exception):
    """Base of every error raised by the data-access layer."""


class MappingError(PersistenceError):
    """A class is unmapped, or its mapping is invalid."""


class UnsafeIdentifierError(MappingError):
    """A label, relationship type or property name is not a safe identifier."""


class ValueEncodingError(PersistenceError):
    """A value cannot be stored exactly; nothing was written."""


class StoredValueError(PersistenceError, ValueError):
    """A stored node holds a value its mapped field cannot take; nothing was loaded.

    ``label``, ``key``, ``property`` and ``value`` name the node and what it
    holds; ``why`` says what does not fit. List such nodes with
    ``repository.undecodable()`` (or ``python -m app check``), then fix them
    with a Cypher ``SET`` or give the field a default or a wider type.
    """

    def __init__(self, label: str, key: Any, prop: str, value: Any, why: str) -> None:
        self.label = label
        self.key = key
        self.property = prop
        self.value = value
        self.why = why
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(
            f"stored {label} node {key!r}: property {prop!r} holds {shown}: {why}. "
            f"Fix the stored value (MATCH (n:{label}) WHERE ... SET n.{prop} = ...; "
            "repository.undecodable() lists such nodes) or the mapping (a default, a wider type)"
        )


class EntityNotFoundError(PersistenceError, LookupError):
    """No entity of the requested type has the requested key."""

    def __init__(self, entity: str, keys: Sequence[Any]) -> None:
        self.entity = entity
        self.keys = list(keys)
        shown = ", ".join(repr(k) for k in self.keys)
        noun = "key" if len(self.keys) == 1 else "keys"
        super().__init__(f"no {entity} with {noun} {shown}")


class IdentityConflictError(PersistenceError):
    """A second, different object was added under a key the unit already tracks."""


class NotTrackedError(PersistenceError, LookupError):
    """The entity given is not tracked by this unit (loaded elsewhere, or its unit closed)."""


class ReadOnlyQueryError(PersistenceError):
    """Cypher that writes was sent where only reads run (``repository.query``); nothing ran."""


class ConcurrentUseError(PersistenceError):
    """One unit of work was used from two threads or two tasks at the same time."""


class UnitClosedError(PersistenceError):
    """The unit of work was used after ``close()``."""


class FlushedWorkError(PersistenceError):
    """``rollback()`` was asked to undo work that ``flush()`` already wrote.

    FalkorDB has no transaction that spans queries: each flush is its own
    atomic, durable write. The rollback still discarded everything pending
    since that flush and restored the entities to their flushed state.
    """


class ResultPendingError(PersistenceError):
    """A set-based change's count was asked for before its commit succeeded."""


class CommitError(PersistenceError):
    """The commit query failed; nothing of it was written."""


class DuplicateKeyError(CommitError):
    """A create collided with an existing entity's key (a unique constraint)."""


class CardinalityError(CommitError):
    """A ``to_one`` would hold two targets, or a required one none; nothing was written."""


class ConcurrencyError(CommitError):
    """Another unit changed or deleted entities this unit loaded; nothing was written.

    ``stale`` lists ``(entity type name, key)`` for each entity whose stored
    version no longer matched. Rerun the whole unit from fresh reads (see
    ``retry_on_conflict``).
    """

    def __init__(self, stale: Iterable[tuple[str, Any]]) -> None:
        self.stale = list(stale)
        shown = ", ".join(f"{name}[{key!r}]" for name, key in self.stale) or "unknown entities"
        super().__init__(
            f"concurrent modification: {shown} changed or vanished since this unit loaded "
            "them; nothing was written. Rerun the unit from fresh reads."
        )


class CommitOutcomeUnknownError(CommitError):
    """The connection dropped while a commit was in flight: it may or may not be applied.

    Never resend the same commit: rerun the whole unit from fresh reads, where
    version checks and unique keys turn a second application into a conflict.
    """


class QueryTimeoutError(PersistenceError, TimeoutError):
    """A query ran past its timeout; a write that timed out left nothing behind."""


class CommitNotReplicatedError(CommitOutcomeUnknownError):
    """The primary applied the commit, but fewer replicas than required confirmed it in time.

    Raised only when replica acknowledgement is on (``Database(replicas=N)``
    or ``?replicas=N`` in the URL). What the caller may assume:

    - the commit was applied, whole, on the primary that answered, and reads
      from that primary see it;
    - it is NOT known to be replicated: ``confirmed`` of ``required`` replicas
      had it after ``timeout_ms``. It reaches the others when they catch up;
      if the primary fails before that, the promoted replica may lack it and
      the commit is lost.

    So its outcome is in doubt, as for a dropped connection (hence the base
    class): never resend it; rerun the unit from fresh reads, asking first
    whether it landed (``run_idempotent`` does, and counts it in
    ``UnitRun.unreplicated``).
    """

    def __init__(self, required: int, confirmed: int, timeout_ms: int) -> None:
        self.required = required
        self.confirmed = confirmed
        self.timeout_ms = timeout_ms
        super().__init__(
            f"the commit was applied on the primary, but only {confirmed} of the {required} "
            f"required replica(s) confirmed it within {timeout_ms} ms: it is not known to be "
            "replicated, and a failover before the replicas catch up can lose it. Do not "
            "resend it: rerun the unit from fresh reads, checking first whether it landed."
        )


class RelationshipNotLoadedError(PersistenceError):
    """An unloaded relationship was touched where it cannot be loaded."""


class DanglingReferenceError(PersistenceError):
    """A relationship would point at an entity the same unit deletes."""


class DeleteRestrictedError(PersistenceError):
    """A delete was refused by a ``restrict`` rule; nothing was written."""


class SchemaError(PersistenceError):
    """A constraint could not be created or did not become operational."""


class SearchQueryError(PersistenceError):
    """The server refused a vector or full-text query (no such index, bad query syntax)."""


class DatabaseUnavailableError(PersistenceError, ConnectionError):
    """The server could not be reached or was not ready; nothing was written.

    Raised for reads that failed on the connection, and for commits that
    were never sent (connection refused, the server still loading its data,
    no free pooled connection). Retrying later is safe.
    """


class Refused(Exception):
    """Raised by generated encoders (``compiled``); the caller walks the fields for the real error.

    Internal: it never leaves the layer.
    """


# -- what a failed commit query reported, classified by ``failures.classify`` --------
#
# Internal too: the unit turns each kind into one of the errors above
# (``diagnosis.explain``); the in-memory store raises them itself.


class CommitFailure(Exception):
    """A commit query the store refused, classified; nothing of it was written.

    Not raised to callers of a unit: the unit explains it with a
    ``PersistenceError`` (``ConcurrencyError``, ``DuplicateKeyError``,
    ``QueryTimeoutError``, ``CommitError``...).
    """

    @property
    def message(self) -> str:
        return str(self)


class GuardFailure(CommitFailure):
    """The commit's guard fired: a count was not what the commit expected."""


class UniqueFailure(CommitFailure):
    """A unique constraint refused a value the commit writes."""


class TimeoutFailure(CommitFailure):
    """The commit ran past its timeout (the server undid it)."""


class OtherFailure(CommitFailure):
    """The server refused the commit for another reason."""
