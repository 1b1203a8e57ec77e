"""The FalkorDB data-access layer: mapping, repositories and units of work.

registry = Registry()
registry.map(Person, key="id", version="version")

class AppUnitOfWork(UnitOfWork):
    people: Repository[Person]

with AppUnitOfWork(db.graph("app"), registry) as uow:
    uow.people.get(alice_id).age += 1      # committed atomically on exit
"""

from .aio import AsyncRepository, AsyncSession, AsyncUnitOfWork
from .audit import AuditHook, acting_as, current_actor
from .criteria import Criterion, F
from .errors import (
    CommitError,
    CommitFailure,
    CommitNotReplicatedError,
    CommitOutcomeUnknownError,
    ConcurrencyError,
    ConcurrentUseError,
    DanglingReferenceError,
    DatabaseUnavailableError,
    DeleteRestrictedError,
    DuplicateKeyError,
    EntityNotFoundError,
    FlushedWorkError,
    GuardFailure,
    IdentityConflictError,
    MappingError,
    NotTrackedError,
    OtherFailure,
    PersistenceError,
    QueryTimeoutError,
    ReadOnlyQueryError,
    RelationshipNotLoadedError,
    SchemaError,
    SearchQueryError,
    StoredValueError,
    TimeoutFailure,
    UniqueFailure,
    UnitClosedError,
    UnsafeIdentifierError,
    ValueEncodingError,
)
from .events import Events, UnitView
from .mapping import EntityMapping, Registry
from .observe import QUERY_LOGGER, configure_query_log
from .preview import CommitPreview
from .queries import Page, Slice
from .relationships import Relationship, to_many, to_one
from .repository import Repository
from .retry import (
    UnitRun,
    retry_on_conflict,
    retry_on_conflict_async,
    run_idempotent,
    run_idempotent_async,
)
from .schema import SchemaItem, SchemaReport, describe_schema, ensure_key_constraints, ensure_schema
from .unit_of_work import Session, UnitOfWork
from .vectors import Vector, as_vector
from .writes import FIRST_VERSION, EntityWrite, Written, next_version

__all__ = [
    "FIRST_VERSION",
    "QUERY_LOGGER",
    "AsyncRepository",
    "AsyncSession",
    "AsyncUnitOfWork",
    "AuditHook",
    "CommitError",
    "CommitFailure",
    "CommitNotReplicatedError",
    "CommitOutcomeUnknownError",
    "CommitPreview",
    "ConcurrencyError",
    "ConcurrentUseError",
    "Criterion",
    "DanglingReferenceError",
    "DatabaseUnavailableError",
    "DeleteRestrictedError",
    "DuplicateKeyError",
    "EntityMapping",
    "EntityNotFoundError",
    "EntityWrite",
    "Events",
    "F",
    "FlushedWorkError",
    "GuardFailure",
    "IdentityConflictError",
    "MappingError",
    "NotTrackedError",
    "OtherFailure",
    "Page",
    "PersistenceError",
    "QueryTimeoutError",
    "ReadOnlyQueryError",
    "Registry",
    "Relationship",
    "RelationshipNotLoadedError",
    "Repository",
    "SchemaError",
    "SchemaItem",
    "SchemaReport",
    "SearchQueryError",
    "Session",
    "Slice",
    "StoredValueError",
    "TimeoutFailure",
    "UniqueFailure",
    "UnitClosedError",
    "UnitOfWork",
    "UnitRun",
    "UnitView",
    "UnsafeIdentifierError",
    "ValueEncodingError",
    "Vector",
    "Written",
    "acting_as",
    "as_vector",
    "configure_query_log",
    "current_actor",
    "describe_schema",
    "ensure_key_constraints",
    "ensure_schema",
    "next_version",
    "retry_on_conflict",
    "retry_on_conflict_async",
    "run_idempotent",
    "run_idempotent_async",
    "to_many",
    "to_one",
]
