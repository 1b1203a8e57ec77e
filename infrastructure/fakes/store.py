"""An in-memory graph for the fake units of work: what they read and commit to.

A ``FakeStore`` holds, per label, each entity's encoded property values (as
the mapping's codec produced them, the very values FalkorDB would store) and
its stored version. Units read copies and build their own objects, so two
units on one store are isolated exactly as two units on one graph are. A
commit is checked completely before anything is written: a stale version or
a taken key writes nothing, as the one-query commit does on the server.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

from infrastructure.persistence.changes import ChangeSet
from infrastructure.persistence.criteria import Criterion, OrderKey, sort_key
from infrastructure.persistence.errors import ConcurrencyError, DuplicateKeyError
from infrastructure.persistence.mapping import EntityMapping

# A stored entity: encoded property values in ``mapping.properties`` order, and its version.
StoredRow = tuple[tuple[Any, ...], int]


def _copy(values: Iterable[Any]) -> tuple[Any, ...]:
    # Encoded values are scalars or lists of scalars; lists are the only mutable part.
    return tuple(list(v) if isinstance(v, list) else v for v in values)


class FakeStore:
    """Committed entities of one in-memory graph, shared by the fake units opened on it.

    Thread-safe: a commit is checked and applied under one lock, so units on
    several threads see each other's commits whole or not at all.
    """

    def __init__(self) -> None:
        self._tables: dict[str, dict[Any, StoredRow]] = {}
        self._lock = threading.Lock()
        self.commits = 0
        """How many flushes wrote something (a failed commit does not count)."""

    # -- reads ------------------------------------------------------------------

    def rows(self, mapping: EntityMapping[Any], keys: Sequence[Any]) -> list[list[Any]]:
        """Projection rows (values, then version) of the stored entities among ``keys`` (encoded)."""
        with self._lock:
            table = self._tables.get(mapping.label, {})
            found = [table[k] for k in keys if k in table]
        return [[*_copy(values), version] for values, version in found]

    def contains(self, mapping: EntityMapping[Any], key: Any) -> bool:
        """Whether an entity with the encoded ``key`` is stored."""
        with self._lock:
            return key in self._tables.get(mapping.label, {})

    def select(
        self,
        mapping: EntityMapping[Any],
        where: Criterion,
        order: Sequence[OrderKey] = (),
        *,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[list[Any]]:
        """Projection rows of the stored entities matching ``where``, ordered, then paged.

        ``where`` and ``order`` evaluate on encoded values with the layer's
        own Python rules for Cypher (three-valued logic; unset values sort
        last, and first when descending).
        """
        props = mapping.properties
        with self._lock:
            stored = list(self._tables.get(mapping.label, {}).values())
        named = [(dict(zip(props, values, strict=True)), values, v) for values, v in stored]
        matched = [row for row in named if where.evaluate(mapping, row[0]) is True]
        if order:
            key = sort_key(order)
            matched.sort(key=lambda row: key(row[0]))
        start = offset or 0
        end = None if limit is None else start + limit
        return [[*_copy(values), version] for _, values, version in matched[start:end]]

    def count(self, mapping: EntityMapping[Any], where: Criterion) -> int:
        """How many stored entities match ``where``."""
        return len(self.select(mapping, where))

    def entities(self, mapping: EntityMapping[Any]) -> list[Any]:
        """Fresh, untracked objects for every stored entity of ``mapping`` (for custom reads)."""
        with self._lock:
            stored = list(self._tables.get(mapping.label, {}).values())
        return [mapping.decode(_copy(values)) for values, _ in stored]

    # -- writes -----------------------------------------------------------------

    def apply(self, changes: ChangeSet) -> None:
        """Write ``changes`` atomically, or nothing.

        Raises:
            ConcurrencyError: an updated or deleted entity is gone, or (when
                versioned) no longer at the version its unit read. Checked
                before keys, as the server's version guard fails first.
            DuplicateKeyError: a created entity's key is taken.
        """
        with self._lock:
            stale = self._stale(changes)
            if stale:
                raise ConcurrencyError(stale)
            taken = [
                f"{c.state.mapping.name}[{c.state.key!r}]"
                for c in changes.creates
                if c.values[c.state.mapping.key_index] in self._table(c.state.mapping)
            ]
            if taken:
                raise DuplicateKeyError(
                    f"{', '.join(taken)} already exists; nothing was written "
                    "(unique key constraint of the in-memory store)"
                )
            self._write(changes)
            self.commits += 1

    def _table(self, mapping: EntityMapping[Any]) -> dict[Any, StoredRow]:
        return self._tables.setdefault(mapping.label, {})

    def _stale(self, changes: ChangeSet) -> list[tuple[str, Any]]:
        # The same order the server's guard reports: updates, then deletes, by label.
        checked = sorted(changes.updates, key=lambda u: u.state.mapping.label) + sorted(
            changes.deletes, key=lambda d: d.state.mapping.label
        )
        stale = []
        for change in checked:
            state = change.state
            mapping = state.mapping
            stored = self._table(mapping).get(mapping.encode_key(state.key))
            if stored is None or (mapping.version_property and stored[1] != state.version):
                stale.append((mapping.name, state.key))
        return stale

    def _write(self, changes: ChangeSet) -> None:
        for create in changes.creates:
            mapping = create.state.mapping
            version = 1 if mapping.version_property else 0
            self._table(mapping)[create.values[mapping.key_index]] = (_copy(create.values), version)
        for update in changes.updates:
            mapping = update.state.mapping
            table = self._table(mapping)
            key = update.values[mapping.key_index]
            values, version = table[key]
            # Only the changed properties are written, as ``SET n += changes`` does.
            merged = list(values)
            for prop, value in update.changed.items():
                merged[mapping.properties.index(prop)] = value
            table[key] = (_copy(merged), version + 1 if mapping.version_property else version)
        for delete in changes.deletes:
            mapping = delete.state.mapping
            self._table(mapping).pop(mapping.encode_key(delete.state.key), None)

    def clear(self) -> None:
        """Forget every stored entity."""
        with self._lock:
            self._tables.clear()
