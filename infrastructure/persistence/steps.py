"""One body for a sync and an async twin: a generator that yields each I/O call.

A body written once is a generator: every call that talks to a server (or
sleeps) is written ``result = yield call(...)``. Driven by ``run_steps``, the
calls are the sync client's and have run by the time they are yielded: the
driver sends their result straight back. Driven by ``run_steps_async``, they
are the async client's and yield awaitables: the driver awaits each one and
sends its result back, or throws its exception into the body, where the
body's own ``try``/``except`` sees it as the sync body would. The decisions
(what to send, what the answer means, when to give up) exist once; the sync
and async classes are shells that differ only where they await, which
``tests/twins.py`` checks.

The read conversations of the repositories (``drive``/``drive_async``) are
the same idea for reads: there the body yields a ``Read`` and the shell's
reader does the I/O.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator
from typing import Any, TypeVar

R = TypeVar("R")

Steps = Generator[Any, Any, R]
"""A body: yields the value of each I/O call (an awaitable in async code), returns ``R``."""


def run_steps(body: Steps[R]) -> R:
    """Run a body whose I/O calls are sync: each yielded value is already the result."""
    try:
        value = next(body)
        while True:
            value = body.send(value)
    except StopIteration as done:
        result: R = done.value
        return result


async def run_steps_async(body: Steps[R]) -> R:
    """Run a body whose I/O calls are async: each yielded awaitable is awaited.

    A value that is not awaitable (a call that does no I/O on the async
    client either) is sent back as it is; an exception raised while awaiting
    is thrown into the body at the ``yield``.
    """
    try:
        pending = next(body)
        while True:
            try:
                value = await pending if inspect.isawaitable(pending) else pending
            except BaseException as exc:  # the body decides what it catches
                pending = body.throw(exc)
            else:
                pending = body.send(value)
    except StopIteration as done:
        result: R = done.value
        return result


T = TypeVar("T")


def twin_of(sync: Any) -> Callable[[T], T]:
    """Give an async twin the documentation of its sync twin (written once, there).

    On a function: its docstring. On a class: each method without a
    docstring of its own takes the one of the sync class's namesake.
    """

    def document(twin: T) -> T:
        if not isinstance(twin, type):
            twin.__doc__ = sync.__doc__
            return twin
        for name, member in vars(twin).items():
            original = getattr(sync, name, None)
            target = member.fget if isinstance(member, property) else member
            if callable(target) and target.__doc__ is None and original is not None:
                source = original.fget if isinstance(original, property) else original
                target.__doc__ = source.__doc__
        return twin

    return document
