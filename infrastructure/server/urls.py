"""Database URLs: which deployment a URL names, and how to reach it. No I/O.

Accepted forms (``falkor`` and ``redis`` are synonyms; an ``s`` after the
base name, as in ``falkors`` / ``rediss``, means TLS)::

    falkor://[user:password@]host:port[/db][?options]    one server; a cluster
                                                         or a sentinel behind it
                                                         is detected
    unix://[user:password@]/path/to/socket[?db=0]        one server on a socket
    falkor+cluster://[user:password@]host:port[,host:port...]
                                                         a cluster (seed nodes)
    falkor+sentinel://[user:password@]host:port[,host:port...][/service]
                                                         the primary named
                                                         ``service`` (optional
                                                         when the sentinels
                                                         watch exactly one)

``options`` are redis-py connection options (``socket_timeout=5``...), except
``replicas=N`` and ``replica_timeout_ms=T``: acknowledge a write only once N
replicas confirm it, waiting up to T ms (see ``replication``). For
sentinel URLs ``sentinel_username`` / ``sentinel_password`` authenticate to
the sentinels; the user and password in the URL are the data nodes' own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlencode

from redis.connection import SSLConnection, parse_url

Mode = Literal["detect", "standalone", "cluster", "sentinel"]

_BASES = {"redis": False, "falkor": False, "rediss": True, "falkors": True}
_MODES: dict[str, Mode] = {"": "detect", "cluster": "cluster", "sentinel": "sentinel"}
DEFAULT_PORT = 6379
DEFAULT_SENTINEL_PORT = 26379


class DatabaseURLError(ValueError):
    """A database URL that cannot be used; the message says which part is wrong."""


@dataclass(frozen=True)
class Target:
    """What a URL names: the deployment's shape, its entry points and the connection options.

    ``url`` is a plain ``redis://`` / ``rediss://`` / ``unix://`` URL of the
    first entry point (credentials and options kept); ``options`` are the
    same settings as redis-py keyword arguments (credentials, timeouts, TLS),
    shared by every node of the deployment.
    """

    url: str
    mode: Mode
    hosts: tuple[tuple[str, int], ...] = ()
    tls: bool = False
    service: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    sentinel_options: dict[str, Any] = field(default_factory=dict)
    replicas: int | None = None
    replica_timeout_ms: int | None = None


def _split_hosts(hostlist: str, default_port: int, url: str) -> tuple[tuple[str, int], ...]:
    hosts: list[tuple[str, int]] = []
    for part in hostlist.split(","):
        item = part.strip()
        if not item:
            raise DatabaseURLError(f"empty host in {_redacted(url)!r}")
        if item.startswith("["):  # [ipv6]:port
            host, _, rest = item[1:].partition("]")
            port_text = rest[1:] if rest.startswith(":") else ""
        else:
            host, _, port_text = item.rpartition(":") if ":" in item else (item, "", "")
        try:
            port = int(port_text) if port_text else default_port
        except ValueError:
            raise DatabaseURLError(f"bad port {port_text!r} in {_redacted(url)!r}") from None
        if not host or not 0 < port < 65536:
            raise DatabaseURLError(f"bad host or port {item!r} in {_redacted(url)!r}")
        hosts.append((host, port))
    return tuple(hosts)


def _redacted(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for error messages)."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, hostpart = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{hostpart}"


def _options(plain_url: str) -> dict[str, Any]:
    try:
        options: dict[str, Any] = parse_url(plain_url)  # type: ignore[no-untyped-call]
    except ValueError as exc:
        raise DatabaseURLError(f"{exc} in {_redacted(plain_url)!r}") from None
    for name in ("host", "port", "path"):
        options.pop(name, None)
    if options.pop("connection_class", None) is SSLConnection:
        options["ssl"] = True
    return {k: v for k, v in options.items() if v is not None}


def _count(params: dict[str, str], name: str, url: str) -> int | None:
    text = params.pop(name, None)
    if text is None:
        return None
    if not text.isdigit():
        raise DatabaseURLError(f"{name} must be a whole number, got {text!r} in {_redacted(url)!r}")
    return int(text)


def parse_database_url(url: str) -> Target:
    """Read a database URL (see the module docstring for the forms).

    Raises:
        DatabaseURLError: unknown scheme, bad host or port, a database number
            on a cluster, several hosts on a single-server URL.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise DatabaseURLError(f"not a URL (no '://'): {_redacted(url)!r}")
    scheme = scheme.lower()
    if scheme == "unix":
        location, _, query = url.partition("?")
        params = dict(parse_qsl(query, keep_blank_values=True))
        replicas = _count(params, "replicas", url)
        replica_timeout_ms = _count(params, "replica_timeout_ms", url)
        plain = f"{location}{'?' if params else ''}{urlencode(params)}"
        return Target(
            plain,
            "standalone",
            options=_options(plain),
            replicas=replicas,
            replica_timeout_ms=replica_timeout_ms,
        )
    base, _, mode_name = scheme.partition("+")
    if base not in _BASES or mode_name not in _MODES:
        raise DatabaseURLError(
            f"unknown scheme {scheme!r}; use falkor://, falkors://, unix://, "
            "falkor+cluster:// or falkor+sentinel:// (redis:// spellings work too)"
        )
    tls = _BASES[base]
    mode = _MODES[mode_name]
    netloc, slash, path_query = rest.partition("/")
    path, _, query = path_query.partition("?")
    if not slash:
        netloc, _, query = netloc.partition("?")
    userinfo, at, hostlist = netloc.rpartition("@")
    hosts = _split_hosts(
        hostlist or "localhost",
        DEFAULT_SENTINEL_PORT if mode == "sentinel" else DEFAULT_PORT,
        url,
    )
    if mode == "detect" and len(hosts) > 1:
        raise DatabaseURLError(
            f"several hosts need falkor+cluster:// or falkor+sentinel://: {_redacted(url)!r}"
        )
    params = dict(parse_qsl(query, keep_blank_values=True))
    replicas = _count(params, "replicas", url)
    replica_timeout_ms = _count(params, "replica_timeout_ms", url)
    sentinel_options: dict[str, Any] = {}
    for name in ("sentinel_username", "sentinel_password"):
        if name in params:
            sentinel_options[name.removeprefix("sentinel_")] = params.pop(name)
    service: str | None = None
    db_path = path
    if mode == "sentinel":
        service, db_path = unquote(path) or None, ""
    host, port = hosts[0]
    host_text = f"[{host}]" if ":" in host else host
    plain = (
        f"{'rediss' if tls else 'redis'}://{userinfo}{at}{host_text}:{port}"
        f"/{db_path}{'?' if params else ''}{urlencode(params)}"
    )
    options = _options(plain)
    if mode == "cluster" and options.get("db", 0) != 0:
        raise DatabaseURLError(f"a cluster has only database 0: {_redacted(url)!r}")
    if tls:
        sentinel_options.setdefault("ssl", True)
    return Target(
        plain, mode, hosts, tls, service, options, sentinel_options, replicas, replica_timeout_ms
    )
