"""Domain events through a transactional outbox to Redis Streams.

registry = bank_registry(); outbox = register_outbox(registry)
events = EventRegistry.of_subclasses(DomainEvent)
with BankUnitOfWork(graph, registry, hooks=[OutboxHook(events)]) as uow:
    uow.people.add(Person.register("Ada", "ada@example.com"))   # + its outbox record
OutboxRelay(GraphOutboxSource(graph, outbox), redis_client, stream="bank:events").drain()
"""

from .bus import HandlerFailure, MessageBus
from .codec import EventRegistry
from .errors import EventEncodingError, MessagingError, UnorderedEventError
from .hook import SEQUENCE_STRIDE, OutboxHook
from .outbox import (
    OUTBOX_LABEL,
    AsyncGraphOutboxSource,
    GraphOutboxSource,
    OutboxRecord,
    ensure_outbox_indexes,
    register_outbox,
)
from .relay import (
    AsyncOutboxRelay,
    AsyncOutboxSource,
    OutboxRelay,
    OutboxSource,
    RelayContentionError,
    RelayReport,
    message_fields,
)

__all__ = [
    "OUTBOX_LABEL",
    "SEQUENCE_STRIDE",
    "AsyncGraphOutboxSource",
    "AsyncOutboxRelay",
    "AsyncOutboxSource",
    "EventEncodingError",
    "EventRegistry",
    "GraphOutboxSource",
    "HandlerFailure",
    "MessageBus",
    "MessagingError",
    "OutboxHook",
    "OutboxRecord",
    "OutboxRelay",
    "OutboxSource",
    "RelayContentionError",
    "RelayReport",
    "UnorderedEventError",
    "ensure_outbox_indexes",
    "message_fields",
    "register_outbox",
]
