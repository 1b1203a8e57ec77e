"""Validation of the names that are written into query text.

Labels, relationship types and property names cannot travel as query
parameters, so every one of them is checked here before it reaches a query.
"""

from __future__ import annotations

import re

from .errors import UnsafeIdentifierError

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")

# Cypher keywords that would be read as syntax rather than as a name.
_RESERVED = frozenset(
    [
        "all",
        "and",
        "as",
        "asc",
        "ascending",
        "by",
        "call",
        "case",
        "contains",
        "create",
        "delete",
        "desc",
        "descending",
        "detach",
        "distinct",
        "else",
        "end",
        "ends",
        "exists",
        "false",
        "in",
        "is",
        "limit",
        "match",
        "merge",
        "not",
        "null",
        "optional",
        "or",
        "order",
        "remove",
        "return",
        "set",
        "skip",
        "starts",
        "then",
        "true",
        "union",
        "unwind",
        "when",
        "where",
        "with",
        "xor",
        "yield",
    ]
)


def safe_identifier(name: str, what: str = "identifier") -> str:
    """Return ``name`` unchanged if it is safe to write into query text.

    Raises:
        UnsafeIdentifierError: ``name`` is not an ASCII identifier of at most
            128 characters, or it is a Cypher keyword.
    """
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise UnsafeIdentifierError(
            f"{what} {name!r} is not a safe name: use letters, digits and underscores, "
            "starting with a letter or underscore (at most 128 characters)"
        )
    if name.lower() in _RESERVED:
        raise UnsafeIdentifierError(f"{what} {name!r} is a Cypher keyword; choose another name")
    return name
