"""The tests' usual mapping: a class keyed by its ``id``, versioned by its ``version``."""

from __future__ import annotations

from typing import Any

from infrastructure.persistence import Registry


def registry_of(cls: type, **options: Any) -> Registry:
    """A new registry mapping ``cls`` with key ``id`` and version ``version``.

    ``options`` are the other arguments of ``Registry.map`` (``vectors``,
    ``unique``, ``relationships``...); map further classes on the result.
    """
    registry = Registry()
    registry.map(cls, key="id", version="version", **options)
    return registry
