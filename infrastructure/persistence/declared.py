"""Repositories declared as annotated attributes of a unit-of-work class.

    class BankUnitOfWork(UnitOfWork):
        people: Repository[Person]
        accounts: AccountRepository      # a subclass of Repository[Account]

Each annotation names a repository class and, through its type argument, the
entity type it serves; the unit creates one repository per annotation.
"""

from __future__ import annotations

import typing
from typing import Any


def _entity_type(annotation: Any, base: type) -> tuple[type, type] | None:
    origin = typing.get_origin(annotation)
    if origin is not None and isinstance(origin, type) and issubclass(origin, base):
        (entity,) = typing.get_args(annotation)
        return origin, entity
    if isinstance(annotation, type) and issubclass(annotation, base):
        for klass in annotation.__mro__:
            for parent in getattr(klass, "__orig_bases__", ()):
                parent_origin = typing.get_origin(parent)
                if isinstance(parent_origin, type) and issubclass(parent_origin, base):
                    args = typing.get_args(parent)
                    if args and isinstance(args[0], type):
                        return annotation, args[0]
    return None


_CACHE: dict[tuple[type, type], dict[str, tuple[type, type]]] = {}


def declared_repositories(unit_class: type, base: type) -> dict[str, tuple[type, type]]:
    """``{attribute: (repository class, entity type)}`` declared on ``unit_class``."""
    cached = _CACHE.get((unit_class, base))
    if cached is not None:
        return cached
    hints = typing.get_type_hints(unit_class)
    found = {}
    for name, annotation in hints.items():
        resolved = _entity_type(annotation, base)
        if resolved is not None:
            found[name] = resolved
    _CACHE[unit_class, base] = found
    return found


_BY_TYPE: dict[tuple[type, type], dict[type, str]] = {}


def declared_attribute(unit_class: type, base: type, entity_type: type) -> str | None:
    """The attribute of ``unit_class`` declaring the repository of ``entity_type`` (the last one)."""
    by_type = _BY_TYPE.get((unit_class, base))
    if by_type is None:
        declared = declared_repositories(unit_class, base)
        by_type = _BY_TYPE[unit_class, base] = {e: name for name, (_, e) in declared.items()}
    return by_type.get(entity_type)


_SHADOWED: dict[tuple[type, type], tuple[str, ...]] = {}


def declared_shadowed(unit_class: type, base: type) -> tuple[str, ...]:
    """Declared repositories whose names ``unit_class`` also defines (made when the unit is)."""
    shadowed = _SHADOWED.get((unit_class, base))
    if shadowed is None:
        names = declared_repositories(unit_class, base)
        shadowed = tuple(n for n in names if any(n in k.__dict__ for k in unit_class.__mro__))
        _SHADOWED[unit_class, base] = shadowed
    return shadowed
