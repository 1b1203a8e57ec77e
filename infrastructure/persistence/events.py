"""Lifecycle events of a unit of work, and the public view their handlers see.

Events, in the order they fire for one commit::

    before_flush(unit)                 may add, edit or delete entities
    before_insert(unit, write)         once per entity the flush creates
    before_update(unit, write)         once per entity it changes
    before_delete(unit, write)         once per entity it deletes
        -- the one atomic query is sent --
    after_flush(unit, written)         the query succeeded
    after_commit(unit, written)        ``commit()`` finished (everything since the last commit)
    after_rollback(unit)               the unit discarded its pending work

``unit`` is a ``UnitView`` (what the unit tracks, ``add``/``delete``, the
writes a flush would make now); ``write`` an ``EntityWrite`` (the entity, its
key, the changed property names, the version the write stores); ``written``
the ``Written`` writes of the flush or commit. Handlers never see the
identity map or the change set.

A ``before_*`` handler that raises stops the flush before anything is sent:
nothing is written and the error reaches the caller. An ``after_*`` handler
that raises is logged (logger ``falkor_uow.events``) and changes nothing: the
write stands and the other handlers still run.

Handlers come from the ``hooks=`` of a unit (objects with methods of these
names, such as ``OutboxHook``, or ``Events`` registries shared by a factory
or a container) and from ``unit.listen(...)`` on one unit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .changes import ChangeSet, Create
from .identity import IdentityMap, Status
from .writes import Written, writes_of

if TYPE_CHECKING:
    from .mapping import Registry

logger = logging.getLogger("falkor_uow.events")


class UnitState(Protocol):
    """What hooks and their view use of a unit's tracking state (``state.UnitState``)."""

    registry: Registry
    identity: IdentityMap

    def tracked_entities(self) -> list[object]: ...

    def add(self, entity: object) -> None: ...

    def delete(self, entity: object) -> None: ...

    def changes(self) -> ChangeSet: ...


#: Every event a handler can listen to, in firing order.
EVENTS = (
    "before_flush",
    "before_insert",
    "before_update",
    "before_delete",
    "after_flush",
    "after_commit",
    "after_rollback",
)
_ENTITY_EVENTS = {"insert": "before_insert", "update": "before_update", "delete": "before_delete"}

Handler = Callable[..., Any]
H = TypeVar("H", bound=Handler)


class FlushChanges:
    """The change set a ``before_flush`` handler asked for, kept for the flush while it holds.

    ``UnitView.writes`` computes it once; the view's own ``add`` and
    ``delete`` of new entities keep it up to date; anything else that may
    change what the flush writes (another handler running, a removal of a
    stored entity) drops it, and the flush compares the entities again.
    """

    __slots__ = ("changes",)

    def __init__(self) -> None:
        self.changes: ChangeSet | None = None


class UnitView:
    """What an event handler sees of a unit of work.

    ``registry``, the entities tracked, ``add``/``delete`` (in ``before_flush``
    the additions travel in the same atomic query), ``pending()``, the
    writes a flush would make now, and ``writes()``, the same computed once
    for the flush that runs the handler. ``UnitView.of(x)`` accepts a view or
    the unit's I/O-free state.
    """

    __slots__ = ("_flush", "_unit")

    def __init__(self, unit: UnitState, flush: FlushChanges | None = None) -> None:
        self._unit = unit
        self._flush = flush if flush is not None else FlushChanges()

    @staticmethod
    def of(unit: UnitView | UnitState) -> UnitView:
        return unit if isinstance(unit, UnitView) else UnitView(unit)

    @property
    def registry(self) -> Registry:
        return self._unit.registry

    def tracked_entities(self) -> list[object]:
        """Every entity the unit tracks that is not marked for deletion."""
        return self._unit.tracked_entities()

    def deleted_entities(self) -> list[object]:
        """Every entity the unit will delete at its next flush."""
        return [s.entity for s in self._unit.identity if s.status is Status.DELETED]

    def add(self, entity: object) -> None:
        """Track a new entity; in ``before_flush`` it is written by the same query."""
        unit = self._unit
        known = unit.identity.state_of(entity) is not None
        unit.add(entity)
        changes = self._flush.changes
        if changes is None or known:
            return  # re-adding a tracked entity: an un-delete drops the cache in ``delete``
        state = unit.identity.state_of(entity)
        if state is None or state.mapping.relationships:
            self._flush.changes = None  # its edges are the flush's to find
            return
        changes.creates.append(Create(state, state.mapping.encode(entity)))

    def delete(self, entity: object) -> None:
        """Mark a tracked entity for deletion (a new one is simply dropped)."""
        unit = self._unit
        state = unit.identity.state_of(entity)
        unit.delete(entity)
        changes = self._flush.changes
        if changes is None:
            return
        if state is None or state.status is not Status.NEW or state.mapping.relationships:
            self._flush.changes = None
            return
        changes.creates[:] = [c for c in changes.creates if c.state is not state]

    def pending(self) -> Written:
        """The writes a flush would make now (before ``before_*`` handlers run again).

        Raises:
            ValueEncodingError: a value cannot be stored.
        """
        return writes_of(self._unit.changes())

    def writes(self) -> Written:
        """``pending()``, computed once and handed to the flush that runs this handler.

        For a ``before_flush`` handler that adds entities according to what the
        flush writes (as ``OutboxHook`` does): the flush sends these writes
        and what the handler then adds or removes through this view, without
        comparing every tracked entity again. Change entities only through
        ``add``/``delete`` after calling it; any other handler running after
        this one makes the flush compare again.

        Raises:
            ValueEncodingError: a value cannot be stored.
        """
        changes = self._flush.changes
        if changes is None:
            changes = self._flush.changes = self._unit.changes()
        return writes_of(changes)


class Events:
    """A registry of event handlers; put it in a unit's ``hooks`` (or a factory's).

    ::

        events = Events()

        @events.on("after_commit")
        def notify(unit, written): ...

        events.listen("before_insert", stamp, entity=Person)
        BankUnitOfWork(graph, registry, hooks=[events])

    The handlers registered when a unit is made are the ones it runs.
    """

    def __init__(self) -> None:
        self._handlers: list[tuple[str, Handler, type | None]] = []

    def listen(self, event: str, handler: H, *, entity: type | None = None) -> H:
        """Run ``handler`` on ``event``; ``entity`` limits a per-entity event to one class.

        Raises:
            ValueError: ``event`` is not one of ``EVENTS``, or ``entity`` is given
                for an event that is not per entity.
            TypeError: ``handler`` is not callable.
        """
        _check(event, handler, entity)
        self._handlers.append((event, handler, entity))
        return handler

    def on(self, event: str, *, entity: type | None = None) -> Callable[[H], H]:
        """``listen`` as a decorator."""

        def register(handler: H) -> H:
            return self.listen(event, handler, entity=entity)

        return register

    def handlers(self) -> list[tuple[str, Handler, type | None]]:
        return list(self._handlers)


def _check(event: str, handler: Any, entity: type | None) -> None:
    if event not in EVENTS:
        raise ValueError(f"unknown unit-of-work event {event!r}; the events are {EVENTS}")
    if not callable(handler):
        raise TypeError(f"the handler for {event!r} must be callable, got {handler!r}")
    if entity is not None and event not in _ENTITY_EVENTS.values():
        raise ValueError(
            f"entity= applies to before_insert, before_update and before_delete, not {event!r}"
        )


class UnitEvents:
    """The handlers of one unit, and what its commit has written so far."""

    __slots__ = ("entity_handlers", "handlers", "since_commit")

    def __init__(self, hooks: Sequence[Any] = ()) -> None:
        self.handlers: dict[str, list[tuple[Handler, type | None]]] = {}
        self.entity_handlers = False
        self.since_commit: Written | None = None
        for hook in hooks:
            if isinstance(hook, Events):
                for event, handler, entity in hook.handlers():
                    self.listen(event, handler, entity=entity)
                continue
            for event in EVENTS:
                method = getattr(hook, event, None)
                if method is not None:
                    self.listen(event, method)

    def listen(self, event: str, handler: Handler, *, entity: type | None = None) -> None:
        _check(event, handler, entity)
        self.handlers.setdefault(event, []).append((handler, entity))
        if event in _ENTITY_EVENTS.values():
            self.entity_handlers = True

    # -- before the query: errors propagate, nothing is sent ------------------------

    def before_flush(self, unit: UnitState) -> ChangeSet | None:
        """Fire ``before_flush``; the change set the last handler computed, if it still holds."""
        handlers = self.handlers.get("before_flush")
        flush = FlushChanges()
        for handler, _ in handlers or ():
            flush.changes = None  # this handler may change what the flush writes
            handler(UnitView(unit, flush))
        return flush.changes

    def before_writes(self, unit: UnitState, changes: ChangeSet) -> bool:
        """Fire ``before_insert``/``update``/``delete``; True when a handler ran."""
        view, ran = UnitView(unit), False
        for write in writes_of(changes):
            for handler, entity in self.handlers.get(_ENTITY_EVENTS[write.operation], ()):
                if entity is None or isinstance(write.entity, entity):
                    handler(view, write)
                    ran = True
        return ran

    # -- after the query: errors are logged, the write stands ------------------------

    def after_flush(self, unit: UnitState, changes: ChangeSet) -> None:
        flushed, committed = self.handlers.get("after_flush"), self.handlers.get("after_commit")
        if not (flushed or committed):
            return
        written = writes_of(changes)
        if committed:
            self.since_commit = (
                written if self.since_commit is None else self.since_commit + written
            )
        if flushed:
            self._after("after_flush", flushed, UnitView(unit), written)

    def after_commit(self, unit: UnitState) -> None:
        handlers = self.handlers.get("after_commit")
        if handlers:
            written, self.since_commit = self.since_commit or Written(), None
            self._after("after_commit", handlers, UnitView(unit), written)

    def after_rollback(self, unit: UnitState) -> None:
        self.since_commit = None
        handlers = self.handlers.get("after_rollback")
        if handlers:
            self._after("after_rollback", handlers, UnitView(unit))

    @staticmethod
    def _after(event: str, handlers: list[tuple[Handler, type | None]], *args: Any) -> None:
        for handler, _ in handlers:
            try:
                handler(*args)
            except Exception:
                logger.exception("%s handler %r raised; the unit's writes stand", event, handler)
