"""The FalkorDB data-access layer: mapping, repositories and units of work.

registry = Registry()
registry.map(Person, key="id", version="version")

class AppUnitOfWork(UnitOfWork):
    people: Repository[Person]

with AppUnitOfWork(db.graph("app"), registry) as uow:
    uow.people.get(alice_id).age += 1      # committed atomically on exit
"""

from .aio import AsyncRepository, AsyncSession, AsyncUnitOfWork
from .criteria import Criterion, F
from .errors import (
    CommitError,
    CommitNotReplicatedError,
    CommitOutcomeUnknownError,
    ConcurrencyError,
    DuplicateKeyError,
    EntityNotFoundError,
    FlushedWorkError,
    IdentityConflictError,
    MappingError,
    PersistenceError,
    QueryTimeoutError,
    UnitClosedError,
    UnsafeIdentifierError,
    ValueEncodingError,
)
from .mapping import EntityMapping, Registry
from .queries import Page, Slice
from .relationships import (
    DanglingReferenceError,
    DeleteRestrictedError,
    Relationship,
    RelationshipNotLoadedError,
    to_many,
    to_one,
)
from .repository import Repository
from .retry import (
    UnitRun,
    retry_on_conflict,
    retry_on_conflict_async,
    run_idempotent,
    run_idempotent_async,
)
from .schema import (
    SchemaError,
    SchemaItem,
    SchemaReport,
    describe_schema,
    ensure_key_constraints,
    ensure_schema,
)
from .unit_of_work import Session, UnitOfWork
from .wire import DatabaseUnavailableError

__all__ = [
    "AsyncRepository",
    "AsyncSession",
    "AsyncUnitOfWork",
    "CommitError",
    "CommitNotReplicatedError",
    "CommitOutcomeUnknownError",
    "ConcurrencyError",
    "Criterion",
    "DanglingReferenceError",
    "DatabaseUnavailableError",
    "DeleteRestrictedError",
    "DuplicateKeyError",
    "EntityMapping",
    "EntityNotFoundError",
    "F",
    "FlushedWorkError",
    "IdentityConflictError",
    "MappingError",
    "Page",
    "PersistenceError",
    "QueryTimeoutError",
    "Registry",
    "Relationship",
    "RelationshipNotLoadedError",
    "Repository",
    "SchemaError",
    "SchemaItem",
    "SchemaReport",
    "Session",
    "Slice",
    "UnitClosedError",
    "UnitOfWork",
    "UnitRun",
    "UnsafeIdentifierError",
    "ValueEncodingError",
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
