"""Typed repositories: load, find, add and remove entities of one type.

A repository belongs to one unit of work and shares its identity map: the
same key gives the same object from every method and every repository of the
unit. ``RepositoryBase`` holds every decision; ``Repository`` (here) and
``AsyncRepository`` (in ``aio``) only run the reads.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from . import reads
from .errors import EntityNotFoundError
from .mapping import EntityMapping
from .state import UnitState

if TYPE_CHECKING:
    from .unit_of_work import UnitOfWork

T = TypeVar("T")

_PAGING = ("order_by", "limit", "offset")


class RepositoryBase(Generic[T]):
    """The I/O-free part of a repository."""

    def __init__(self, state: UnitState, mapping: EntityMapping[T]) -> None:
        self._state = state
        self.mapping = mapping

    @property
    def entity_type(self) -> type[T]:
        return self.mapping.cls

    def add(self, entity: T) -> None:
        """Track a new entity; it is written when the unit commits.

        Raises:
            TypeError: the entity is not of this repository's type.
            IdentityConflictError: another object has the same key in this unit.
        """
        self._check_type(entity)
        self._state.add(entity)

    def remove(self, entity: T) -> None:
        """Mark a tracked entity for deletion at commit.

        Raises:
            EntityNotFoundError: the entity is not tracked by this unit.
        """
        self._check_type(entity)
        self._state.delete(entity)

    def _check_type(self, entity: object) -> None:
        if type(entity) is not self.mapping.cls:
            raise TypeError(
                f"{type(entity).__name__} given to the repository of {self.mapping.name}"
            )

    def _cached(self, key: Any) -> tuple[bool, T | None]:
        self._state.check_open()
        return self._state.tracked(self.mapping, key)

    def _ordered(self, keys: Sequence[Any], loaded: Iterable[T], known: dict[Any, T]) -> list[T]:
        key_of = self.mapping.key_of
        for entity in loaded:
            known[key_of(entity)] = entity
        missing = [k for k in keys if k not in known]
        if missing:
            raise EntityNotFoundError(self.mapping.name, missing)
        return [known[k] for k in keys]

    def _split_known(self, keys: Sequence[Any]) -> tuple[dict[Any, T], list[Any], list[Any]]:
        """Keys the identity map answers, keys to read, and keys known deleted."""
        known: dict[Any, T] = {}
        to_read: list[Any] = []
        deleted: list[Any] = []
        for key in dict.fromkeys(keys):
            decided, entity = self._cached(key)
            if not decided:
                to_read.append(key)
            elif entity is None:
                deleted.append(key)
            else:
                known[key] = entity
        return known, to_read, deleted

    def _find_read(self, equals: dict[str, Any], paging: dict[str, Any]) -> reads.Read:
        self._state.check_open()
        return reads.find(self.mapping, equals, **paging)

    def _load(self, rows: Sequence[Sequence[Any]]) -> list[T]:
        return self._state.load_rows(self.mapping, rows)


class Repository(RepositoryBase[T]):
    """A typed repository of one unit of work (sync)."""

    def __init__(self, unit: UnitOfWork, mapping: EntityMapping[T]) -> None:
        super().__init__(unit.state, mapping)
        self._unit = unit

    def get(self, key: Any) -> T:
        """The entity with ``key``; from the identity map when the unit has it.

        Raises:
            EntityNotFoundError: no such entity (or it was deleted in this unit).
        """
        found = self.get_or_none(key)
        if found is None:
            raise EntityNotFoundError(self.mapping.name, [key])
        return found

    def get_or_none(self, key: Any) -> T | None:
        """The entity with ``key``, or None."""
        decided, entity = self._cached(key)
        if decided:
            return entity
        rows = self._unit.read(reads.by_key(self.mapping, key))
        loaded = self._load(rows)
        return loaded[0] if loaded else None

    def get_many(self, keys: Sequence[Any]) -> list[T]:
        """Entities for ``keys``, in that order, in at most one round trip.

        Raises:
            EntityNotFoundError: naming every key that does not exist.
        """
        known, to_read, deleted = self._split_known(keys)
        loaded: list[T] = []
        if to_read:
            loaded = self._load(self._unit.read(reads.by_keys(self.mapping, to_read)))
        if deleted:
            raise EntityNotFoundError(self.mapping.name, deleted)
        return self._ordered(keys, loaded, known)

    def exists(self, key: Any) -> bool:
        """Whether an entity with ``key`` exists (pending adds and deletes count)."""
        decided, entity = self._cached(key)
        if decided:
            return entity is not None
        return bool(self._unit.read(reads.key_exists(self.mapping, key))[0][0])

    def list(
        self,
        *,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[T]:
        """All stored entities of this type, optionally ordered (``"-age"``: descending) and paged."""
        return self.find_by(order_by=order_by, limit=limit, offset=offset)

    def find_by(
        self,
        *,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        **equals: Any,
    ) -> builtins.list[T]:
        """Stored entities whose fields equal the given values (``None`` matches unset).

        Reads what is stored: entities added in this unit are not written yet
        and are not found (see the README on why there is no autoflush).

        Raises:
            MappingError: a name is not a stored field.
            ValueEncodingError: a value cannot be compared with the field.
        """
        read = self._find_read(equals, {"order_by": order_by, "limit": limit, "offset": offset})
        return self._load(self._unit.read(read))

    def find_one_by(self, **equals: Any) -> T | None:
        """The first stored entity matching ``equals``, or None."""
        found = self.find_by(limit=1, **equals)
        return found[0] if found else None

    def count(self, **equals: Any) -> int:
        """How many stored entities match ``equals`` (all of them when empty)."""
        self._state.check_open()
        return int(self._unit.read(reads.count(self.mapping, equals))[0][0])
