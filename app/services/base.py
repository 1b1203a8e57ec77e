"""What the sync and async services share: construction, documentation, constants.

``BankService`` and ``AsyncBankService`` differ only where they await (a
unit test compares them); everything else about them is decided here or in
``results``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from domain import ports

from .retry import RunOnce

F = TypeVar("F")
C = TypeVar("C", bound=type)

FRIENDSHIPS = ("friendships",)
"""The relationship a person's friends are loaded through."""


class ServiceBase(Generic[F]):
    """People, friendships, accounts and transfers.

    Args:
        uow_factory: opens the unit of work each use case runs in.
        retry: reruns a unit that lost an optimistic-concurrency race.

    Every method raises the repository's not-found error (a ``LookupError``)
    for an unknown id and ``domain.errors.DomainError`` when a rule refuses.
    """

    def __init__(self, uow_factory: F, retry: ports.RetryPolicy | None = None) -> None:
        self._uow = uow_factory
        self._retry: ports.RetryPolicy = retry or RunOnce()


def documented_by(source: type) -> Callable[[C], C]:
    """Give the decorated class's methods the docstrings of ``source``'s namesakes."""

    def document(target: C) -> C:
        for name, method in vars(target).items():
            original = getattr(source, name, None)
            if callable(method) and method.__doc__ is None and original is not None:
                method.__doc__ = original.__doc__
        return target

    return document
