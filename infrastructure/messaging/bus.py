"""A small in-process message bus: handlers per event type, run one after another.

Handlers subscribe to an event class; an event reaches the handlers of its
class and of every base class (subscribing to ``DomainEvent`` sees all).
A handler that raises does not stop the others: its error is logged with
its traceback and returned to the caller as a ``HandlerFailure``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

E = TypeVar("E")

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HandlerFailure:
    """A handler that raised while handling an event."""

    event: object
    handler: Callable[[Any], object]
    error: Exception


class MessageBus:
    """Handlers by event type, called synchronously in subscription order."""

    def __init__(self) -> None:
        self._handlers: dict[type, list[Callable[[Any], object]]] = {}

    def subscribe(self, event_type: type[E], handler: Callable[[E], object]) -> None:
        """Call ``handler(event)`` for every published event that is an ``event_type``."""
        if not isinstance(event_type, type):
            raise TypeError(f"subscribe to an event class, got {event_type!r}")
        if not callable(handler):
            raise TypeError(f"handler must be callable, got {handler!r}")
        self._handlers.setdefault(event_type, []).append(handler)

    def handlers_for(self, event: object) -> list[Callable[[Any], object]]:
        """The handlers an event reaches: those of its class first, then of its bases."""
        found: list[Callable[[Any], object]] = []
        for cls in type(event).__mro__:
            found.extend(self._handlers.get(cls, ()))
        return found

    def publish(self, events: Iterable[object]) -> list[HandlerFailure]:
        """Run the handlers of each event, in order; returns the handlers that raised.

        A failing handler is logged (``infrastructure.messaging.bus``) and the
        remaining handlers and events still run.
        """
        failures: list[HandlerFailure] = []
        for event in events:
            for handler in self.handlers_for(event):
                try:
                    handler(event)
                except Exception as exc:
                    logger.exception(
                        "handler %s failed on %s", getattr(handler, "__qualname__", handler), event
                    )
                    failures.append(HandlerFailure(event, handler, exc))
        return failures
