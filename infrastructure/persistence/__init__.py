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
    IdentityConflictError,
    MappingError,
    NotTrackedError,
    PersistenceError,
    QueryTimeoutError,
    ReadOnlyQueryError,
    RelationshipNotLoadedError,
    SchemaError,
    SearchQueryError,
    StoredValueError,
    UnitClosedError,
    UnsafeIdentifierError,
    ValueEncodingError,
)
from .events import EntityWrite, Events, UnitView, Written
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

__all__ = [
    "QUERY_LOGGER",
    "AsyncRepository",
    "AsyncSession",
    "AsyncUnitOfWork",
    "AuditHook",
    "CommitError",
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
    "IdentityConflictError",
    "MappingError",
    "NotTrackedError",
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
    "retry_on_conflict",
    "retry_on_conflict_async",
    "run_idempotent",
    "run_idempotent_async",
    "to_many",
    "to_one",
]
