"""Criteria queries, pages, cursors and custom Cypher against the real server.

Every test taking ``harness`` runs with the sync and the async unit. A query
inside a unit answers for what the unit holds (added, edited and deleted
entities included) without writing anything first.
"""

from __future__ import annotations

import base64
import json
import random
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infrastructure.persistence import (
    Conversation,
    Criterion,
    F,
    MappingError,
    Page,
    Registry,
    RepositoryBase,
    Rows,
    UnitOfWork,
    ValueEncodingError,
    ensure_schema,
)
from tests.integration.graph_support import Person, befriend, open_unit, prepare

if TYPE_CHECKING:
    from tests.integration.conftest import Harness

AGES: dict[str, int | None] = {
    "Ann": 31,
    "Abe": 25,
    "Bob": None,
    "Cid": 40,
    "Dee": 25,
    "Eve": None,
    "Amy": 52,
    "Al": 31,
}


def names(found: list[Person]) -> list[str]:
    return [p.name for p in found]


def python_order(specs: list[str], people: list[tuple[str, int | None]]) -> list[str]:
    """Names ordered as Cypher orders them: nulls last ascending, first descending; then by id."""
    rows = sorted(people, key=lambda p: p[0].lower())  # the key breaks ties (id = lower name)
    for spec in reversed(specs):
        desc = spec.startswith("-")
        field = spec.lstrip("-")
        index = 0 if field == "name" else 1
        present = [r for r in rows if r[index] is not None]
        absent = [r for r in rows if r[index] is None]
        present.sort(key=lambda r: r[index], reverse=desc)  # type: ignore[arg-type,return-value]
        rows = absent + present if desc else present + absent
    return [r[0] for r in rows]


@pytest.fixture
def reg(harness: Harness) -> Registry:
    return prepare(harness.graph)


@pytest.fixture
async def crowd(harness: Harness, reg: Registry) -> None:
    async with open_unit(harness, reg) as uow:
        for name, age in AGES.items():
            uow.add(Person(name.lower(), name, age, f"{name.lower()}@example.com"))
    harness.log.clear()


# -- criteria ---------------------------------------------------------------------------------

CASES: list[tuple[str, Criterion, list[str]]] = [
    ("eq", F("age") == 25, ["Abe", "Dee"]),
    ("ne excludes missing", F("age") != 25, ["Al", "Amy", "Ann", "Cid"]),
    ("not eq excludes missing", ~(F("age") == 25), ["Al", "Amy", "Ann", "Cid"]),
    ("eq None", F("age") == None, ["Bob", "Eve"]),  # noqa: E711
    ("ne None", F("age") != None, ["Abe", "Al", "Amy", "Ann", "Cid", "Dee"]),  # noqa: E711
    ("lt", F("age") < 31, ["Abe", "Dee"]),
    ("le", F("age") <= 31, ["Abe", "Al", "Ann", "Dee"]),
    ("gt", F("age") > 31, ["Amy", "Cid"]),
    ("ge", F("age") >= 40, ["Amy", "Cid"]),
    ("between", F("age").between(25, 31), ["Abe", "Al", "Ann", "Dee"]),
    ("is_in", F("name").is_in(["Ann", "Bob", "Zoe"]), ["Ann", "Bob"]),
    ("is_in empty", F("name").is_in([]), []),
    ("startswith", F("name").startswith("A"), ["Abe", "Al", "Amy", "Ann"]),
    ("endswith", F("name").endswith("e"), ["Abe", "Dee", "Eve"]),
    ("contains", F("email").contains("m"), ["Abe", "Al", "Amy", "Ann", "Bob", "Cid", "Dee", "Eve"]),
    ("is_null", F("age").is_null(), ["Bob", "Eve"]),
    ("is_not_null", F("age").is_not_null(), ["Abe", "Al", "Amy", "Ann", "Cid", "Dee"]),
    ("or with unknown", (F("age") > 45) | F("name").startswith("E"), ["Amy", "Eve"]),
    ("not of unknown", ~(F("age") > 30), ["Abe", "Dee"]),
    ("lt None is unknown", F("age") < None, []),
    ("and", (F("age") >= 25) & (F("age") < 40) & ~F("name").contains("n"), ["Abe", "Al", "Dee"]),
]


@pytest.mark.parametrize(("case", "where", "expected"), CASES, ids=[c[0] for c in CASES])
async def test_criteria_match_as_cypher_does(
    harness: Harness, reg: Registry, crowd: None, case: str, where: Criterion, expected: list[str]
) -> None:
    async with open_unit(harness, reg) as uow:
        repo = uow.repository(Person)
        assert sorted(names(await repo.find(where))) == expected
        assert await repo.count(where) == len(expected)


async def test_find_combines_and_or_not_and_orders_by_several_fields(
    harness: Harness, reg: Registry, crowd: None
) -> None:
    where = (F("age") > 30) & F("name").startswith("A") | ~F("age").is_not_null()
    async with open_unit(harness, reg) as uow:
        repo = uow.repository(Person)
        found = await repo.find(where, order_by=["-age", "name"])
        assert names(found) == ["Bob", "Eve", "Amy", "Al", "Ann"]  # nulls first descending
        assert names(await repo.find(where, order_by=["age", "-name"])) == [
            "Ann",
            "Al",
            "Amy",
            "Eve",
            "Bob",
        ]
        assert names(await repo.find(where, order_by=["-age", "name"], limit=2, offset=1)) == [
            "Eve",
            "Amy",
        ]
        assert await repo.find(where, limit=0) == []
        assert len(harness.log.reads) == 4


async def test_count_takes_criteria_and_equalities(
    harness: Harness, reg: Registry, crowd: None
) -> None:
    async with open_unit(harness, reg) as uow:
        repo = uow.repository(Person)
        assert await repo.count() == len(AGES)
        assert await repo.count(age=25) == 2
        assert await repo.count(age=None) == 2
        assert await repo.count(F("name").startswith("A"), age=31) == 2
        assert await repo.count(F("name").startswith("A"), age=31, name="Al") == 1


async def test_bad_values_and_limits_are_refused_before_anything_is_sent(
    harness: Harness, reg: Registry, crowd: None
) -> None:
    async with open_unit(harness, reg) as uow:
        repo = uow.repository(Person)
        with pytest.raises(ValueEncodingError, match=r"Person\.age"):
            await repo.find(F("age") > "thirty")
        with pytest.raises(ValueEncodingError, match=r"Person\.age"):
            await repo.count(F("age").is_in([1, "two"]))
        with pytest.raises(MappingError, match="needs a str field"):
            await repo.find(F("age").startswith("3"))
        with pytest.raises(ValueError, match="limit"):
            await repo.find(limit=-1)
        with pytest.raises(ValueError, match="offset"):
            await repo.find(offset=1.5)
    assert harness.log.sent == []


# -- names never reach the query text; values travel as parameters ----------------------------

HOSTILE_NAMES = [
    "name) RETURN n //",
    "name` OR 1=1",
    "age; MATCH (m) DETACH DELETE m",
    "",
    "friendships",  # a relationship, not a stored scalar
    "version",  # stored, but not a field of the entity's criteria
]


@pytest.mark.parametrize("field", HOSTILE_NAMES)
async def test_field_names_are_checked_against_the_mapping(
    harness: Harness, reg: Registry, crowd: None, field: str
) -> None:
    async with open_unit(harness, reg) as uow:
        repo = uow.repository(Person)
        for call in (
            lambda: repo.find(F(field) == 1),
            lambda: repo.find(F(field).is_null()),
            lambda: repo.count(F(field) > 1),
            lambda: repo.find(order_by=[field]),
            lambda: repo.find(order_by=[f"-{field}"]),
            lambda: repo.keyset(order_by=field),
            lambda: repo.page(order_by=field),
            lambda: repo.find_by(**{field: 1}),
            lambda: repo.count(**{field: 1}),
        ):
            with pytest.raises(MappingError, match="no stored scalar field"):
                await call()
    assert harness.log.sent == []
    assert sorted(p[0] for p in harness.graph.ro_query("MATCH (n) RETURN n.name").result_set) == (
        sorted(AGES)
    )


async def test_hostile_values_are_compared_literally_and_never_written_into_the_query(
    harness: Harness, reg: Registry, crowd: None
) -> None:
    hostile = "x' OR 1=1 WITH n MATCH (m) DETACH DELETE m //"
    async with open_unit(harness, reg) as uow:
        uow.add(Person("quote", hostile))
        await uow.commit()
        harness.log.clear()
        repo = uow.repository(Person)
        assert names(await repo.find(F("name") == hostile)) == [hostile]
        assert names(await repo.find(F("name").startswith("x' OR"))) == [hostile]
        assert await repo.find(F("name") == "x") == []
        assert await repo.count(name=hostile) == 1
        assert names(await repo.find_by(name=hostile)) == [hostile]
    assert harness.log.sent
    for sent in harness.log.sent:
        assert "DELETE" not in sent.query
        assert hostile not in sent.query
    assert harness.graph.ro_query("MATCH (n:Person) RETURN count(n)").result_set == [
        [len(AGES) + 1]
    ]


TRICKY_TEXTS = [
    "a'b",
    'a"b',
    "a\\b",
    "a\\'b",
    "\\",
    "'",
    "}",
    "\n",
    'a\\"b',
    "x\\' OR 1=1 //",
    "ü\t\r",
    "`",
    "$w0",
    "\\u0041",
]


async def test_quotes_backslashes_and_braces_are_stored_and_matched_literally(
    harness: Harness, reg: Registry
) -> None:
    async with open_unit(harness, reg) as uow:
        for i, text in enumerate(TRICKY_TEXTS):
            uow.add(Person(f"t{i:02}", text))
    async with open_unit(harness, reg) as uow:
        repo = uow.repository(Person)
        for i, text in enumerate(TRICKY_TEXTS):
            assert [p.id for p in await repo.find(F("name") == text)] == [f"t{i:02}"]
            assert (await repo.get(f"t{i:02}")).name == text
            assert f"t{i:02}" in [p.id for p in await repo.find(F("name").contains(text))]
        assert await repo.count(F("name").is_in(TRICKY_TEXTS)) == len(TRICKY_TEXTS)


# -- pages and cursors ------------------------------------------------------------------------


async def test_pages_report_totals_and_slice_in_order(
    harness: Harness, reg: Registry, crowd: None
) -> None:
    everyone = python_order(["-age", "name"], list(AGES.items()))
    async with open_unit(harness, reg) as uow:
        repo = uow.repository(Person)
        pages = [await repo.page(order_by=["-age", "name"], number=n, size=3) for n in (1, 2, 3)]
        assert [names(p.items) for p in pages] == [everyone[0:3], everyone[3:6], everyone[6:]]
        assert {(p.total, p.size, p.pages) for p in pages} == {(8, 3, 3)}
        assert [p.number for p in pages] == [1, 2, 3]
        beyond = await repo.page(order_by="name", number=9, size=3)
        assert (beyond.items, beyond.total, beyond.pages) == ([], 8, 3)
        some = await repo.page(F("age") == 25, order_by="name", size=10)
        assert (names(some.items), some.total, some.pages) == (["Abe", "Dee"], 2, 1)
        none = await repo.page(F("age") > 99)
        assert (none.items, none.total, none.pages) == ([], 0, 1)
        for bad in ({"number": 0}, {"size": 0}, {"number": 1.5}):
            with pytest.raises(ValueError, match="page"):
                await repo.page(**bad)
    assert Page([1], total=7, number=1, size=2).pages == 4


ORDERS = [["age"], ["-age"], ["age", "-name"], ["-age", "-name"], ["name"], None]


@pytest.mark.parametrize("order", ORDERS, ids=lambda o: ",".join(o or ["key"]))
@pytest.mark.parametrize("limit", [1, 3])
async def test_keyset_walks_every_row_exactly_once_in_order(
    harness: Harness, reg: Registry, crowd: None, order: list[str] | None, limit: int
) -> None:
    async with open_unit(harness, reg) as uow:
        repo = uow.repository(Person)
        walked: list[str] = []
        cursor = None
        for _ in range(len(AGES) + 2):
            part = await repo.keyset(order_by=order, after=cursor, limit=limit)
            assert len(part.items) <= limit
            walked.extend(names(part.items))
            cursor = part.cursor
            if cursor is None:
                break
        assert cursor is None
        assert walked == python_order(order or [], list(AGES.items()))
        everything = await repo.keyset(order_by=order, limit=len(AGES))
        assert names(everything.items) == walked
        assert everything.cursor is None


async def test_keyset_with_criteria_pages_only_the_matches(
    harness: Harness, reg: Registry, crowd: None
) -> None:
    async with open_unit(harness, reg) as uow:
        repo = uow.repository(Person)
        first = await repo.keyset(~(F("age") == 25), order_by="age", limit=2)
        assert names(first.items) == ["Al", "Ann"]
        second = await repo.keyset(~(F("age") == 25), order_by="age", after=first.cursor, limit=2)
        assert names(second.items) == ["Cid", "Amy"]
        assert second.cursor is None  # NOT (null = 25) is unknown: Bob and Eve do not match


def forged(values: Any) -> str:
    raw = json.dumps(values).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor", ["not a cursor!", forged({"a": 1}), forged([1, "x", 3]), forged("age")]
)
async def test_a_cursor_that_no_query_returned_is_refused(
    harness: Harness, reg: Registry, crowd: None, cursor: str
) -> None:
    async with open_unit(harness, reg) as uow:
        with pytest.raises(ValueError, match="invalid cursor"):
            await uow.repository(Person).keyset(order_by="age", after=cursor)
    assert harness.log.sent == []


# -- the unit's pending changes are part of every answer ------------------------------------


async def test_queries_see_what_the_unit_added_edited_and_deleted_without_writing(
    harness: Harness, reg: Registry, crowd: None
) -> None:
    async with open_unit(harness, reg) as uow:
        repo = uow.repository(Person)
        ann, bob, cid = await repo.get_many(["ann", "bob", "cid"])
        uow.add(Person("ava", "Ava", 33))
        uow.delete(ann)
        bob.age = 60  # null -> matches
        cid.age = None  # matches -> null
        over_30 = F("age") > 30
        assert names(await repo.find(over_30, order_by="-age")) == ["Bob", "Amy", "Ava", "Al"]
        assert names(await repo.find(over_30, order_by="-age", limit=2)) == ["Bob", "Amy"]
        assert names(await repo.find(over_30, order_by="-age", limit=2, offset=2)) == [
            "Ava",
            "Al",
        ]
        assert await repo.count(over_30) == 4
        assert await repo.count() == len(AGES)  # one added, one deleted
        assert names(await repo.find_by(name="Ava")) == ["Ava"]
        assert await repo.find_by(name="Ann") == []
        assert await repo.find_one_by(name="Ann") is None
        assert names(await repo.find(F("age").is_null(), order_by="name")) == ["Cid", "Eve"]
        page = await repo.page(over_30, order_by="age", number=2, size=3)
        assert (names(page.items), page.total) == (["Bob"], 4)
        walked = []
        cursor = None
        while True:
            part = await repo.keyset(over_30, order_by="age", after=cursor, limit=1)
            walked.extend(names(part.items))
            if (cursor := part.cursor) is None:
                break
        assert walked == ["Al", "Ava", "Amy", "Bob"]
        assert harness.log.writes == []  # no autoflush: the unit can still be abandoned
        await uow.rollback()
    assert harness.log.writes == []
    async with open_unit(harness, reg) as uow:
        assert await uow.repository(Person).count(F("age") > 30) == 4  # Ann, Al, Cid, Amy


async def test_a_query_sees_an_edit_made_to_an_entity_it_returns(
    harness: Harness, reg: Registry, crowd: None
) -> None:
    async with open_unit(harness, reg) as uow:
        repo = uow.repository(Person)
        [amy] = await repo.find(F("name") == "Amy")
        amy.name = "Amelia"
        assert await repo.find(F("name") == "Amy") == []
        assert await repo.find(F("name") == "Amelia") == [amy]
        assert (await repo.find(F("name") == "Amelia"))[0] is amy
        await uow.rollback()


# -- custom Cypher ----------------------------------------------------------------------------


async def test_custom_queries_return_the_unit_s_tracked_entities(
    harness: Harness, reg: Registry, crowd: None
) -> None:
    async with open_unit(harness, reg) as uow:
        repo = uow.repository(Person)
        ann, bob = await repo.get_many(["ann", "bob"], load=["friendships"])
        befriend(ann, bob, date(2021, 3, 4))
        await uow.commit()
        ann.name = "Ann (edited)"  # the unit's version wins over what is stored
        rows = await repo.query(
            "MATCH (a:Person)-[r:FRIEND]->(b:Person) WHERE r.since = $since "
            "RETURN a, b.name, [a, b], r.since",
            since=date(2021, 3, 4),
        )
        assert len(rows) == 1
        a, b_name, pair, since = rows[0]
        assert a is ann
        assert a.name == "Ann (edited)"
        assert b_name == "Bob"
        assert pair[0] is ann
        assert pair[1] is bob
        assert since == "2021-03-04"  # plain values come back as stored
        [[path]] = await repo.query(
            "MATCH p = (:Person {id: $a})-[:FRIEND]-(:Person {id: $b}) RETURN p", a="ann", b="bob"
        )
        assert path[0] is ann
        assert path[1] is bob
        amy = await repo.get("amy")
        assert await repo.query_entities(
            "MATCH (n:Person) WHERE n.age > $age RETURN n ORDER BY n.age DESC", age=35
        ) == [amy, await repo.get("cid")]
        assert (await repo.query_entities("MATCH (n:Person {id: 'amy'}) RETURN n"))[0] is amy
        uow.delete(amy)
        assert await repo.query("MATCH (n:Person {id: 'amy'}) RETURN n") == [[None]]
        await uow.rollback()


def _older_than(
    repo: RepositoryBase[Person], age: int
) -> Conversation[tuple[list[bool], Rows, Person | None]]:
    """A custom read written once on the public helpers, for either unit."""
    raw = yield from repo.raw_rows(
        "MATCH (n:Person) WHERE n.age > $age RETURN n ORDER BY n.id", age=age
    )
    tracked = [isinstance(row[0], Person) for row in raw]
    kept = [row for row in raw if row[0].properties["name"] != "Amy"]
    ann = yield from repo.lookup("ann")
    return tracked, repo.as_entities(kept), ann


async def test_a_custom_conversation_on_the_public_helpers_runs_on_either_unit(
    harness: Harness, reg: Registry, crowd: None
) -> None:
    async with open_unit(harness, reg) as uow:
        repo = uow.repository(Person)
        base = getattr(repo, "sync", repo)  # the sync variant wraps its repository in awaitables
        uow.delete(await repo.get("cid"))
        harness.log.clear()
        tracked, kept, ann = await repo.run(_older_than(base, 30))
        assert tracked == [False, False, False, False]  # raw rows hold the client's nodes
        assert [[p.name if p else None for p in row] for row in kept] == [["Al"], ["Ann"], [None]]
        assert ann is not None
        assert kept[1][0] is ann  # the node kept became the unit's entity
        assert len(harness.log.reads) == 2  # the custom read, then ann's lookup
        assert await repo.run(base.lookup("ann")) is ann
        assert await repo.run(base.rows("MATCH (n:Person {id: 'al'}) RETURN n")) == [kept[0]]
        assert len(harness.log.reads) == 3  # the lookup came from the identity map
        await uow.rollback()


async def test_query_entities_needs_entities_of_its_type_in_the_first_column(
    harness: Harness, reg: Registry, crowd: None
) -> None:
    async with open_unit(harness, reg) as uow:
        repo = uow.repository(Person)
        with pytest.raises(MappingError, match="first column must return Person"):
            await repo.query_entities("MATCH (n:Person) RETURN n.name")
        with pytest.raises(ValueError, match="Cypher text"):
            await repo.query("   ")


# -- three-valued logic: the in-memory answer is the server's answer --------------------------

INTS = [-1, 0, 1, 2, 5, None]
TEXTS = ["", "a", "ab", "b", "B", "é", "aé", "Z", None]
FLOATS = [-1.5, 0.0, 0.5, 2.0, None]
BOOLS = [True, False, None]
POOLS: dict[str, list[Any]] = {"i": INTS, "s": TEXTS, "f": FLOATS, "b": BOOLS}


@dataclass
class Sample:
    id: str
    i: int | None
    s: str | None
    f: float | None
    b: bool | None


@dataclass
class PendingSample:
    """The same rows as ``Sample``, only ever held by a unit (never written)."""

    id: str
    i: int | None
    s: str | None
    f: float | None
    b: bool | None


@st.composite
def criteria(draw: st.DrawFn, depth: int = 0) -> Criterion:
    """A random criterion over ``Sample``'s fields, values often None."""
    kind = draw(st.sampled_from(["leaf", "and", "or", "not"] if depth < 3 else ["leaf"]))
    if kind == "and":
        return draw(criteria(depth + 1)) & draw(criteria(depth + 1))
    if kind == "or":
        return draw(criteria(depth + 1)) | draw(criteria(depth + 1))
    if kind == "not":
        return ~draw(criteria(depth + 1))
    field = draw(st.sampled_from(sorted(POOLS)))
    value = st.sampled_from(POOLS[field])
    op = draw(
        st.sampled_from(
            ["==", "!=", "<", "<=", ">", ">=", "between", "in", "null", "not null"]
            + (["startswith", "endswith", "contains"] if field == "s" else [])
        )
    )
    f = F(field)
    if op == "between":
        return f.between(draw(value), draw(value))
    if op == "in":
        return f.is_in(draw(st.lists(value, max_size=3)))
    if op == "null":
        return f.is_null()
    if op == "not null":
        return f.is_not_null()
    if op in ("startswith", "endswith", "contains"):
        method: Any = getattr(f, op)
        return method(draw(value))  # type: ignore[no-any-return]
    compare = {
        "==": f.__eq__,
        "!=": f.__ne__,
        "<": f.__lt__,
        "<=": f.__le__,
        ">": f.__gt__,
        ">=": f.__ge__,
    }[op]
    return compare(draw(value))  # type: ignore[no-any-return]


ORDER_FIELDS = st.lists(
    st.sampled_from(["i", "-i", "s", "-s", "f", "-f", "b", "-b"]), max_size=2, unique=True
)


def test_pending_entities_match_and_sort_exactly_as_the_server_does(graph: Any) -> None:
    """Rows the server filters and sorts, and the same rows held only by the unit, agree."""
    registry = Registry()
    registry.map(Sample, key="id")
    registry.map(PendingSample, key="id")
    ensure_schema(graph, registry)
    pick = random.Random(20240611)
    rows = [
        {field: pick.choice(pool) for field, pool in POOLS.items()} | {"id": f"r{n:02}"}
        for n in range(40)
    ]
    with UnitOfWork(graph, registry) as uow:
        for row in rows:
            uow.add(Sample(**row))
    with UnitOfWork(graph, registry) as uow:
        for row in rows:
            uow.add(PendingSample(**row))
        stored, pending = uow.repository(Sample), uow.repository(PendingSample)

        @settings(max_examples=200, deadline=None, derandomize=True)
        @given(where=criteria(), order=ORDER_FIELDS)
        def agree(where: Criterion, order: list[str]) -> None:
            order_by = [*order, "id"]
            server = [e.id for e in stored.find(where, order_by=order_by)]
            held = [e.id for e in pending.find(where, order_by=order_by)]
            assert held == server
            assert pending.count(where) == stored.count(where) == len(server)

        agree()
        assert uow.has_pending_changes
        uow.close()  # never written
    assert graph.ro_query("MATCH (n:PendingSample) RETURN count(n)").result_set == [[0]]


def random_row(pick: random.Random, key: str) -> dict[str, Any]:
    return {field: pick.choice(pool) for field, pool in POOLS.items()} | {"id": key}


def test_pages_and_cursors_over_pending_edits_agree_with_the_server(graph: Any) -> None:
    """The server holds the rows as edited; the unit holds the originals and the edits.

    ``Sample`` stores the final rows; ``PendingSample`` stores the original
    rows, and one open unit edits, deletes and adds to reach the same final
    rows without writing them. Every finder must answer the same for both.
    """
    registry = Registry()
    registry.map(Sample, key="id")
    registry.map(PendingSample, key="id")
    ensure_schema(graph, registry)
    pick = random.Random(7)
    original = [random_row(pick, f"r{n:02}") for n in range(30)]
    final: list[dict[str, Any]] = []
    for row in original:
        fate = pick.random()
        if fate < 0.15:
            continue  # deleted
        final.append(random_row(pick, row["id"]) if fate < 0.6 else row)
    final.extend(random_row(pick, f"r{n:02}") for n in range(30, 38))  # added
    with UnitOfWork(graph, registry) as uow:
        for row in final:
            uow.add(Sample(**row))
        for row in original:
            uow.add(PendingSample(**row))
    with UnitOfWork(graph, registry) as uow:
        stored, pending = uow.repository(Sample), uow.repository(PendingSample)
        wanted = {row["id"]: row for row in final}
        for entity in pending.list():
            if entity.id not in wanted:
                uow.delete(entity)
            else:
                for name, value in wanted[entity.id].items():
                    setattr(entity, name, value)
        for row in final[len(final) - 8 :]:
            uow.add(PendingSample(**row))

        def walk(repo: Any, where: Criterion, order_by: list[str], limit: int) -> list[str]:
            walked: list[str] = []
            cursor = None
            while True:
                part = repo.keyset(where, order_by=order_by, after=cursor, limit=limit)
                walked.extend(e.id for e in part.items)
                if (cursor := part.cursor) is None:
                    return walked

        @settings(max_examples=80, deadline=None, derandomize=True)
        @given(where=criteria(), order=ORDER_FIELDS, size=st.integers(3, 12))
        def agree(where: Criterion, order: list[str], size: int) -> None:
            expected = [e.id for e in stored.find(where, order_by=[*order, "id"])]
            assert walk(pending, where, order, size) == expected
            assert walk(stored, where, order, size) == expected
            for number in (1, 2):
                held = pending.page(where, order_by=[*order, "id"], number=number, size=size)
                assert [e.id for e in held.items] == expected[(number - 1) * size : number * size]
                assert held.total == len(expected)

        agree()
        uow.close()
    assert graph.ro_query("MATCH (n:PendingSample) RETURN count(n)").result_set == [[30]]
