"""The FalkorDB data-access layer: mapping, repositories and units of work.

registry = Registry()
registry.map(Person, key="id", version="version")

class AppUnitOfWork(UnitOfWork):
    people: Repository[Person]

with AppUnitOfWork(db.graph("app"), registry) as uow:
    uow.people.get(alice_id).age += 1      # committed atomically on exit
"""

from .aio import AsyncRepository, AsyncSession, AsyncUnitOfWork
from .errors import (
    CommitError,
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
from .repository import Repository
from .retry import retry_on_conflict, retry_on_conflict_async
from .schema import SchemaError, ensure_key_constraints
from .unit_of_work import Session, UnitOfWork
from .wire import DatabaseUnavailableError

__all__ = [
    "AsyncRepository",
    "AsyncSession",
    "AsyncUnitOfWork",
    "CommitError",
    "CommitOutcomeUnknownError",
    "ConcurrencyError",
    "DatabaseUnavailableError",
    "DuplicateKeyError",
    "EntityMapping",
    "EntityNotFoundError",
    "FlushedWorkError",
    "IdentityConflictError",
    "MappingError",
    "PersistenceError",
    "QueryTimeoutError",
    "Registry",
    "Repository",
    "SchemaError",
    "Session",
    "UnitClosedError",
    "UnitOfWork",
    "UnsafeIdentifierError",
    "ValueEncodingError",
    "ensure_key_constraints",
    "retry_on_conflict",
    "retry_on_conflict_async",
]
