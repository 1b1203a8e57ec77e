"""The errors of the messaging side: event encoding, outbox ordering, relaying."""

from __future__ import annotations

from infrastructure.persistence import PersistenceError


class MessagingError(PersistenceError):
    """Base of the errors raised by the outbox, the event codec and the relay."""


class EventEncodingError(MessagingError, ValueError):
    """An event cannot be turned into JSON, or a payload back into an event.

    Raised before anything is written: an unregistered event class, a field
    value of the wrong type, or a payload that does not match its class.
    """


class UnorderedEventError(MessagingError):
    """Events were recorded on an aggregate whose commit cannot order them.

    The outbox numbers an aggregate's events from the version its commit
    writes; an aggregate that is not versioned, or that this commit does not
    write, has no such version. Nothing was written.
    """
