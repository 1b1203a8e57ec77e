"""The FalkorDB data-access layer: mapping, repositories and units of work.

registry = Registry()
registry.map(Person, key="id", version="version")

class AppUnitOfWork(UnitOfWork):
    people: Repository[Person]

with AppUnitOfWork(db.graph("app"), registry) as uow:
    uow.people.get(alice_id).age += 1      # committed atomically on exit

Reading map: the module to open for a question, in the order data flows.

1. Declaring
   - how a dataclass maps onto nodes ............ mapping (fields, relationships, vectors)
   - how one field value is stored and read ...... codec, readers, compiled, careful
   - which names may reach query text ............ names
   - which indexes and constraints exist ......... schema
2. Reading (sans-I/O conversations, one per query, run by the sync and the async shell)
   - the protocol itself ......................... conversation
   - get / get_many / find / pages / cursors ..... reads, finders, criteria
   - pending changes seen by a query ............. overlay
   - your own Cypher ............................. custom, and repository.RepositoryBase
   - vector and full-text search ................. search
   - rows becoming tracked entities .............. loading, identity
3. Tracking (the unit's core, no I/O)
   - what the unit knows of each entity .......... identity (InstanceState), state (UnitState)
   - what changed since loading .................. changes
   - what a flush writes besides the edits ....... cascades
   - upserts and set-based changes, queued ....... bulk (F arithmetic: expressions)
   - at most one edge behind a to_one ............ cardinality
   - detached objects: merge, refresh, expunge ... detached
4. Committing
   - one change set into one Cypher query ........ planner (guards from failures), bulk_plan
   - what hooks see, and the version rule ........ writes, events, audit
   - what a commit would send now ................ preview
   - why a commit failed ......................... failures, diagnosis, wire, errors
5. Shells (all I/O lives here)
   - sync ........................................ unit_of_work, repository
   - async ....................................... aio
   - running a unit again ........................ retry
   - what was sent, logged and traced ............ observe
   - repositories declared on a unit class ....... declared
"""

from .aio import AsyncRepository, AsyncSession, AsyncUnitOfWork
from .audit import AuditHook, acting_as, current_actor
from .bulk import Affected
from .conversation import AsyncReader, Conversation, Reader, Rows, drive, drive_async
from .criteria import Criterion, F
from .errors import (
    CardinalityError,
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
    ResultPendingError,
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
from .finders import Page, Slice
from .mapping import EntityMapping, Registry
from .observe import QUERY_LOGGER, configure_query_log
from .preview import CommitPreview
from .reads import Read
from .relationships import Relationship, to_many, to_one
from .repository import Repository, RepositoryBase
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
    "Affected",
    "AsyncReader",
    "AsyncRepository",
    "AsyncSession",
    "AsyncUnitOfWork",
    "AuditHook",
    "CardinalityError",
    "CommitError",
    "CommitFailure",
    "CommitNotReplicatedError",
    "CommitOutcomeUnknownError",
    "CommitPreview",
    "ConcurrencyError",
    "ConcurrentUseError",
    "Conversation",
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
    "Read",
    "ReadOnlyQueryError",
    "Reader",
    "Registry",
    "Relationship",
    "RelationshipNotLoadedError",
    "Repository",
    "RepositoryBase",
    "ResultPendingError",
    "Rows",
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
    "drive",
    "drive_async",
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
