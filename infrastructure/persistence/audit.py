"""Audit fields stamped in the same commit: ``created_at``, ``updated_at`` and who did it.

``AuditHook`` listens to ``before_insert`` and ``before_update`` (see
``events``): an entity the flush creates gets ``created_at`` (unless it holds
one already) and ``updated_at``; one it changes gets ``updated_at``. With an
actor set in ``current_actor`` (``acting_as("alice")``), ``created_by`` and
``updated_by`` are stamped the same way. Only fields the entity's mapping
stores are touched, so classes without them are left alone. The stamps are
part of the flush's one atomic query: a failed commit stamps nothing stored.

::

    with acting_as("alice"):
        with BankUnitOfWork(graph, registry, hooks=[AuditHook()]) as uow:
            uow.accounts.get(account_id).deposit(Money.of(5))  # updated_at, updated_by set
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from .events import UnitView
from .writes import EntityWrite

#: Who is acting, for ``created_by``/``updated_by`` (None: nobody is named).
current_actor: ContextVar[str | None] = ContextVar("falkor_uow_actor", default=None)


@contextmanager
def acting_as(actor: str | None) -> Iterator[None]:
    """Name ``actor`` as the one making changes inside the block (this task/thread only)."""
    token = current_actor.set(actor)
    try:
        yield
    finally:
        current_actor.reset(token)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AuditHook:
    """Stamps audit fields on the entities a flush creates and changes.

    Args:
        created_at, updated_at, created_by, updated_by: the field names
            (None: never stamp that one).
        clock: the time stamped, UTC by default.
        actor: the context variable naming who acts.
    """

    def __init__(
        self,
        *,
        created_at: str | None = "created_at",
        updated_at: str | None = "updated_at",
        created_by: str | None = "created_by",
        updated_by: str | None = "updated_by",
        clock: Callable[[], datetime] = _utc_now,
        actor: ContextVar[str | None] = current_actor,
    ) -> None:
        self.created_at, self.updated_at = created_at, updated_at
        self.created_by, self.updated_by = created_by, updated_by
        self.clock = clock
        self.actor = actor

    def before_insert(self, unit: UnitView, write: EntityWrite) -> None:
        self._stamp(unit, write.entity, created=True)

    def before_update(self, unit: UnitView, write: EntityWrite) -> None:
        self._stamp(unit, write.entity, created=False)

    def _stamp(self, unit: UnitView, entity: Any, *, created: bool) -> None:
        stored = unit.registry.mapping_for(type(entity)).field_names
        names = (self.created_at, self.created_by) if created else ()
        if not any(name in stored for name in (*names, self.updated_at, self.updated_by)):
            return  # a class without audit fields
        now, actor = self.clock(), self.actor.get()
        if created:
            for name, value in ((self.created_at, now), (self.created_by, actor)):
                if name in stored and getattr(entity, name) is None:
                    setattr(entity, name, value)
        if self.updated_at in stored:
            setattr(entity, self.updated_at, now)
        if self.updated_by in stored:
            setattr(entity, self.updated_by, actor)
