"""In-memory fakes of the units of work, for fast service tests.

They are the real units with a ``FakeStore`` in place of FalkorDB: the same
API, repositories, identity map, change tracking, relationship loading and
errors (``ConcurrencyError`` for a stale version, ``DuplicateKeyError`` for a
taken key, ``DeleteRestrictedError`` for a ``restrict`` rule; nothing written
in any of these cases). Reads are answered from their intent, custom Cypher by
registered in-memory twins. The contract suite (``tests/contract``) runs one
set of tests against them and against FalkorDB so they cannot drift apart.
"""

from .graph import FakeNode, FakePath, Ref
from .store import FakeQueryError, FakeStore, GraphReader, MemoryQuery
from .unit_of_work import FakeAsyncUnitOfWork, FakeUnitOfWork

__all__ = [
    "FakeAsyncUnitOfWork",
    "FakeNode",
    "FakePath",
    "FakeQueryError",
    "FakeStore",
    "FakeUnitOfWork",
    "GraphReader",
    "MemoryQuery",
    "Ref",
]
