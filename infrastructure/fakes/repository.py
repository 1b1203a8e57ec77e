"""Fake repositories: the real repositories, their reads answered from a ``FakeStore``.

Every read method of the real repository is a conversation (``RepositoryBase``:
it yields the query it needs, receives the rows, and decides everything
else: identity map, pending changes overlaid on queries, ordering and paging
of them, errors). The fakes run those very conversations and answer each
query from the store instead of the server, knowing what was asked (which
keys, which criterion, which order). Only the answering is theirs.

Custom Cypher (``query``, ``query_entities``) cannot be answered in memory
and raises ``FakeQueryError``; relationships are not modelled.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from infrastructure.persistence.aio import AsyncRepository
from infrastructure.persistence.criteria import (
    Always,
    Criterion,
    OrderKey,
    after,
    combine,
    from_equals,
    parse_order,
)
from infrastructure.persistence.mapping import EntityMapping
from infrastructure.persistence.queries import Page, Slice, _decode_cursor
from infrastructure.persistence.reads import Read
from infrastructure.persistence.repository import Loads, Repository, RepositoryBase, drive

from .store import FakeStore

if TYPE_CHECKING:
    from .unit_of_work import FakeAsyncUnitOfWork, FakeUnitOfWork

T = TypeVar("T")

Rows = list[list[Any]]
Answer = Callable[[Read], Rows]


def _is_count(read: Read) -> bool:
    return read.query.rstrip().endswith("RETURN count(n)")


class MemoryReads(RepositoryBase[T]):
    """Answers the real repository's queries from the store (shared by sync and async)."""

    _store: FakeStore

    def _answer_keys(self, read: Read) -> Rows:
        """Answers ``reads.by_key`` / ``reads.by_keys``: the stored rows of those keys."""
        params = read.params
        return self._store.rows(
            self.mapping, params["keys"] if "keys" in params else [params["key"]]
        )

    def _answer_exists(self, read: Read) -> Rows:
        return [[self._store.contains(self.mapping, read.params["key"])]]

    def _answer_matching(
        self, where: Criterion | None, order_by: str | Sequence[str] | None
    ) -> Answer:
        """Answers the queries of ``find``/``count``/``page``: rows matching ``where``."""
        return self._answer_ordered(where, lambda: parse_order(self.mapping, order_by))

    def _answer_ordered(
        self, where: Criterion | None, order: Callable[[], Sequence[OrderKey]]
    ) -> Answer:
        # ``order`` is worked out on the first query only: until then the real
        # conversation validates its arguments in its own order.
        criterion = where or Always()

        def answer(read: Read) -> Rows:
            if _is_count(read):
                return [[self._store.count(self.mapping, criterion)]]
            return self._store.select(
                self.mapping,
                criterion,
                order(),
                limit=read.params.get("limit"),
                offset=read.params.get("offset"),
            )

        return answer

    def _answer_keyset(
        self, where: Criterion | None, order_by: str | Sequence[str] | None, cursor: str | None
    ) -> Answer:
        """Answers ``keyset``: its query asks for what follows ``cursor`` in a total order."""

        def condition_and_order() -> tuple[Criterion, list[OrderKey]]:
            # As ``queries.keyset`` builds them: the key breaks ties last.
            order = parse_order(self.mapping, order_by)
            if all(k.field != self.mapping.key_property for k in order):
                order.append(OrderKey(self.mapping.key_property, False))
            condition = where or Always()
            if cursor is not None:
                condition = condition & after(order, _decode_cursor(cursor, len(order)))
            return condition, order

        def answer(read: Read) -> Rows:
            condition, order = condition_and_order()
            return self._answer_ordered(condition, lambda: order)(read)

        return answer


class FakeRepository(MemoryReads[T], Repository[T]):
    """A ``Repository`` of a ``FakeUnitOfWork``: same API and behaviour, no server."""

    def __init__(self, unit: FakeUnitOfWork, mapping: EntityMapping[T]) -> None:
        Repository.__init__(self, unit, mapping)
        self._store = unit.store

    def get(self, key: Any, *, load: Loads = ()) -> T:
        return drive(self._get(key, load), self._answer_keys)

    def get_or_none(self, key: Any, *, load: Loads = ()) -> T | None:
        return drive(self._get_or_none(key, load), self._answer_keys)

    def get_many(self, keys: Sequence[Any], *, load: Loads = ()) -> list[T]:
        return drive(self._get_many(keys, load), self._answer_keys)

    def exists(self, key: Any) -> bool:
        return drive(self._exists(key), self._answer_exists)

    def find(
        self,
        where: Criterion | None = None,
        *,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        load: Loads = (),
    ) -> list[T]:
        answer = self._answer_matching(where, order_by)
        return drive(self._find(where, order_by, limit, offset, load), answer)

    def list(
        self,
        *,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        load: Loads = (),
    ) -> builtins.list[T]:
        return self.find(None, order_by=order_by, limit=limit, offset=offset, load=load)

    def find_by(
        self,
        *,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        load: Loads = (),
        **equals: Any,
    ) -> builtins.list[T]:
        where = from_equals(equals)
        return self.find(where, order_by=order_by, limit=limit, offset=offset, load=load)

    def find_one_by(self, **equals: Any) -> T | None:
        where = from_equals(equals)
        return drive(self._find_one(where), self._answer_matching(where, None))

    def count(self, where: Criterion | None = None, **equals: Any) -> int:
        where = combine(where, equals)
        return drive(self._count(where), self._answer_matching(where, None))

    def page(
        self,
        where: Criterion | None = None,
        *,
        order_by: str | Sequence[str] | None = None,
        number: int = 1,
        size: int = 20,
        load: Loads = (),
    ) -> Page[T]:
        answer = self._answer_matching(where, order_by)
        return drive(self._page(where, order_by, number, size, load), answer)

    def keyset(
        self,
        where: Criterion | None = None,
        *,
        order_by: str | Sequence[str] | None = None,
        after: str | None = None,
        limit: int = 20,
        load: Loads = (),
    ) -> Slice[T]:
        answer = self._answer_keyset(where, order_by, after)
        return drive(self._keyset(where, order_by, after, limit, load), answer)


class FakeAsyncRepository(MemoryReads[T], AsyncRepository[T]):
    """An ``AsyncRepository`` of a ``FakeAsyncUnitOfWork``."""

    def __init__(self, unit: FakeAsyncUnitOfWork, mapping: EntityMapping[T]) -> None:
        AsyncRepository.__init__(self, unit, mapping)
        self._store = unit.store

    async def get(self, key: Any, *, load: Loads = ()) -> T:
        return drive(self._get(key, load), self._answer_keys)

    async def get_or_none(self, key: Any, *, load: Loads = ()) -> T | None:
        return drive(self._get_or_none(key, load), self._answer_keys)

    async def get_many(self, keys: Sequence[Any], *, load: Loads = ()) -> list[T]:
        return drive(self._get_many(keys, load), self._answer_keys)

    async def exists(self, key: Any) -> bool:
        return drive(self._exists(key), self._answer_exists)

    async def find(
        self,
        where: Criterion | None = None,
        *,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        load: Loads = (),
    ) -> list[T]:
        answer = self._answer_matching(where, order_by)
        return drive(self._find(where, order_by, limit, offset, load), answer)

    async def list(
        self,
        *,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        load: Loads = (),
    ) -> builtins.list[T]:
        return await self.find(None, order_by=order_by, limit=limit, offset=offset, load=load)

    async def find_by(
        self,
        *,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        load: Loads = (),
        **equals: Any,
    ) -> builtins.list[T]:
        where = from_equals(equals)
        return await self.find(where, order_by=order_by, limit=limit, offset=offset, load=load)

    async def find_one_by(self, **equals: Any) -> T | None:
        where = from_equals(equals)
        return drive(self._find_one(where), self._answer_matching(where, None))

    async def count(self, where: Criterion | None = None, **equals: Any) -> int:
        where = combine(where, equals)
        return drive(self._count(where), self._answer_matching(where, None))

    async def page(
        self,
        where: Criterion | None = None,
        *,
        order_by: str | Sequence[str] | None = None,
        number: int = 1,
        size: int = 20,
        load: Loads = (),
    ) -> Page[T]:
        answer = self._answer_matching(where, order_by)
        return drive(self._page(where, order_by, number, size, load), answer)

    async def keyset(
        self,
        where: Criterion | None = None,
        *,
        order_by: str | Sequence[str] | None = None,
        after: str | None = None,
        limit: int = 20,
        load: Loads = (),
    ) -> Slice[T]:
        answer = self._answer_keyset(where, order_by, after)
        return drive(self._keyset(where, order_by, after, limit, load), answer)
