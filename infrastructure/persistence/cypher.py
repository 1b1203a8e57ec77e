"""Query parameters as Cypher literals, and graph handles that send them fast.

FalkorDB takes parameters as a ``CYPHER name=value ...`` header in front of
the query text. The stock client builds that header with a general,
recursive function; for a commit of 10,000 rows it costs as much as the
server's work. ``header`` builds the same text about three times faster
for the values this layer sends (already encoded: str, int, float, bool,
None, lists and maps of them). Strings are escaped as the client escapes
them: backslash and double quote.

``FastGraph`` / ``AsyncFastGraph`` wrap a ``falkordb`` graph handle so that
``query``/``ro_query`` send parameters through ``header``; every other
attribute is the wrapped handle's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_keys: dict[str, str] = {}


def _key(name: Any) -> str:
    text = _keys.get(name)
    if text is None:
        name = str(name)
        if not name or "`" in name:
            raise ValueError(f"a parameter or map key cannot be empty or hold a backtick: {name!r}")
        text = name if _BARE.fullmatch(name) else f"`{name}`"
        if len(_keys) < 10_000:
            _keys[name] = text
    return text


def _string(value: str) -> str:
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if '"' in value:
        value = value.replace('"', '\\"')
    return '"' + value + '"'


def literal(value: Any) -> str:
    """``value`` as a Cypher literal.

    Raises:
        TypeError: a value of another type (encode it first).
    """
    return _LITERAL.get(type(value), _other)(value)


def _map(value: dict[Any, Any]) -> str:
    get, keys = _LITERAL.get, _keys
    return (
        "{"
        + ",".join(
            [(keys.get(k) or _key(k)) + ":" + get(type(v), _other)(v) for k, v in value.items()]
        )
        + "}"
    )


def _list(value: list[Any] | tuple[Any, ...]) -> str:
    get = _LITERAL.get
    return "[" + ",".join([get(type(v), _other)(v) for v in value]) + "]"


def _other(value: Any) -> str:
    if isinstance(value, str):
        return _string(str.__str__(value))
    raise TypeError(f"cannot send a {type(value).__name__} as a query parameter: encode it first")


_LITERAL: dict[type, Callable[[Any], str]] = {
    str: _string,
    int: repr,
    float: repr,
    bool: lambda v: "true" if v else "false",
    type(None): lambda v: "null",
    dict: _map,
    list: _list,
    tuple: _list,
}


def header(params: dict[str, Any] | None) -> str:
    """The ``CYPHER ...`` header carrying ``params`` (empty for none)."""
    if not params:
        return ""
    return "CYPHER " + " ".join([_key(k) + "=" + literal(v) for k, v in params.items()]) + " "


class FastGraph:
    """A sync graph handle whose queries send parameters through ``header``."""

    def __init__(self, graph: Any) -> None:
        self.inner = graph

    def query(
        self, q: str, params: dict[str, Any] | None = None, timeout: int | None = None
    ) -> Any:
        return self.inner.query(header(params) + q, None, timeout=timeout)

    def ro_query(
        self, q: str, params: dict[str, Any] | None = None, timeout: int | None = None
    ) -> Any:
        return self.inner.ro_query(header(params) + q, None, timeout=timeout)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class AsyncFastGraph:
    """The async twin of ``FastGraph``."""

    def __init__(self, graph: Any) -> None:
        self.inner = graph

    async def query(
        self, q: str, params: dict[str, Any] | None = None, timeout: int | None = None
    ) -> Any:
        return await self.inner.query(header(params) + q, None, timeout=timeout)

    async def ro_query(
        self, q: str, params: dict[str, Any] | None = None, timeout: int | None = None
    ) -> Any:
        return await self.inner.ro_query(header(params) + q, None, timeout=timeout)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
