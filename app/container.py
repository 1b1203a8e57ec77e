"""The dependency-injector container: settings in, database, units of work and services out.

It is the one place that names concrete infrastructure classes. Tests swap
any provider, e.g. the units of work for the in-memory fakes::

    container = create_container(Settings(falkordb_graph="test"))
    store = FakeStore()
    container.async_unit_of_work.override(
        providers.Factory(FakeAsyncBankUnitOfWork, store, bank_registry())
    )
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import redis
from dependency_injector import containers, providers

from domain.events import DomainEvent
from infrastructure.bank import AsyncBankUnitOfWork, BankUnitOfWork, bank_registry
from infrastructure.messaging import (
    AsyncGraphOutboxSource,
    AsyncOutboxRelay,
    EventRegistry,
    GraphOutboxSource,
    MessageBus,
    OutboxHook,
    OutboxRecord,
    OutboxRelay,
    register_outbox,
)
from infrastructure.persistence import (
    AuditHook,
    ConcurrencyError,
    Events,
    Registry,
    configure_query_log,
    ensure_schema,
    retry_on_conflict,
    retry_on_conflict_async,
)
from infrastructure.server import Database

from .services import AsyncBankService, BankService
from .settings import Settings

R = TypeVar("R")


class ConflictRetry:
    """The retry policy services get: rerun a unit that raised ``ConcurrencyError``."""

    def __init__(self, attempts: int = 10) -> None:
        self.attempts = attempts

    def run(self, work: Callable[[], R]) -> R:
        return retry_on_conflict(work, attempts=self.attempts, retry_on=(ConcurrencyError,))

    async def run_async(self, work: Callable[[], Awaitable[R]]) -> R:
        return await retry_on_conflict_async(
            work, attempts=self.attempts, retry_on=(ConcurrencyError,)
        )


def open_database(
    url: str | None,
    data_dir: Path,
    appendfsync: Any,
    max_connections: int,
    socket_timeout_s: float | None = None,
) -> Iterator[Database]:
    """The database for the container's lifetime.

    With no ``url``, the shared embedded server of ``data_dir``: started when
    no process runs it, stopped on close when no other process uses it.
    """
    database = Database(
        url,
        data_dir=None if url else data_dir,
        appendfsync=appendfsync,
        max_connections=max_connections,
        socket_timeout_s=socket_timeout_s,
    )
    database.open()
    try:
        yield database
    finally:
        database.close()


def application_registry() -> Registry:
    """The bank's mappings and the outbox's."""
    registry = bank_registry(unique_emails=True)
    register_outbox(registry)
    return registry


def prepared_graph(database: Database, name: str, registry: Registry) -> Any:
    """The sync graph handle, with the constraints and indexes of ``registry`` in place.

    FalkorDB appends each constraint it creates to the append-only file twice
    (the command, and again once it is built); replaying the second copy logs
    a CRITICAL "Constraint already exists" at every later start. After
    creating any, the embedded server's AOF is rewritten into a snapshot.
    """
    graph = database.graph(name)
    report = ensure_schema(graph, registry)
    if report.created and database.server is not None:
        compact_append_only_file(database.client.connection)
    return graph


def compact_append_only_file(connection: Any, timeout_s: float = 60.0) -> None:
    """Rewrite the server's append-only file (BGREWRITEAOF) and wait until it is done."""
    if not connection.info("persistence").get("aof_enabled"):
        return
    try:
        connection.bgrewriteaof()
    except redis.ResponseError as exc:  # one is already running: wait for it
        if "in progress" not in str(exc):
            raise
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        info = connection.info("persistence")
        if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
            return
        time.sleep(0.01)


def open_async_graph(database: Database, prepared: Any, name: str) -> Any:
    """The async graph handle (create it inside the event loop that will use it)."""
    return database.async_graph(name)


class Container(containers.DeclarativeContainer):
    config = providers.Configuration(strict=True)

    database = providers.Resource(
        open_database,
        url=config.falkordb_url,
        data_dir=config.falkordb_data_dir,
        appendfsync=config.falkordb_appendfsync,
        max_connections=config.falkordb_max_connections,
        socket_timeout_s=config.falkordb_socket_timeout_s,
    )
    registry = providers.Singleton(application_registry)
    graph = providers.Singleton(prepared_graph, database, config.falkordb_graph, registry)
    # Depends on ``graph`` so the constraints exist before the first async unit.
    async_graph = providers.Singleton(open_async_graph, database, graph, config.falkordb_graph)

    # Domain events: written as outbox records in each unit's commit, handed to
    # in-process handlers after it, and relayed to a Redis Stream.
    events = providers.Singleton(EventRegistry.of_subclasses, DomainEvent)
    message_bus = providers.Singleton(MessageBus)
    outbox_hook = providers.Singleton(OutboxHook, events, bus=message_bus)
    # Stamps Account.created_at/updated_at/updated_by (the actor: audit.acting_as).
    audit_hook = providers.Singleton(AuditHook)
    # Lifecycle handlers every unit runs: ``container.unit_events().listen("after_commit", f)``.
    unit_events = providers.Singleton(Events)
    hooks = providers.List(outbox_hook, audit_hook, unit_events)  # every unit gets these
    outbox = providers.Callable(lambda registry: registry.mapping_for(OutboxRecord), registry)
    relay = providers.Factory(
        OutboxRelay,
        providers.Factory(GraphOutboxSource, graph, outbox),
        database.provided.client.connection,
        stream=config.app_outbox_stream,
    )
    async_relay = providers.Factory(
        AsyncOutboxRelay,
        providers.Factory(AsyncGraphOutboxSource, async_graph, outbox),
        async_graph.provided.client.connection,
        stream=config.app_outbox_stream,
    )

    unit_of_work = providers.Factory(BankUnitOfWork, graph, registry, hooks=hooks)
    async_unit_of_work = providers.Factory(AsyncBankUnitOfWork, async_graph, registry, hooks=hooks)

    retry = providers.Singleton(ConflictRetry, attempts=config.app_retry_attempts)
    bank_service = providers.Factory(BankService, uow_factory=unit_of_work.provider, retry=retry)
    async_bank_service = providers.Factory(
        AsyncBankService, uow_factory=async_unit_of_work.provider, retry=retry
    )


def create_container(settings: Settings | None = None) -> Container:
    """A container configured from ``settings`` (default: the environment)."""
    settings = settings or Settings()
    container = Container()
    container.config.from_pydantic(settings)
    configure_query_log(
        echo=settings.falkordb_echo,
        show_values=settings.falkordb_log_values,
        slow_ms=settings.falkordb_slow_query_ms,
    )
    return container
