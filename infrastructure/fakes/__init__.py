"""In-memory fakes of the units of work and repositories, for fast service tests.

They are the real units with a ``FakeStore`` in place of FalkorDB: the same
API, identity map, change tracking and errors (``ConcurrencyError`` for a
stale version, ``DuplicateKeyError`` for a taken key, nothing written in
either case). The contract suite (``tests/contract``) runs one set of tests
against them and against FalkorDB so they cannot drift apart.
"""

from .bank import (
    FakeAsyncBankUnitOfWork,
    FakeAsyncFriendshipRepository,
    FakeBankUnitOfWork,
    FakeFriendshipRepository,
)
from .repository import FakeAsyncRepository, FakeRepository
from .store import FakeStore
from .unit_of_work import FakeAsyncUnitOfWork, FakeQueryError, FakeUnitOfWork

__all__ = [
    "FakeAsyncBankUnitOfWork",
    "FakeAsyncFriendshipRepository",
    "FakeAsyncRepository",
    "FakeAsyncUnitOfWork",
    "FakeBankUnitOfWork",
    "FakeFriendshipRepository",
    "FakeQueryError",
    "FakeRepository",
    "FakeStore",
    "FakeUnitOfWork",
]
