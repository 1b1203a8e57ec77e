"""Hostile and odd values, keys, criteria and names, through a real commit and load.

Every value either comes back exactly or is refused with
``ValueEncodingError`` before anything is written; no value, key, criterion
or mapping name changes the graph beyond the one intended write.
"""

from __future__ import annotations

import inspect
import re
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infrastructure.persistence import (
    EntityNotFoundError,
    MappingError,
    Registry,
    Repository,
    UnsafeIdentifierError,
    ValueEncodingError,
    ensure_key_constraints,
)
from infrastructure.server import Database, EmbeddedFalkorDB

from .hostile import (
    INJECTIONS,
    Doc,
    DocUnit,
    crashes_unique_constraint,
    doc_registry,
    docs,
    hostile_text,
    same_value,
    snapshot,
)
from .profile import Figures, current_profile

EXAMPLES = current_profile().hostile_examples
FIELDS = ("id", "text", "number", "real", "tags", "numbers", "extra", "stamp")
SAFE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
# Named arguments of the query methods (``order_by``, ``where``, ...): not field criteria.
QUERY_OPTIONS = {
    p.name
    for method in (Repository.find_by, Repository.count)
    for p in inspect.signature(method).parameters.values()
    if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
}


def hypothesis_settings(examples: int = EXAMPLES) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedFalkorDB]:
    """A server of this module's own, so that whatever an input provokes stays here."""
    with EmbeddedFalkorDB(appendfsync=None) as running:
        yield running


@pytest.fixture
def doc_graph(server: EmbeddedFalkorDB, graph_name: str) -> Iterator[Any]:
    """A graph with the Doc key constraint and a few bystander nodes an injection might hit."""
    with Database(server.url) as db:
        graph = db.graph(graph_name)
        ensure_key_constraints(graph, doc_registry())
        with DocUnit(graph, doc_registry()) as uow:
            for i in range(3):
                uow.docs.add(Doc(id=f"bystander-{i}", text="keep me", tags=["a", "b"]))
        graph.query("CREATE (:Other {name: 'also keep me'})-[:LINK]->(:Other {name: 'me too'})")
        yield graph
        graph.delete()


def changed_nodes(before: tuple[list[str], int], after: tuple[list[str], int]) -> tuple[int, int]:
    """(nodes gone, nodes new) between two snapshots; relationships must not change."""
    old, new = Counter(before[0]), Counter(after[0])
    assert before[1] == after[1], "relationships changed"
    return sum((old - new).values()), sum((new - old).values())


def test_every_value_round_trips_exactly_or_is_refused_before_any_write(
    doc_graph: Any, figures: Figures
) -> None:
    registry = doc_registry()
    tally: Counter[str] = Counter()

    @hypothesis_settings()
    @given(doc=docs)
    def check(doc: Doc) -> None:
        tally["tried"] += 1
        before = snapshot(doc_graph)
        try:
            with DocUnit(doc_graph, registry) as uow:
                uow.docs.add(doc)
        except ValueEncodingError:
            tally["refused"] += 1
            unchanged = snapshot(doc_graph) == before
            tally["wrongly_written"] += not unchanged
            assert unchanged
            return
        tally["accepted"] += 1
        try:
            with DocUnit(doc_graph, registry) as uow:
                loaded = uow.docs.get(doc.id)
                differing = {
                    f: (getattr(doc, f), getattr(loaded, f))
                    for f in FIELDS
                    if not same_value(getattr(loaded, f), getattr(doc, f))
                }
                criteria = {f: getattr(doc, f) for f in FIELDS}
                found = uow.docs.find_by(**criteria)
                counted = uow.docs.count(**criteria)
            gone, new = changed_nodes(before, snapshot(doc_graph))
            tally["wrongly_written"] += bool(differing) or (gone, new) != (0, 1)
            assert differing == {}
            assert (gone, new) == (0, 1)
            assert found == [loaded]
            assert counted == 1
        finally:  # leave the graph as it was, so that hypothesis can replay the example
            with DocUnit(doc_graph, registry) as uow:
                uow.docs.remove(uow.docs.get(doc.id))
        assert snapshot(doc_graph) == before

    try:
        check()
    finally:
        figures.add("hostile", **{f"values_{k}": v for k, v in tally.items()})
    assert tally["accepted"] > 0
    assert tally["refused"] > 0


def test_injection_strings_are_stored_as_plain_values(doc_graph: Any, figures: Figures) -> None:
    registry = doc_registry()
    for i, attack in enumerate(INJECTIONS):
        before = snapshot(doc_graph)
        key = attack if attack == attack.strip() else f"key-{i}"
        doc = Doc(id=key, text=attack, tags=[attack, attack], extra=[attack])
        with DocUnit(doc_graph, registry) as uow:
            uow.docs.add(doc)
        with DocUnit(doc_graph, registry) as uow:
            loaded = uow.docs.get(key)
            assert (loaded.text, loaded.tags, loaded.extra) == (attack, [attack, attack], [attack])
            assert uow.docs.find_by(text=attack) == [loaded]
            loaded.tags = [attack]
            loaded.number += 1
        with DocUnit(doc_graph, registry) as uow:
            assert (uow.docs.get(key).tags, uow.docs.get(key).number) == ([attack], 1)
        assert changed_nodes(before, snapshot(doc_graph)) == (0, 1)
    figures.add("hostile", injections_tried=len(INJECTIONS), injections_accepted=len(INJECTIONS))


def test_hostile_keys_and_criteria_values_read_nothing_and_change_nothing(
    doc_graph: Any, figures: Figures
) -> None:
    registry = doc_registry()
    tally: Counter[str] = Counter()

    @hypothesis_settings()
    @given(value=hostile_text)
    def check(value: str) -> None:
        tally["injections_tried"] += 1
        before = snapshot(doc_graph)
        try:
            with DocUnit(doc_graph, registry) as uow:
                assert uow.docs.get_or_none(value) is None
                assert not uow.docs.exists(value)
                with pytest.raises(EntityNotFoundError) as missing:
                    uow.docs.get_many(["bystander-0", value])
                assert missing.value.keys == [value]
                assert uow.docs.find_by(text=value) == []
                assert uow.docs.find_by(tags=[value]) == []
                assert uow.docs.count(id=value) == 0
        except ValueEncodingError:
            tally["injections_refused"] += 1
        else:
            tally["injections_accepted"] += 1
        unchanged = snapshot(doc_graph) == before
        tally["wrongly_written"] += not unchanged
        assert unchanged

    try:
        check()
    finally:
        figures.add("hostile", **tally)


def test_hostile_field_names_in_criteria_and_ordering_are_refused(
    doc_graph: Any, figures: Figures
) -> None:
    registry = doc_registry()
    tally: Counter[str] = Counter()
    names = st.one_of(st.text(), st.sampled_from([a + "x" for a in INJECTIONS]))

    @hypothesis_settings()
    @given(name=names.filter(lambda n: n not in FIELDS and n not in QUERY_OPTIONS))
    def check(name: str) -> None:
        tally["injections_tried"] += 1
        before = snapshot(doc_graph)
        with DocUnit(doc_graph, registry) as uow:
            attempts: list[Callable[[], Any]] = [
                lambda: uow.docs.find_by(**{name: "x"}),
                lambda: uow.docs.count(**{name: 1}),
                lambda: uow.docs.find_by(order_by=name),
                lambda: uow.docs.list(order_by=["text", "-" + name]),
            ]
            for attempt in attempts:
                with pytest.raises(MappingError, match="no stored scalar field"):
                    attempt()
        tally["injections_refused"] += 1
        unchanged = snapshot(doc_graph) == before
        tally["wrongly_written"] += not unchanged
        assert unchanged

    try:
        check()
    finally:
        figures.add("hostile", **tally)


def registry_or_error(label: str, version: str) -> Registry | MappingError:
    try:
        return doc_registry(label, version)
    except MappingError as exc:
        return exc


def test_hostile_names_in_mappings_are_refused_or_safe(doc_graph: Any, figures: Figures) -> None:
    tally: Counter[str] = Counter()
    # An empty name means "not given" (the class name, no version).
    names = st.one_of(
        st.text(min_size=1), st.sampled_from(INJECTIONS), st.from_regex(SAFE_NAME, fullmatch=True)
    )

    @hypothesis_settings()
    @given(label=names, version=names)
    def check(label: str, version: str) -> None:
        tally["injections_tried"] += 1
        before = snapshot(doc_graph)
        registry = registry_or_error(label, version)
        if isinstance(registry, UnsafeIdentifierError):
            tally["injections_refused"] += 1
            unsafe = [n for n in (label, version) if not SAFE_NAME.fullmatch(n)]
            assert unsafe or "Cypher keyword" in str(registry)
            return
        if isinstance(registry, MappingError):  # a safe version name that is a non-int field
            tally["injections_refused"] += 1
            assert version in FIELDS, registry
            return
        assert SAFE_NAME.fullmatch(label)
        assert SAFE_NAME.fullmatch(version)
        tally["injections_accepted"] += 1
        ensure_key_constraints(doc_graph, registry)
        with DocUnit(doc_graph, registry) as uow:
            uow.docs.add(Doc(id="named", text=label))
        with DocUnit(doc_graph, registry) as uow:
            assert uow.docs.get("named").text == label
            assert changed_nodes(before, snapshot(doc_graph)) == (0, 1)
            uow.docs.remove(uow.docs.get("named"))
        unchanged = snapshot(doc_graph) == before
        tally["wrongly_written"] += not unchanged
        assert unchanged

    try:
        check()
    finally:
        figures.add("hostile", **tally)


# -- regressions: these keys crashed FalkorDB 4.16, these strings broke the client ------

CRASHING_KEYS = {
    "empty": "",
    "space": " ",
    "trailing-space": "x ",
    "leading-tab": "\tx",
    "control-01": "a\x01b",
    "4097-bytes": "x" * 4097,
    "4098-bytes-utf8": "\u00e9" * 2049,
}


@pytest.mark.parametrize("key", CRASHING_KEYS.values(), ids=CRASHING_KEYS.keys())
def test_keys_that_crash_falkordb_are_refused_before_reaching_it(
    crashable_server: EmbeddedFalkorDB, key: str
) -> None:
    """FalkorDB 4.16 segfaults (``EnforceUniqueEntity``) storing these under a unique key."""
    assert crashes_unique_constraint(key)
    registry = doc_registry()
    with Database(crashable_server.url) as db:
        graph = db.graph("crashing_keys")
        ensure_key_constraints(graph, registry)

        def store() -> None:
            with DocUnit(graph, registry) as uow:
                uow.docs.add(Doc(id=key))

        with pytest.raises(ValueEncodingError):
            store()
        with DocUnit(graph, registry) as uow:
            assert uow.docs.count() == 0
    assert crashable_server.process is not None
    assert crashable_server.process.poll() is None


@pytest.mark.parametrize("where", ["value", "criterion"])
def test_lone_surrogates_are_refused_with_value_encoding_error(doc_graph: Any, where: str) -> None:
    """Lone surrogates cannot be sent as UTF-8: refused before the client tries."""
    before = snapshot(doc_graph)

    def use() -> None:
        with DocUnit(doc_graph, doc_registry()) as uow:
            if where == "value":
                uow.docs.add(Doc(id="surrogate", text="\ud800"))
            else:
                uow.docs.find_by(text="x\udfff")

    with pytest.raises(ValueEncodingError):
        use()
    assert snapshot(doc_graph) == before
