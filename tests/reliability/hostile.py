"""Hostile values, names and a graph snapshot for the hostile-input suites.

``Doc`` has a field of every kind the codec handles from an annotation; the
strategies produce values from ordinary to absurd. ``snapshot`` captures a
whole graph (labels and properties of every node, every relationship) so a
test can prove that a refused or injected input changed nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from infrastructure.persistence import Registry, Repository, UnitOfWork


@dataclass
class Doc:
    id: str
    text: str = ""
    number: int = 0
    real: float = 0.0
    tags: list[str] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    extra: Any = None
    stamp: datetime | None = None
    version: int = 0


class DocUnit(UnitOfWork):
    docs: Repository[Doc]


def doc_registry(label: str = "Doc", version: str = "version") -> Registry:
    registry = Registry()
    registry.map(Doc, key="id", version=version, label=label)
    return registry


#: Strings that would change the query if they were ever pasted into its text.
INJECTIONS = [
    "x'}) DETACH DELETE n //",
    'x"}) DETACH DELETE n //',
    "x`}) DETACH DELETE n //",
    '\\"}) MATCH (m) DETACH DELETE m RETURN 1 //',
    "\\'}) MATCH (m) DETACH DELETE m RETURN 1 //",
    "*/ MATCH (m) DETACH DELETE m /*",
    "$rows",
    "${key}",
    "CYPHER x=1 MATCH (m) DETACH DELETE m",
    "') RETURN 1 UNION MATCH (m) DETACH DELETE m RETURN 1 //",
    "\\",
    '\\\\"',
    "`",
    "``",
    "{}",
    "}",
    "];",
    "\n}) MATCH (m) DETACH DELETE m //",
    "n.id = 'x' OR 1=1",
]

# Lone surrogates cannot be encoded as UTF-8 at all; they have their own test.
_chars = st.characters(exclude_categories=("Cs",))

_odd_alphabet = st.sampled_from(list("'\"`$\\{}()[];:/ \n\r\t\x00\u2028\ufeff\u200b"))


def _repeated(size: int) -> st.SearchStrategy[str]:
    return st.builds(lambda s: (s * size)[:size], st.text(_chars, min_size=1, max_size=3))


hostile_text = st.one_of(
    st.text(_chars),
    st.sampled_from(INJECTIONS),
    st.text(_odd_alphabet),
    _repeated(100_000),
)


def crashes_unique_constraint(key: str) -> bool:
    """Whether FalkorDB 4.16 crashes storing ``key`` under a unique constraint.

    Measured here: a value longer than 4096 bytes in UTF-8, one holding
    ``\\x01``, and one starting or ending with ASCII whitespace (the empty
    string included) kill the server (SIGSEGV in ``EnforceUniqueEntity``).
    The key codec refuses them (and every other control character).
    """
    return (
        len(key.encode("utf-8", "surrogatepass")) > 4096
        or "\x01" in key
        or key == ""
        or key != key.strip(" \t\n\r\x0b\x0c")
    )


#: Keys, those that would crash the server included (the codec must refuse them).
hostile_key = st.one_of(
    st.text(_chars),
    st.sampled_from(INJECTIONS),
    st.text(_odd_alphabet),
    st.text(_chars, min_size=1, max_size=3).map(lambda s: s * (4096 // len(s.encode("utf-8")))),
    _repeated(5000),
)

huge_ints = st.one_of(
    st.integers(),
    st.sampled_from([2**63 - 1, -(2**63), 2**63, -(2**63) - 1, 2**200, -(2**200)]),
)

datetimes = st.one_of(
    st.none(),
    st.datetimes(),
    st.datetimes(timezones=st.timezones()),
    st.datetimes(
        timezones=st.builds(
            timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
        )
    ),
)

scalars = st.one_of(st.none(), st.booleans(), huge_ints, st.floats(), hostile_text)
anything = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4), max_leaves=8)

FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "text": hostile_text,
    "number": huge_ints,
    "real": st.floats(),
    "tags": st.lists(hostile_text, max_size=4),
    "numbers": st.lists(huge_ints, max_size=4),
    "extra": anything,
    "stamp": datetimes,
}

_plain_key = st.uuids().map(str)

#: Docs with one hostile field (so most are storable), or all of them at once.
docs = st.one_of(
    st.builds(Doc, id=hostile_key),
    *(st.builds(Doc, id=_plain_key, **{name: values}) for name, values in FIELD_VALUES.items()),
    st.builds(Doc, id=hostile_key, **FIELD_VALUES),
)


Snapshot = tuple[list[str], int]


def snapshot(graph: Any) -> Snapshot:
    """Every node (labels and properties, in a canonical order) and the relationship count."""
    nodes = graph.ro_query("MATCH (n) RETURN labels(n), properties(n)").result_set
    edges = graph.ro_query("MATCH ()-[r]->() RETURN count(r)").result_set[0][0]
    return sorted(repr((sorted(labels), sorted(props.items()))) for labels, props in nodes), edges


def same_value(a: Any, b: Any) -> bool:
    """Equal, and equal in kind: floats by their repr (so -0.0 differs from 0.0),
    datetimes by wall time and offset."""
    if isinstance(a, float) or isinstance(b, float):
        return type(a) is type(b) and repr(a) == repr(b)
    if isinstance(a, list) or isinstance(b, list):
        return (
            isinstance(a, list)
            and isinstance(b, list)
            and len(a) == len(b)
            and all(same_value(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, datetime) and isinstance(b, datetime):
        # Same wall time and same UTC offset: the same instant, shown the same way (a
        # zone name becomes its offset). Plain == would call a time in a DST gap or fold
        # unequal to the same instant with a fixed offset (PEP 495).
        return (a.tzinfo is None) == (b.tzinfo is None) and (
            a.replace(tzinfo=None) == b.replace(tzinfo=None) and a.utcoffset() == b.utcoffset()
        )
    return type(a) is type(b) and a == b
