"""Typed query criteria: one definition, compiled to Cypher and evaluated in Python.

    from infrastructure.persistence import F
    uow.people.find((F("age") >= 18) & F("name").startswith("A"), order_by="-age")

The same tree compiles to a ``WHERE`` clause (values as parameters, names
checked against the mapping) and evaluates against an entity's encoded
values, so a query can also answer for the unit's pending changes. Both
follow Cypher's three-valued logic: a comparison with a missing value is
unknown, and only rows that are true match.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from .errors import MappingError, ValueEncodingError
from .expressions import Arith
from .mapping import EntityMapping

# Three-valued logic: True, False, or None (unknown).
Truth = bool | None

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_TEXT: dict[str, Callable[[str, str], bool]] = {
    "STARTS WITH": str.startswith,
    "ENDS WITH": str.endswith,
    "CONTAINS": operator.contains,
}
_ORDERING = ("<", "<=", ">", ">=")


class Criterion:
    """A condition on one entity's fields; combine with ``&``, ``|`` and ``~``."""

    def __and__(self, other: Criterion) -> Criterion:
        return And((self, other))

    def __or__(self, other: Criterion) -> Criterion:
        return Or((self, other))

    def __invert__(self) -> Criterion:
        return Not(self)

    def compile(
        self, mapping: EntityMapping[Any], params: dict[str, Any], negated: bool = False
    ) -> str:
        """The ``WHERE`` text (values added to ``params``); ``negated``: under an odd ``NOT``."""
        raise NotImplementedError

    def evaluate(self, mapping: EntityMapping[Any], values: Mapping[str, Any]) -> Truth:
        """Whether an entity with these encoded property values matches."""
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class Compare(Criterion):
    field: str
    op: str
    value: Any

    def compile(
        self, mapping: EntityMapping[Any], params: dict[str, Any], negated: bool = False
    ) -> str:
        codec = mapping.codec_of(self.field)
        if codec.type_name.startswith("vector["):
            raise MappingError(
                f"{mapping.name}.{self.field} is a vector: a stored vector never equals a list "
                f"and vectors do not order, so {self.op} cannot be used on it; use nearest(), "
                "or is_null()/is_not_null()"
            )
        if self.op in _ORDERING and not codec.orderable:
            raise MappingError(
                f"{mapping.name}.{self.field} ({codec.type_name}) is stored as text that does "
                f"not order like its values; {self.op} cannot be used on it"
            )
        if self.op in _TEXT and codec.type_name not in ("str", "str | None"):
            raise MappingError(f"{mapping.name}.{self.field}: {self.op} needs a str field")
        name = f"w{len(params)}"
        params[name] = value = self.encoded(mapping)
        return _comparison(self.field, self.op, name, value, negated)

    def encoded(self, mapping: EntityMapping[Any]) -> Any:
        if self.op == "IN":
            return [_encode(mapping, self.field, v) for v in self.value]
        return _encode(mapping, self.field, self.value)

    def evaluate(self, mapping: EntityMapping[Any], values: Mapping[str, Any]) -> Truth:
        left = values.get(self.field)
        right = self.encoded(mapping)
        if self.op == "IN":
            return _is_in(left, right)
        if left is None or right is None:
            return None
        if self.op in _TEXT:
            return _TEXT[self.op](left, right)
        if self.op in ("=", "<>"):
            return _equal(left, right) == (self.op == "=")
        try:
            return _COMPARE[self.op](left, right)
        except TypeError:  # Cypher compares values of different types as unknown
            return None


@dataclass(frozen=True, eq=False)
class IsNull(Criterion):
    field: str
    negated: bool = False

    def compile(
        self, mapping: EntityMapping[Any], params: dict[str, Any], negated: bool = False
    ) -> str:
        mapping.codec_of(self.field)
        return f"n.{self.field} IS {'NOT ' if self.negated else ''}NULL"

    def evaluate(self, mapping: EntityMapping[Any], values: Mapping[str, Any]) -> Truth:
        return (values.get(self.field) is None) != self.negated


@dataclass(frozen=True, eq=False)
class _Junction(Criterion):
    """Parts joined by ``keyword``, in Cypher's three-valued logic.

    One part evaluating to ``decides`` decides the whole; otherwise an
    unknown (None) part makes the whole unknown.
    """

    parts: tuple[Criterion, ...]
    keyword: ClassVar[str]
    decides: ClassVar[bool]

    def compile(
        self, mapping: EntityMapping[Any], params: dict[str, Any], negated: bool = False
    ) -> str:
        joined = f" {self.keyword} ".join(p.compile(mapping, params, negated) for p in self.parts)
        return "(" + joined + ")"

    def evaluate(self, mapping: EntityMapping[Any], values: Mapping[str, Any]) -> Truth:
        result: Truth = not self.decides
        for part in self.parts:
            truth = part.evaluate(mapping, values)
            if truth is self.decides:
                return truth
            if truth is None:
                result = None
        return result


class And(_Junction):
    keyword = "AND"
    decides = False


class Or(_Junction):
    keyword = "OR"
    decides = True


@dataclass(frozen=True, eq=False)
class Not(Criterion):
    part: Criterion

    def compile(
        self, mapping: EntityMapping[Any], params: dict[str, Any], negated: bool = False
    ) -> str:
        return f"(NOT {self.part.compile(mapping, params, not negated)})"

    def evaluate(self, mapping: EntityMapping[Any], values: Mapping[str, Any]) -> Truth:
        truth = self.part.evaluate(mapping, values)
        return None if truth is None else not truth


@dataclass(frozen=True, eq=False)
class Always(Criterion):
    """Matches everything (the empty criterion)."""

    def compile(
        self, mapping: EntityMapping[Any], params: dict[str, Any], negated: bool = False
    ) -> str:
        return "true"

    def evaluate(self, mapping: EntityMapping[Any], values: Mapping[str, Any]) -> Truth:
        return True


def _comparison(field: str, op: str, param: str, value: Any, negated: bool) -> str:
    """``n.field op $param``, kept off FalkorDB's broken string upper-bound index path.

    FalkorDB 4.16's range index answers an upper bound on text wrongly (with
    an index on ``name``, ``n.name < 't1'`` also returns 't1' and 't2'); lower
    bounds, equality and numbers are right. An upper bound on text is written
    as ``coalesce(n.field)``, which the planner cannot serve from the index,
    so the server filters every row itself. A comparison under an odd number
    of ``NOT`` is flipped by the planner (``NOT n.name >= x`` becomes
    ``n.name < x``), so there the lower bounds are the upper ones.
    """
    upper = (op in ("<", "<=")) != (negated and op in _ORDERING)
    if upper and isinstance(value, str):
        return f"coalesce(n.{field}) {op} ${param}"
    return f"n.{field} {op} ${param}"


def _equal(left: Any, right: Any) -> bool:
    """Cypher's ``=`` on two non-null values: a boolean never equals a number."""
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_equal, left, right))
    return bool(left == right)


def _is_in(left: Any, items: list[Any]) -> Truth:
    """Cypher's ``IN``: false for an empty list, else a miss is unknown if null is involved."""
    if not items:
        return False
    if left is None:
        return None
    if any(item is not None and _equal(left, item) for item in items):
        return True
    return None if any(item is None for item in items) else False


def _encode(mapping: EntityMapping[Any], field: str, value: Any) -> Any:
    try:
        return mapping.codec_of(field).encode(value)
    except ValueEncodingError as exc:
        raise ValueEncodingError(f"{mapping.name}.{field} criterion: {exc}") from None


class F:
    """A stored field of the queried entity, by name: ``F("age") > 30``.

    Names are checked against the mapping when the query is built; a value
    object's parts are named as stored (``F("balance_amount")``).
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __eq__(self, value: object) -> Criterion:  # type: ignore[override]
        return IsNull(self.name) if value is None else Compare(self.name, "=", value)

    def __ne__(self, value: object) -> Criterion:  # type: ignore[override]
        return IsNull(self.name, True) if value is None else Compare(self.name, "<>", value)

    def __lt__(self, value: object) -> Criterion:
        return Compare(self.name, "<", value)

    def __le__(self, value: object) -> Criterion:
        return Compare(self.name, "<=", value)

    def __gt__(self, value: object) -> Criterion:
        return Compare(self.name, ">", value)

    def __ge__(self, value: object) -> Criterion:
        return Compare(self.name, ">=", value)

    __hash__ = None  # type: ignore[assignment]

    def between(self, low: object, high: object) -> Criterion:
        """``low <= field <= high``."""
        return And((Compare(self.name, ">=", low), Compare(self.name, "<=", high)))

    def is_in(self, values: Iterable[object]) -> Criterion:
        return Compare(self.name, "IN", list(values))

    def startswith(self, text: str) -> Criterion:
        return Compare(self.name, "STARTS WITH", text)

    def endswith(self, text: str) -> Criterion:
        return Compare(self.name, "ENDS WITH", text)

    def contains(self, text: str) -> Criterion:
        return Compare(self.name, "CONTAINS", text)

    def is_null(self) -> Criterion:
        return IsNull(self.name)

    def is_not_null(self) -> Criterion:
        return IsNull(self.name, True)

    # Arithmetic on a stored number, for set-based updates: ``age=F("age") + 1``.
    def __add__(self, value: int | float) -> Arith:
        return Arith(self.name, "+", value)

    __radd__ = __add__

    def __sub__(self, value: int | float) -> Arith:
        return Arith(self.name, "-", value)

    def __mul__(self, value: int | float) -> Arith:
        return Arith(self.name, "*", value)

    __rmul__ = __mul__


def from_equals(equals: Mapping[str, Any]) -> Criterion:
    """The criterion of ``find_by(**equals)``."""
    parts = tuple(F(name) == value for name, value in sorted(equals.items()))
    if not parts:
        return Always()
    return parts[0] if len(parts) == 1 else And(parts)


def combine(where: Criterion | None, equals: Mapping[str, Any]) -> Criterion | None:
    """``where`` AND the equalities of ``equals`` (None when both are empty)."""
    if not equals:
        return where
    extra = from_equals(equals)
    return extra if where is None else And((where, extra))


@dataclass(frozen=True, slots=True)
class OrderKey:
    field: str
    descending: bool


def parse_order(
    mapping: EntityMapping[Any], order_by: str | Sequence[str] | None
) -> list[OrderKey]:
    """``"-age"`` / ``["name", "-age"]`` to order keys, checked against the mapping."""
    if order_by is None:
        return []
    specs = [order_by] if isinstance(order_by, str) else list(order_by)
    keys = []
    for spec in specs:
        descending = spec.startswith("-")
        field = spec[1:] if descending else spec
        codec = mapping.codec_of(field)
        if not codec.orderable:
            raise MappingError(
                f"{mapping.name}.{field} ({codec.type_name}) is stored as text that does not "
                "sort like its values; order by another field"
            )
        keys.append(OrderKey(field, descending))
    return keys


def after(keys: Sequence[OrderKey], cursor: Sequence[Any]) -> Criterion:
    """Rows strictly after ``cursor`` (encoded sort values) in ``keys`` order.

    Follows Cypher's ordering: nulls sort last ascending and first descending.
    """
    options: list[Criterion] = []
    for i, key in enumerate(keys):
        ties = tuple(_same(k.field, cursor[j]) for j, k in enumerate(keys[:i]))
        beyond = _beyond(key, cursor[i])
        if beyond is not None:
            options.append(And((*ties, beyond)) if ties else beyond)
    if not options:
        return Not(Always())
    return options[0] if len(options) == 1 else Or(tuple(options))


def _same(field: str, value: Any) -> Criterion:
    return IsNull(field) if value is None else _Raw(field, "=", value)


def _beyond(key: OrderKey, value: Any) -> Criterion | None:
    if key.descending:  # nulls first, then high to low
        return IsNull(key.field, True) if value is None else _Raw(key.field, "<", value)
    if value is None:  # nulls last: nothing after a null
        return None
    return Or((_Raw(key.field, ">", value), IsNull(key.field)))


@dataclass(frozen=True, eq=False)
class _Raw(Compare):
    """A comparison whose value is already encoded (cursor values)."""

    def compile(
        self, mapping: EntityMapping[Any], params: dict[str, Any], negated: bool = False
    ) -> str:
        mapping.codec_of(self.field)
        name = f"w{len(params)}"
        params[name] = self.value
        return _comparison(self.field, self.op, name, self.value, negated)

    def encoded(self, mapping: EntityMapping[Any]) -> Any:
        return self.value


def sort_key(keys: Sequence[OrderKey]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """A Python sort key on encoded values that orders as Cypher's ORDER BY does."""

    def key(values: Mapping[str, Any]) -> tuple[Any, ...]:
        parts: list[Any] = []
        for k in keys:
            v = values.get(k.field)
            parts.append(_Descending(v) if k.descending else _Ascending(v))
        return tuple(parts)

    return key


class _Ascending:
    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v

    def __lt__(self, other: _Ascending) -> bool:
        if self.v is None:
            return False
        if other.v is None:
            return True
        return bool(self.v < other.v)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Ascending) and self.v == other.v


class _Descending(_Ascending):
    __slots__ = ()

    def __lt__(self, other: _Ascending) -> bool:
        if self.v is None:
            return other.v is not None
        if other.v is None:
            return False
        return bool(self.v > other.v)
