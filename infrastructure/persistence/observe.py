"""The query log and OpenTelemetry spans of every read and commit a unit sends.

Query log: logger ``falkor_uow.query``. At DEBUG, one record per query:
what it was (read or commit), the graph, the client's duration, the
server's own execution time (FalkorDB's "Query internal execution time"
statistic), the parameters and the text. Parameter VALUES are redacted by
default: a record names each parameter and its row count (``rows[3]``);
``configure_query_log(show_values=True)`` shows the values. A query slower
than ``slow_ms`` logs at WARNING whatever the level. ``echo=True`` turns the
DEBUG log on (and sends it to stderr when nothing else handles it).

Each record also carries its parts as attributes, for structured logging:
``kind``, ``graph``, ``query``, ``params`` (redacted unless values are
shown), ``duration_ms``, ``server_ms``, ``rows`` and ``error``.

Spans: with ``opentelemetry-api`` installed (the ``otel`` extra) and a
tracer provider set (the global one, or ``configure_query_log(
tracer_provider=...)``), each read and commit is a CLIENT span following the
database semantic conventions: ``db.system`` = ``falkordb``,
``db.operation.name`` (``GRAPH.RO_QUERY`` / ``GRAPH.QUERY``),
``db.namespace`` = the graph, ``db.query.text`` (value-free: every value
travels as a parameter) and its fingerprint, the rows or entities, the
server time; a failure sets the span's error status and ``error.type``.

With logging below DEBUG, no slow threshold and no tracer provider, a query
costs one check of those three and nothing else.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

_otel: Any
try:  # the optional ``otel`` extra
    from opentelemetry import trace as _otel
except ImportError:  # pragma: no cover - exercised where the extra is absent
    _otel = None

QUERY_LOGGER = "falkor_uow.query"
log = logging.getLogger(QUERY_LOGGER)

_OPERATIONS = {"read": "GRAPH.RO_QUERY", "commit": "GRAPH.QUERY"}
_NO_PROVIDER: tuple[type, ...] = (
    (_otel.ProxyTracerProvider, _otel.NoOpTracerProvider) if _otel is not None else ()
)


@dataclass(slots=True)
class QueryLogSettings:
    """How reads and commits are logged and traced (see ``configure_query_log``)."""

    show_values: bool = False
    slow_ms: float | None = None
    tracer_provider: Any = None


settings = QueryLogSettings()
_tracer: Any = None  # the tracer, once a provider is known
_echo_handler: logging.Handler | None = None
_echo_level: int | None = None  # the logger's level before echo turned it to DEBUG


def configure_query_log(
    *,
    echo: bool | None = None,
    show_values: bool | None = None,
    slow_ms: float | None = None,
    tracer_provider: Any = None,
) -> QueryLogSettings:
    """Set how every unit's reads and commits are logged and traced (process-wide).

    Args:
        echo: True sets ``falkor_uow.query`` to DEBUG (with a stderr handler
            when no handler would print it); False undoes what True did
            (logging configured elsewhere is left alone).
        show_values: log parameter values, not only their names and sizes.
        slow_ms: queries taking at least this long (client side) log at
            WARNING; 0 or a negative number turns the warning off.
        tracer_provider: the OpenTelemetry tracer provider spans go to
            (default: the global one, once set).

    Arguments left as None keep their current value. Returns the settings.

    Raises:
        RuntimeError: ``tracer_provider`` given without ``opentelemetry-api``.
    """
    global _tracer, _echo_handler, _echo_level
    if show_values is not None:
        settings.show_values = show_values
    if slow_ms is not None:
        settings.slow_ms = slow_ms if slow_ms > 0 else None
    if tracer_provider is not None:
        if _otel is None:
            raise RuntimeError("tracing needs opentelemetry-api: pip install 'falkor-uow[otel]'")
        settings.tracer_provider = tracer_provider
        _tracer = None
    if echo is True and _echo_level is None:
        _echo_level = log.level
        log.setLevel(logging.DEBUG)
        if not log.hasHandlers():
            _echo_handler = logging.StreamHandler(sys.stderr)
            _echo_handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
            log.addHandler(_echo_handler)
    elif echo is False and _echo_level is not None:
        log.setLevel(_echo_level)
        _echo_level = None
        if _echo_handler is not None:
            log.removeHandler(_echo_handler)
            _echo_handler = None
    return settings


# Whether the environment names a tracer provider (read once: the API loads it on demand).
_PROVIDER_FROM_ENV = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ
_UNKNOWN = object()


def _current_tracer() -> Any:
    global _tracer
    if _tracer is not None or _otel is None:
        return _tracer
    provider = settings.tracer_provider
    if provider is None:
        # The API's global, read directly: get_tracer_provider() looks at the
        # environment on every call while none is set, which costs microseconds.
        provider = getattr(_otel, "_TRACER_PROVIDER", _UNKNOWN)
        if provider is _UNKNOWN or (provider is None and _PROVIDER_FROM_ENV):
            provider = _otel.get_tracer_provider()
        if provider is None or isinstance(provider, _NO_PROVIDER):
            return None  # no provider set yet: spans would go nowhere
    _tracer = provider.get_tracer("falkor_uow")
    return _tracer


class _Unobserved:
    """What ``observed`` returns when nothing listens: costs nothing."""

    __slots__ = ()

    def __enter__(self) -> _Unobserved:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def result(self, result: Any) -> Any:
        return result


_UNOBSERVED = _Unobserved()


def observed(
    kind: str, query: str, params: dict[str, Any] | None, graph: Any, entities: int | None = None
) -> Observation | _Unobserved:
    """A context to send one query in: logs it and spans it when anyone listens.

    ``kind`` is ``"read"`` or ``"commit"``; ``entities`` the entities a
    commit writes. Pass the reply through ``result()`` inside the block.
    """
    tracer = _current_tracer()
    if tracer is None and settings.slow_ms is None and not log.isEnabledFor(logging.DEBUG):
        return _UNOBSERVED
    return Observation(kind, query, params, graph, entities, tracer)


def fingerprint(query: str) -> str:
    """A short stable digest of a query's text (which holds no values)."""
    return hashlib.blake2b(query.encode(), digest_size=8).hexdigest()


def shapes(params: dict[str, Any] | None) -> dict[str, str]:
    """Each parameter's name and size, never its value: ``rows[3]``, ``text``, ``int``."""
    out: dict[str, str] = {}
    for name, value in (params or {}).items():
        if isinstance(value, list | tuple):
            out[name] = f"rows[{len(value)}]"
        elif isinstance(value, dict):
            out[name] = f"map[{len(value)}]"
        elif isinstance(value, str):
            out[name] = "text"
        else:
            out[name] = type(value).__name__
    return out


def server_ms(result: Any) -> float | None:
    """The server's execution time of a reply, in ms (None when it does not say)."""
    try:
        value = result.run_time_ms
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    return float(value) if isinstance(value, int | float) else None


class Observation:
    """One query being sent: timed, then logged and (with a tracer) spanned."""

    __slots__ = ("entities", "graph", "kind", "params", "query", "reply", "span", "started")

    def __init__(
        self,
        kind: str,
        query: str,
        params: dict[str, Any] | None,
        graph: Any,
        entities: int | None,
        tracer: Any,
    ) -> None:
        self.kind, self.query, self.params, self.entities = kind, query, params, entities
        self.graph = str(getattr(graph, "name", "") or "")
        self.reply: Any = None
        self.span = None
        if tracer is not None:
            operation = _OPERATIONS.get(kind, kind)
            attributes: dict[str, Any] = {
                "db.system": "falkordb",
                "db.system.name": "falkordb",
                "db.operation": operation,
                "db.operation.name": operation,
                "db.namespace": self.graph,
                "db.query.text": query,
                "db.falkordb.query.fingerprint": fingerprint(query),
                "db.falkordb.unit.operation": kind,
            }
            if entities is not None:
                attributes["db.falkordb.commit.entities"] = entities
            self.span = tracer.start_span(
                f"{operation} {self.graph}".strip(),
                kind=_otel.SpanKind.CLIENT if _otel else None,
                attributes=attributes,
            )
        self.started = time.perf_counter()

    def __enter__(self) -> Observation:
        return self

    def result(self, result: Any) -> Any:
        self.reply = result
        return result

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        duration = (time.perf_counter() - self.started) * 1000
        server = server_ms(self.reply) if self.reply is not None else None
        rows = _rows(self.reply)
        span = self.span
        if span is not None:
            if server is not None:
                span.set_attribute("db.falkordb.server_time_ms", server)
            if rows is not None and self.kind == "read":
                span.set_attribute("db.response.returned_rows", rows)
            if exc is not None:
                span.set_attribute("error.type", type(exc).__qualname__)
                span.record_exception(exc)
                span.set_status(_otel.Status(_otel.StatusCode.ERROR, str(exc)[:200]))
            span.end()
        slow = settings.slow_ms is not None and duration >= settings.slow_ms
        level = logging.WARNING if slow else logging.DEBUG
        if log.isEnabledFor(level):
            self._log(level, slow, duration, server, rows, exc)

    def _log(
        self,
        level: int,
        slow: bool,
        duration: float,
        server: float | None,
        rows: int | None,
        exc: BaseException | None,
    ) -> None:
        params: Any = dict(self.params or {}) if settings.show_values else shapes(self.params)
        shown = ", ".join(
            f"{k}={v!r}" if settings.show_values else f"{k}:{v}" for k, v in params.items()
        )
        server_text = "?" if server is None else f"{server:.3f}"
        outcome = f" FAILED ({type(exc).__name__}: {exc})" if exc is not None else ""
        counted = f", {rows} rows" if rows is not None and self.kind == "read" else ""
        if self.entities is not None:
            counted += f", {self.entities} entities"
        log.log(
            level,
            "%s%s on %s: %.3f ms (server %s ms)%s%s; params {%s}\n%s",
            "slow " if slow else "",
            self.kind,
            self.graph or "?",
            duration,
            server_text,
            counted,
            outcome,
            shown,
            self.query,
            extra={
                "kind": self.kind,
                "graph": self.graph,
                "query": self.query,
                "params": params,
                "duration_ms": duration,
                "server_ms": server,
                "rows": rows,
                "error": exc,
            },
        )


def _rows(reply: Any) -> int | None:
    result_set = getattr(reply, "result_set", None)
    return len(result_set) if isinstance(result_set, list) else None
