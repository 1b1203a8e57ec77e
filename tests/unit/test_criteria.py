"""Criteria, orderings, cursors and relationship declarations, with no server.

The integration tests compare these evaluations with what FalkorDB answers;
here the rules themselves are pinned down: Cypher's three-valued logic, its
null ordering, names checked against the mapping, values kept out of the text.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infrastructure.persistence import (
    Criterion,
    F,
    MappingError,
    Registry,
    UnsafeIdentifierError,
    ValueEncodingError,
    to_many,
    to_one,
)
from infrastructure.persistence.criteria import (
    Always,
    OrderKey,
    after,
    combine,
    from_equals,
    parse_order,
    sort_key,
)
from infrastructure.persistence.finders import require_mapping_relationships
from infrastructure.persistence.mapping import EntityMapping
from infrastructure.persistence.reads import by_key


@dataclass
class Item:
    id: str
    n: int | None = None
    s: str | None = None
    flag: bool | None = None
    anything: Any = None
    code: uuid.UUID | None = None
    price: Decimal | None = None
    tags: list[str] = field(default_factory=list)


@dataclass
class Node:
    id: str
    children: list[Node] = field(default_factory=list, repr=False, compare=False)
    parent: Node | None = field(default=None, repr=False, compare=False)


@dataclass
class Edge:
    target: Node
    weight: int


@dataclass
class Holder:
    id: str
    links: list[Edge] = field(default_factory=list, repr=False, compare=False)


@dataclass(slots=True)
class Slotted:
    id: str
    others: list[Slotted] = field(default_factory=list)


@pytest.fixture(scope="module")
def item() -> EntityMapping[Item]:
    return Registry().map(Item, key="id")


def compiled(where: Criterion, mapping: EntityMapping[Any]) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {}
    return where.compile(mapping, params), params


def truth(where: Criterion, mapping: EntityMapping[Any], **values: Any) -> bool | None:
    return where.evaluate(mapping, values)


# -- compiling: names checked, values as parameters ------------------------------------------


def test_values_travel_as_parameters_and_never_reach_the_text(item: EntityMapping[Item]) -> None:
    hostile = "x' OR 1=1 }) DETACH DELETE n //"
    where = (F("s") == hostile) | F("s").startswith(hostile) & ~F("n").is_in([1, 2]) | (F("n") > 3)
    text, params = compiled(where, item)
    assert hostile not in text
    assert text == ("((n.s = $w0 OR (n.s STARTS WITH $w1 AND (NOT n.n IN $w2))) OR n.n > $w3)")
    assert params == {"w0": hostile, "w1": hostile, "w2": [1, 2], "w3": 3}


def test_none_compares_as_is_null(item: EntityMapping[Item]) -> None:
    assert compiled(F("n") == None, item) == ("n.n IS NULL", {})  # noqa: E711
    assert compiled(F("n") != None, item) == ("n.n IS NOT NULL", {})  # noqa: E711
    assert compiled(F("n").is_null(), item)[0] == "n.n IS NULL"
    assert compiled(F("n").is_not_null(), item)[0] == "n.n IS NOT NULL"


def test_values_are_encoded_like_stored_values(item: EntityMapping[Item]) -> None:
    code = uuid.UUID(int=7)
    _, params = compiled((F("code") == code) & (F("price") == Decimal("1.50")), item)
    assert params == {"w0": str(code), "w1": "1.50"}


@pytest.mark.parametrize(
    "name",
    ["nope", "n) RETURN 1 //", "n.n", "", "N", "tags_0", "id` OR `1", "version"],
)
def test_a_name_that_is_not_a_stored_field_is_refused(item: EntityMapping[Item], name: str) -> None:
    for where in (F(name) == 1, F(name).is_null(), F(name).is_in([1]), F(name) > 1):
        with pytest.raises(MappingError, match=re.escape(repr(name))) as refused:
            compiled(where, item)
        assert "fields: id, n, s, flag" in str(refused.value)
    with pytest.raises(MappingError):
        parse_order(item, [f"-{name}"])


def test_values_that_cannot_be_stored_are_refused_naming_the_field(
    item: EntityMapping[Item],
) -> None:
    with pytest.raises(ValueEncodingError, match=r"Item\.n criterion"):
        compiled(F("n") > "ten", item)
    with pytest.raises(ValueEncodingError, match=r"Item\.n criterion"):
        compiled(F("n").is_in([1, 2.5]), item)
    with pytest.raises(ValueEncodingError, match=r"Item\.s criterion"):
        compiled(F("s") == "nul\x00", item)


def test_operations_a_field_does_not_support_are_refused(item: EntityMapping[Item]) -> None:
    with pytest.raises(MappingError, match=r"Item\.code \(UUID \| None\).*cannot be used"):
        compiled(F("code") < uuid.UUID(int=1), item)
    with pytest.raises(MappingError, match=r"Item\.price"):
        compiled(F("price") >= Decimal(1), item)
    with pytest.raises(MappingError, match="needs a str field"):
        compiled(F("n").startswith("1"), item)
    with pytest.raises(MappingError, match="does not sort"):
        parse_order(item, "price")


# -- evaluating: Cypher's three-valued logic -----------------------------------------------------

T, FALSE, U = "true", "false", "unknown"


def leaf(kind: str) -> Criterion:
    """A criterion that is true, false or unknown for ``{"n": 1, "s": None}``."""
    return {T: F("n") == 1, FALSE: F("n") == 2, U: F("s") == "x"}[kind]


def as_truth(kind: str) -> bool | None:
    return {T: True, FALSE: False, U: None}[kind]


KINDS = [T, FALSE, U]


@pytest.mark.parametrize("a", KINDS)
@pytest.mark.parametrize("b", KINDS)
def test_and_or_not_follow_kleene_logic(item: EntityMapping[Item], a: str, b: str) -> None:
    x, y = as_truth(a), as_truth(b)
    expected_and = False if False in (x, y) else (None if None in (x, y) else True)
    expected_or = True if True in (x, y) else (None if None in (x, y) else False)
    assert truth(leaf(a) & leaf(b), item, n=1, s=None) is expected_and
    assert truth(leaf(a) | leaf(b), item, n=1, s=None) is expected_or
    assert truth(~leaf(a), item, n=1, s=None) is (None if x is None else not x)


@pytest.mark.parametrize(
    ("where", "values", "expected"),
    [
        (F("n") == 1, {"n": None}, None),
        (F("n") != 1, {"n": None}, None),
        (F("n") < None, {"n": 1}, None),
        (F("n") == 1, {"n": 1}, True),
        (F("n") != 1, {"n": 2}, True),
        (F("n").between(1, 3), {"n": 3}, True),
        (F("n").between(1, 3), {"n": 4}, False),
        (F("n").between(1, None), {"n": 0}, False),  # false AND unknown
        (F("n").between(1, None), {"n": 2}, None),
        (F("s").startswith("ab"), {"s": "abc"}, True),
        (F("s").endswith("bc"), {"s": "abc"}, True),
        (F("s").contains("x"), {"s": "abc"}, False),
        (F("s").contains(None), {"s": "abc"}, None),
        (F("s").startswith(""), {"s": ""}, True),
        (F("n").is_null(), {}, True),
        (F("n").is_not_null(), {"n": 0}, True),
        # IN: an empty list holds nothing (null included); a miss is unknown when null is involved
        (F("n").is_in([]), {"n": None}, False),
        (F("n").is_in([]), {"n": 1}, False),
        (F("n").is_in([1]), {"n": None}, None),
        (F("n").is_in([1, None]), {"n": 1}, True),
        (F("n").is_in([2, None]), {"n": 1}, None),
        (~F("n").is_in([2, None]), {"n": 1}, None),
        (~F("n").is_in([]), {"n": None}, True),
        (F("n").is_in([2, 3]), {"n": 1}, False),
        # an untyped field: values of different types are unequal, or unordered
        (F("anything") == 1, {"anything": True}, False),
        (F("anything") != 1, {"anything": True}, True),
        (F("anything") == 1, {"anything": 1.0}, True),
        (F("anything").is_in([1, 0]), {"anything": True}, False),
        (F("anything") == "1", {"anything": 1}, False),
        (F("tags") == ["a", "b"], {"tags": ["a", "b"]}, True),
    ],
)
def test_comparisons_evaluate_as_cypher_does(
    item: EntityMapping[Item], where: Criterion, values: dict[str, Any], expected: bool | None
) -> None:
    assert where.evaluate(item, values) is expected


def test_equalities_build_one_criterion(item: EntityMapping[Item]) -> None:
    assert isinstance(from_equals({}), Always)
    both = from_equals({"s": "a", "n": None})
    assert compiled(both, item) == ("(n.n IS NULL AND n.s = $w0)", {"w0": "a"})
    assert combine(None, {}) is None
    where = F("n") > 1
    assert combine(where, {}) is where
    text, params = compiled(combine(where, {"s": "a"}) or Always(), item)
    assert text == "(n.n > $w0 AND n.s = $w1)"
    assert params == {"w0": 1, "w1": "a"}


# -- ordering and cursors -------------------------------------------------------------------------


def test_order_specs_parse_into_keys(item: EntityMapping[Item]) -> None:
    assert parse_order(item, None) == []
    assert parse_order(item, "-n") == [OrderKey("n", True)]
    assert parse_order(item, ["s", "-flag"]) == [OrderKey("s", False), OrderKey("flag", True)]


ROWS = st.lists(
    st.fixed_dictionaries(
        {
            "n": st.sampled_from([None, -1, 0, 3]),
            "s": st.sampled_from([None, "", "a", "B", "é"]),
        }
    ),
    max_size=12,
)
SPECS = st.lists(st.sampled_from(["n", "-n", "s", "-s"]), min_size=1, max_size=2, unique_by=str)


@settings(max_examples=200, deadline=None)
@given(rows=ROWS, specs=SPECS)
def test_after_a_cursor_comes_exactly_what_sorts_after_it(
    item: EntityMapping[Item], rows: list[dict[str, Any]], specs: list[str]
) -> None:
    """For every row of a sorted list, ``after`` its sort values matches exactly the rows past it."""
    keys = [*parse_order(item, [s for s in specs if s.lstrip("-") != "id"]), OrderKey("id", False)]
    ordered = sorted(({**row, "id": f"k{i:02}"} for i, row in enumerate(rows)), key=sort_key(keys))
    for i, row in enumerate(ordered):
        cursor = [row[k.field] for k in keys]
        condition = after(keys, cursor)
        past = [r["id"] for r in ordered if condition.evaluate(item, r) is True]
        assert past == [r["id"] for r in ordered[i + 1 :]]


def test_sort_key_puts_nulls_last_ascending_and_first_descending() -> None:
    rows = [{"n": 2}, {"n": None}, {"n": 1}]
    assert [r["n"] for r in sorted(rows, key=sort_key([OrderKey("n", False)]))] == [1, 2, None]
    assert [r["n"] for r in sorted(rows, key=sort_key([OrderKey("n", True)]))] == [None, 2, 1]


# -- relationship declarations ----------------------------------------------------------------


def test_a_relationship_needs_a_safe_type_name() -> None:
    for name in ("PARENT_OF]->(x) DETACH DELETE x //", "has space", "MATCH", ""):
        with pytest.raises(UnsafeIdentifierError):
            Registry().map(
                Node, key="id", exclude=["parent"], relationships={"children": to_many(Node, name)}
            )


@pytest.mark.parametrize(
    ("declare", "message"),
    [
        (lambda: to_many(Node, "CHILD", via=Edge), "give both `via` and `target_field`"),
        (lambda: to_many(Node, "CHILD", target_field="target"), "give both"),
        (lambda: to_many(Node, "CHILD", direction="up"), "direction must be out, in or both"),  # type: ignore[arg-type]
        (lambda: to_many(Node, "CHILD", on_delete="nullify"), "on_delete must be"),  # type: ignore[arg-type]
        (lambda: to_many(Node, "CHILD", via=int, target_field="x"), "must be a dataclass"),
        (lambda: to_many(Node, "CHILD", via=Edge, target_field="node"), "has no field 'node'"),
        (lambda: to_many(Node, "CHILD", indexes=["weight"]), "indexes name no edge property"),
    ],
)
def test_invalid_relationship_declarations_are_refused(declare: Any, message: str) -> None:
    with pytest.raises(MappingError, match=re.escape(message)):
        Registry().map(Node, key="id", exclude=["parent"], relationships={"children": declare()})


def test_relationships_need_a_plain_dataclass_field_other_than_the_key() -> None:
    with pytest.raises(MappingError, match="without slots"):
        Registry().map(Slotted, key="id", relationships={"others": to_many(Slotted, "KNOWS")})
    with pytest.raises(MappingError, match="key field 'id' cannot be a relationship"):
        Registry().map(Node, key="id", relationships={"id": to_one(Node, "SELF")})
    with pytest.raises(MappingError, match="unknown fields"):
        Registry().map(Node, key="id", relationships={"kids": to_many(Node, "CHILD")})


def node_registry() -> Registry:
    registry = Registry()
    registry.map(
        Node,
        key="id",
        relationships={
            "children": to_many(Node, "CHILD", on_delete="cascade"),
            "parent": to_one(Node, "CHILD", direction="in"),
        },
    )
    return registry


def test_loading_an_undeclared_relationship_is_refused_naming_the_known_ones() -> None:
    mapping = node_registry().mapping_for(Node)
    with pytest.raises(
        MappingError, match=r"Node has no relationship 'kids' \(it has: children, parent\)"
    ):
        require_mapping_relationships(mapping, ["children", "kids"])
    assert [r.name for r in require_mapping_relationships(mapping, "parent")] == ["parent"]


def test_each_loaded_relationship_gets_its_own_query_variables() -> None:
    """Relationships loaded together are matched and collected under names of their own."""
    mapping = node_registry().mapping_for(Node)
    rels = list(mapping.relationships.values())
    read = by_key(mapping, "a", rels)
    assert "OPTIONAL MATCH (n)-[r0:CHILD]->(m0:Node)" in read.query
    assert "CASE WHEN m0 IS NULL THEN NULL ELSE [m0.id, 0] END) AS rel0" in read.query
    assert "OPTIONAL MATCH (n)<-[r1:CHILD]-(m1:Node)" in read.query
    assert "CASE WHEN m1 IS NULL THEN NULL ELSE [m1.id, 0] END) AS rel1" in read.query
    assert read.query.endswith("RETURN n.id, 0, rel0, rel1")
    assert read.params == {"key": "a"}


def untracked(target: object) -> None:
    """No unit tracks the targets here: their keys are encoded as they would be stored."""


def test_a_relationship_holds_each_target_once_and_only_targets_of_its_type() -> None:
    registry = node_registry()
    registry.map(
        Holder,
        key="id",
        relationships={"links": to_many(Node, "LINK", via=Edge, target_field="target")},
    )
    rel = registry.mapping_for(Holder).relationships["links"]
    a, b = Node("a"), Node("b")
    holder = Holder("h", [Edge(a, 1), Edge(b, 2)])
    assert {k: v[1] for k, v in rel.current(holder, untracked).items()} == {"a": (1,), "b": (2,)}
    holder.links.append(Edge(a, 3))
    with pytest.raises(ValueEncodingError, match=r"Holder\['h'\]\.links holds Node\['a'\] twice"):
        rel.current(holder, untracked)
    holder.links = [Edge(Holder("x"), 1)]  # type: ignore[arg-type]
    with pytest.raises(ValueEncodingError, match="holds a Holder; expected Node"):
        rel.current(holder, untracked)
    holder.links = [Edge(a, 1.5)]  # type: ignore[arg-type]
    with pytest.raises(ValueEncodingError, match=r"Holder\.links edge weight"):
        rel.current(holder, untracked)
    holder.links = Edge(a, 1)  # type: ignore[assignment]
    with pytest.raises(ValueEncodingError, match="must be a list"):
        rel.current(holder, untracked)


@pytest.mark.parametrize("where", [1, "age > 3", {"age": 3}, True])
def test_a_where_that_is_not_a_criterion_is_refused_naming_what_it_got(where: object) -> None:
    from infrastructure.persistence.overlay import criterion

    with pytest.raises(
        TypeError, match=rf"where must be a criterion built with F.*{type(where).__name__}"
    ):
        criterion(where)
    assert criterion(None).evaluate(node_registry().mapping_for(Node), {}) is True


# -- text upper bounds stay off FalkorDB's range index ------------------------------------


def test_text_upper_bounds_are_written_so_the_index_cannot_serve_them(
    item: EntityMapping[Item],
) -> None:
    assert compiled(F("s") < "t", item)[0] == "coalesce(n.s) < $w0"
    assert compiled(F("s") <= "t", item)[0] == "coalesce(n.s) <= $w0"
    assert compiled(F("s") >= "t", item)[0] == "n.s >= $w0"
    assert compiled(F("s") > "t", item)[0] == "n.s > $w0"
    assert compiled(F("n") < 3, item)[0] == "n.n < $w0"  # numbers: the index is right
    assert compiled(F("s") == "t", item)[0] == "n.s = $w0"


def test_under_a_not_the_lower_text_bounds_are_the_upper_ones(item: EntityMapping[Item]) -> None:
    assert compiled(~(F("s") >= "t"), item)[0] == "(NOT coalesce(n.s) >= $w0)"
    assert compiled(~(F("s") < "t"), item)[0] == "(NOT n.s < $w0)"
    text = compiled(~~((F("s") <= "a") & (F("s") > "b")), item)[0]
    assert text == "(NOT (NOT (coalesce(n.s) <= $w0 AND n.s > $w1)))"
    text = compiled(~((F("s") <= "a") | (F("s") > "b")), item)[0]
    assert text == "(NOT (n.s <= $w0 OR coalesce(n.s) > $w1))"
