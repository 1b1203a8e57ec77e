"""The read protocol every sync/async pair of the layer shares.

A conversation is a generator that yields the ``Read`` it needs, is sent
that read's rows, and returns its answer. It makes every decision and sends
nothing, so one conversation serves the sync and the async units: ``drive``
answers each read with a blocking ``Reader`` (``UnitOfWork.read``),
``drive_async`` awaits an ``AsyncReader`` (``AsyncUnitOfWork.read``).

Repositories, finders, relationship loading, ``merge``/``refresh`` and the
commit's explanatory reads are all written this way; a custom query is too
(``RepositoryBase.rows`` and ``RepositoryBase.run``, see the README section
"A custom query, sync and async").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar

from .reads import Read

R = TypeVar("R")

Rows = list[list[Any]]
"""The rows of one read, as the graph client returns them."""

Conversation = Generator[Read, Rows, R]
"""Yields the reads it needs, is sent their rows, returns its answer."""

Reader = Callable[[Read], Rows]
"""Runs one read and returns its rows (``UnitOfWork.read``)."""

AsyncReader = Callable[[Read], Awaitable[Rows]]
"""Runs one read and returns its rows, awaited (``AsyncUnitOfWork.read``)."""


def drive(conversation: Conversation[R], read: Reader) -> R:
    """Run ``conversation``, answering each of its reads with ``read``."""
    try:
        request = next(conversation)
        while True:
            request = conversation.send(read(request))
    except StopIteration as done:
        answer: R = done.value
        return answer


async def drive_async(conversation: Conversation[R], read: AsyncReader) -> R:
    """Run ``conversation``, answering each of its reads with the awaited ``read``."""
    try:
        request = next(conversation)
        while True:
            request = conversation.send(await read(request))
    except StopIteration as done:
        answer: R = done.value
        return answer
