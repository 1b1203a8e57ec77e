"""Differential test: the real unit over FalkorDB, the fake unit and a plain model, in lock step.

A hypothesis state machine runs random sequences of units of work: creates,
edits (the sign of zero included), unique-value swaps, deletes, follows and
undirected restricting peers (self-loops included), a new entity linked
under a taken key, a new entity's key changed before its flush, stale
commits, and units holding pending changes (a new object under a stored key, an entity another unit
deleted) that query before they commit or roll back. Every observable
result is compared: the error a commit raises (by type), what ``find``,
``count``, ``page`` and ``keyset`` answer (text bounds on the indexed key
and name included), and, after every step, everything stored (each
entity's fields, the sign of its floats, its version and its edges).

The model is written here from the documented semantics (README,
"Semantics at the edges"), not from the layer's code: criteria follow
Cypher's three-valued logic, unique values hold on a commit's end state, a
refused commit names a stale entity before a taken key, a query matches
pending entities as the unit holds them.

``make test`` runs a bounded number of sequences; ``make reliability`` many
more (``Profile.differential_examples``). The figures say how many ran.
"""

from __future__ import annotations

import math
import operator
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from infrastructure.fakes import FakeStore, FakeUnitOfWork
from infrastructure.persistence import F, Registry, UnitOfWork, ensure_schema, to_many
from infrastructure.persistence.criteria import Criterion
from infrastructure.server import Database
from tests.mappings import registry_of

from .profile import Figures, Profile

pytestmark = pytest.mark.slow


@dataclass
class Card:
    id: str
    name: str
    age: int | None = None
    score: float = 0.0
    email: str | None = None
    version: int = 0
    follows: list[Card] = field(default_factory=list, repr=False, compare=False)
    peers: list[Card] = field(default_factory=list, repr=False, compare=False)


def card_registry() -> Registry:
    registry = registry_of(
        Card,
        unique=["email"],
        indexes=["name", "age"],
        relationships={
            "follows": to_many(Card, "FOLLOWS"),
            "peers": to_many(Card, "PEER", direction="both", on_delete="restrict"),
        },
    )
    return registry


# Small alphabets, so keys collide, bounds fall between stored values and
# text upper bounds meet FalkorDB's range index.
KEYS = ["a", "b", "t", "t1", "t2", "ta", "u", "z1"]
NAMES = ["a", "m", "t", "t1", "t2", "tb", "x"]
AGES = [None, 0, 1, 2, 5]
SCORES = [0.0, -0.0, 1.5, -2.0]
EMAILS = [None, "e1", "e2", "e3"]

KEEP = "(keep)"
keys = st.sampled_from(KEYS)
Record = dict[str, Any]  # name, age, score, email, version, follows (set of keys)


# -- criteria: built once, as F criteria and as a model predicate ---------------------------

Truth = bool | None
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Cond:
    """A criterion tree: ("cmp", field, op, value), ("null", field), ("and"|"or", a, b), ("not", a)."""

    tree: tuple[Any, ...]

    def criterion(self) -> Criterion:
        return _criterion(self.tree)

    def holds(self, key: str, record: Record) -> bool:
        return _truth(self.tree, {"id": key, **record}) is True


def _criterion(tree: tuple[Any, ...]) -> Criterion:
    kind = tree[0]
    if kind == "cmp":
        _, name, op, value = tree
        f = F(name)
        return {
            "=": f.__eq__,
            "<>": f.__ne__,
            "<": f.__lt__,
            "<=": f.__le__,
            ">": f.__gt__,
            ">=": f.__ge__,
        }[op](value)
    if kind == "starts":
        return F(tree[1]).startswith(tree[2])
    if kind == "null":
        return F(tree[1]).is_null()
    if kind == "not":
        return ~_criterion(tree[1])
    left, right = _criterion(tree[1]), _criterion(tree[2])
    return (left & right) if kind == "and" else (left | right)


def _truth(tree: tuple[Any, ...], values: Record) -> Truth:
    kind = tree[0]
    if kind == "cmp":
        left, right = values.get(tree[1]), tree[3]
        return None if left is None else _OPS[tree[2]](left, right)
    if kind == "starts":
        left = values.get(tree[1])
        return None if left is None else left.startswith(tree[2])
    if kind == "null":
        return values.get(tree[1]) is None
    if kind == "not":
        inner = _truth(tree[1], values)
        return None if inner is None else not inner
    a, b = _truth(tree[1], values), _truth(tree[2], values)
    if kind == "and":
        return False if False in (a, b) else (None if None in (a, b) else True)
    return True if True in (a, b) else (None if None in (a, b) else False)


def _leaf() -> st.SearchStrategy[tuple[Any, ...]]:
    ops = st.sampled_from(list(_OPS))
    return st.one_of(
        st.tuples(st.just("cmp"), st.just("id"), ops, st.sampled_from([*KEYS, "t0", "tz"])),
        st.tuples(st.just("cmp"), st.just("name"), ops, st.sampled_from([*NAMES, "t0"])),
        st.tuples(st.just("cmp"), st.just("age"), ops, st.sampled_from([0, 1, 2, 3])),
        st.tuples(st.just("starts"), st.just("name"), st.sampled_from(["t", "t1", "x"])),
        st.tuples(st.just("null"), st.just("age")),
    )


conditions = st.recursive(
    _leaf(),
    lambda inner: st.one_of(
        st.tuples(st.just("not"), inner),
        st.tuples(st.sampled_from(["and", "or"]), inner, inner),
    ),
    max_leaves=3,
).map(Cond)

orders = st.sampled_from(
    [["id"], ["-id"], ["name", "id"], ["-name", "id"], ["age", "id"], ["-age", "-id"]]
)


def model_sort(rows: dict[str, Record], order: list[str]) -> list[str]:
    """Keys in ``order`` as Cypher sorts (nulls last ascending, first descending)."""
    out = list(rows)
    for spec in reversed(order):
        name, desc = spec.lstrip("-"), spec.startswith("-")
        present = [k for k in out if _field(k, rows[k], name) is not None]
        absent = [k for k in out if _field(k, rows[k], name) is None]
        present.sort(key=lambda k, n=name: _field(k, rows[k], n), reverse=desc)
        out = absent + present if desc else present + absent
    return out


def _field(key: str, record: Record, name: str) -> Any:
    return key if name == "id" else record[name]


def same_float(a: float, b: float) -> bool:
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def outcome(run: Callable[[], Any]) -> Any:
    """What ``run`` returns, or the name of the error it raised."""
    try:
        return run()
    except Exception as exc:  # every error is an observable result to compare
        return type(exc).__name__


# -- the machine ----------------------------------------------------------------------------


class Differential(RuleBasedStateMachine):
    """Real unit, fake unit and model in lock step; one fresh graph per sequence."""

    database: Database
    sequences = 0
    steps = 0

    def __init__(self) -> None:
        super().__init__()
        registry = card_registry()
        self.graph = self.database.graph(f"differential_{uuid.uuid4().hex[:12]}")
        ensure_schema(self.graph, registry)
        store = FakeStore()
        self.units: dict[str, Callable[[], Any]] = {
            "falkordb": lambda: UnitOfWork(self.graph, registry),
            "fake": lambda: FakeUnitOfWork(store, registry),
        }
        self.model: dict[str, Record] = {}
        self.peers: set[frozenset[str]] = set()  # undirected PEER edges (one key: a self-loop)
        type(self).sequences += 1

    def teardown(self) -> None:
        self.graph.delete()

    def both(self, work: Callable[[Callable[[], Any]], Any], expected: Any) -> None:
        """Run ``work(units)`` on each backend; each must give ``expected``."""
        type(self).steps += 1
        for name, units in self.units.items():
            got = outcome(lambda units=units: work(units))
            assert got == expected, f"{name}: {got!r}, the model says {expected!r}"

    # -- model helpers ------------------------------------------------------------

    @staticmethod
    def unique_clash(rows: dict[str, Record]) -> bool:
        held = [r["email"] for r in rows.values() if r["email"] is not None]
        return len(held) != len(set(held))

    def commit_model(self, rows: dict[str, Record], changed: set[str]) -> str | None:
        """Apply ``rows`` (the end state) when its unique values hold; the error otherwise."""
        if self.unique_clash(rows):
            return "DuplicateKeyError"
        for key in changed:
            if key in rows:
                rows[key]["version"] = self.model.get(key, {"version": 0})["version"] + 1
        for record in rows.values():
            record["follows"] &= set(rows)
        self.model = rows
        self.peers = {edge for edge in self.peers if edge <= rows.keys()}
        return None

    def copy(self) -> dict[str, Record]:
        return {k: {**r, "follows": set(r["follows"])} for k, r in self.model.items()}

    # -- writes -------------------------------------------------------------------

    @initialize(
        seeded=st.dictionaries(
            keys,
            st.tuples(st.sampled_from(NAMES), st.sampled_from(AGES), st.sampled_from(SCORES)),
            min_size=4,
            max_size=7,
        ),
        emails=st.permutations(EMAILS),
    )
    def seed(self, seeded, emails) -> None:
        """Most keys exist from the start, so most steps act on stored entities."""

        def work(units):
            with units() as uow:
                for i, (key, (name, age, score)) in enumerate(seeded.items()):
                    uow.add(Card(key, name, age, score, (emails[i] if i < len(emails) else None)))
            return "ok"

        rows = {
            key: {
                "name": name,
                "age": age,
                "score": score,
                "email": (emails[i] if i < len(emails) else None),
                "version": 0,
                "follows": set(),
            }
            for i, (key, (name, age, score)) in enumerate(seeded.items())
        }
        if self.unique_clash(rows):  # a None may repeat, a value may not
            return
        self.both(work, self.commit_model(rows, set(rows)) or "ok")

    @rule(
        key=keys,
        name=st.sampled_from(NAMES),
        age=st.sampled_from(AGES),
        score=st.sampled_from(SCORES),
        email=st.sampled_from(EMAILS),
        follows=st.none() | keys,
    )
    def create(self, key, name, age, score, email, follows) -> None:
        """A new entity, perhaps following another (or itself) in the same commit."""

        def work(units):
            with units() as uow:
                card = Card(key, name, age, score, email)
                uow.add(card)
                if follows is not None:
                    target = uow.repository(Card).get_or_none(follows)
                    if target is not None:
                        card.follows.append(target)
            return "ok"

        rows = self.copy()
        if key in rows:
            expected = "DuplicateKeyError"  # linked or not (case 5)
        else:
            links = {follows} if follows in rows or follows == key else set()
            rows[key] = {
                "name": name,
                "age": age,
                "score": score,
                "email": email,
                "version": 0,
                "follows": links,
            }
            expected = self.commit_model(rows, {key}) or "ok"
        self.both(work, expected)

    @rule(
        key=keys,
        name=st.sampled_from([KEEP, *NAMES]),
        age=st.sampled_from([KEEP, *AGES]),
        score=st.sampled_from([KEEP, *SCORES]),
        email=st.sampled_from([KEEP, *EMAILS]),
    )
    def edit(self, key, name, age, score, email) -> None:
        """Set the fields drawn (KEEP leaves one as it is): 0.0 to -0.0 is a change."""
        drawn = {"name": name, "age": age, "score": score, "email": email}
        changes = {k: v for k, v in drawn.items() if v is not KEEP}

        def work(units):
            with units() as uow:
                card = uow.get(Card, key)
                for name_, value in changes.items():
                    setattr(card, name_, value)
            return "ok"

        if key not in self.model:
            self.both(work, "EntityNotFoundError")
            return
        rows = self.copy()
        before = dict(rows[key])
        rows[key].update(changes)
        moved = any(
            not same_float(before[k], v) if k == "score" else before[k] != v
            for k, v in changes.items()
        )
        expected = self.commit_model(rows, {key} if moved else set()) or "ok"
        self.both(work, expected)

    @rule(first=keys, second=keys)
    def swap_emails(self, first, second) -> None:
        def work(units):
            with units() as uow:
                a, b = uow.repository(Card).get_many([first, second])
                a.email, b.email = b.email, a.email
            return "ok"

        if first not in self.model or second not in self.model:
            self.both(work, "EntityNotFoundError")
            return
        rows = self.copy()
        a, b = rows[first]["email"], rows[second]["email"]
        rows[first]["email"], rows[second]["email"] = b, a
        moved = {first, second} if a != b and first != second else set()
        self.both(work, self.commit_model(rows, moved) or "ok")

    @rule(key=keys)
    def delete(self, key) -> None:
        def work(units):
            with units() as uow:
                uow.delete(uow.get(Card, key))
            return "ok"

        if key not in self.model:
            self.both(work, "EntityNotFoundError")
            return
        if any(key in edge and len(edge) == 2 for edge in self.peers):
            self.both(work, "DeleteRestrictedError")  # its own self-loop does not restrict
            return
        rows = self.copy()
        del rows[key]
        self.both(work, self.commit_model(rows, set()) or "ok")

    @rule(source=keys, other=keys, link=st.booleans())
    def peer(self, source, other, link) -> None:
        """Link or unlink an undirected, restricting PEER edge (a self-loop when both match)."""

        def work(units):
            with units() as uow:
                a = uow.repository(Card).get(source, load=["peers"])
                b = uow.get(Card, other)
                if link and b not in a.peers:
                    a.peers.append(b)
                elif not link and b in a.peers:
                    a.peers.remove(b)
            return "ok"

        if source not in self.model or other not in self.model:
            self.both(work, "EntityNotFoundError")
            return
        edge = frozenset({source, other})
        changed = (edge not in self.peers) if link else (edge in self.peers)
        if changed:
            self.peers = self.peers | {edge} if link else self.peers - {edge}
            self.model[source]["version"] += 1
        self.both(work, "ok")

    @rule(source=keys, followed=keys, link=st.booleans())
    def follow(self, source, followed, link) -> None:
        def work(units):
            with units() as uow:
                a = uow.repository(Card).get(source, load=["follows"])
                b = uow.get(Card, followed)
                if link and b not in a.follows:
                    a.follows.append(b)
                elif not link and b in a.follows:
                    a.follows.remove(b)
            return "ok"

        if source not in self.model or followed not in self.model:
            self.both(work, "EntityNotFoundError")
            return
        rows = self.copy()
        held = rows[source]["follows"]
        changed = (followed not in held) if link else (followed in held)
        (held.add if link else held.discard)(followed)
        self.both(work, self.commit_model(rows, {source} if changed else set()) or "ok")

    @rule(key=keys, renamed=keys)
    def rename_new(self, key, renamed) -> None:
        """A new entity's key changed before the flush is refused; nothing is written."""

        def work(units):
            with units() as uow:
                card = Card(key, "new")
                uow.add(card)
                card.id = renamed
            return "ok"

        if key == renamed:
            rows = self.copy()
            if key in rows:
                self.both(work, "DuplicateKeyError")
                return
            rows[key] = {
                "name": "new",
                "age": None,
                "score": 0.0,
                "email": None,
                "version": 0,
                "follows": set(),
            }
            self.both(work, self.commit_model(rows, {key}) or "ok")
            return
        self.both(work, "MappingError")

    @rule(key=keys, taken=keys)
    def stale_commit(self, key, taken) -> None:
        """A unit edits an entity another unit changed since, and creates ``taken`` too."""

        def work(units):
            uow = units()
            try:
                card = uow.get(Card, key)
                with units() as other:
                    late = other.get(Card, key)
                    late.age = 98 if late.age == 99 else 99
                card.name += "!"  # a change, whatever it held
                uow.add(Card(taken, "new"))
                uow.commit()
            finally:
                uow.close()
            return "ok"

        if key not in self.model:
            self.both(work, "EntityNotFoundError")
            return
        record = self.model[key]
        record["age"] = 98 if record["age"] == 99 else 99  # the other unit's edit lands
        record["version"] += 1
        # Ours is refused: as stale even when ``taken`` is a stored key (case 10).
        self.both(work, "IdentityConflictError" if taken == key else "ConcurrencyError")

    # -- reads ----------------------------------------------------------------------

    @rule(
        cond=conditions, order=orders, limit=st.none() | st.integers(0, 4), offset=st.integers(0, 2)
    )
    def query(self, cond, order, limit, offset) -> None:
        matching = {k: r for k, r in self.model.items() if cond.holds(k, r)}
        ordered = model_sort(matching, order)
        window = ordered[offset : None if limit is None else offset + limit]
        pages = [ordered[i : i + 2] for i in range(0, len(ordered), 2)] or [[]]

        def work(units):
            with units() as uow:
                repo = uow.repository(Card)
                where = cond.criterion()
                found = [c.id for c in repo.find(where, order_by=order, limit=limit, offset=offset)]
                page = repo.page(where, order_by=order, number=1, size=2)
                walked, cursor = [], None
                while True:
                    part = repo.keyset(where, order_by=order, after=cursor, limit=2)
                    walked.append([c.id for c in part.items])
                    cursor = part.cursor
                    if cursor is None:
                        break
                return found, repo.count(where), [c.id for c in page.items], page.total, walked

        self.both(work, (window, len(ordered), pages[0], len(ordered), pages))

    @rule(
        new=keys,
        edit=keys,
        gone=keys,
        name=st.sampled_from(NAMES),
        cond=conditions,
        order=orders,
        end=st.sampled_from(["commit", "rollback"]),
    )
    def pending_query(self, new, edit, gone, name, cond, order, end) -> None:
        """Query a unit holding pending work: a new object (perhaps under a stored key), an
        edit, and a delete of an entity another unit deleted first; then end it."""
        if len({new, edit, gone}) < 3 or edit not in self.model or gone not in self.model:
            return
        if any(gone in edge and len(edge) == 2 for edge in self.peers):
            return  # the other unit's delete would be refused (restrict)
        view = self.copy()
        view.pop(gone)
        view[edit]["name"] = name
        view[new] = {
            "name": name,
            "age": None,
            "score": 0.0,
            "email": None,
            "version": 0,
            "follows": set(),
        }
        matching = {k: r for k, r in view.items() if cond.holds(k, r)}
        expected_rows = model_sort(matching, order)

        def work(units):
            uow = units()
            try:
                repo = uow.repository(Card)
                edited, doomed = uow.get(Card, edit), uow.get(Card, gone)
                with units() as other:
                    other.delete(other.get(Card, gone))
                edited.name = name
                uow.delete(doomed)
                uow.add(Card(new, name))
                where = cond.criterion()
                found = [c.id for c in repo.find(where, order_by=order)]
                seen = (found, repo.count(where))
                ended = outcome(uow.commit if end == "commit" else uow.rollback)
            finally:
                uow.close()
            return seen, ended

        # The other unit's delete lands on each backend; our commit is then stale.
        rows = self.copy()
        del rows[gone]
        self.commit_model(rows, set())
        ended = "ConcurrencyError" if end == "commit" else None
        self.both(work, ((expected_rows, len(expected_rows)), ended))

    # -- what is stored -------------------------------------------------------------

    @invariant()
    def stored_alike(self) -> None:
        def peers_of(key: str) -> list[str]:
            return sorted(next(iter(e - {key}), key) for e in self.peers if key in e)

        expected = {
            k: (
                r["name"],
                r["age"],
                repr(r["score"]),
                r["email"],
                r["version"],
                sorted(r["follows"]),
                peers_of(k),
            )
            for k, r in self.model.items()
        }
        for name, units in self.units.items():
            with units() as uow:
                cards = uow.repository(Card).list(load=["follows", "peers"])
                got = {
                    c.id: (
                        c.name,
                        c.age,
                        repr(c.score),
                        c.email,
                        c.version,
                        sorted(f.id for f in c.follows),
                        sorted(p.id for p in c.peers),
                    )
                    for c in cards
                }
            assert got == expected, f"{name} stores {got!r}, the model {expected!r}"


def run_differential(
    database: Database, examples: int, steps: int, shrink: bool = True
) -> tuple[int, int]:
    """Run ``examples`` sequences of up to ``steps`` steps; (sequences run, steps compared)."""
    Differential.database = database
    Differential.sequences = Differential.steps = 0
    run_state_machine_as_test(
        Differential,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            derandomize=False,
            # Shrinking replays sequences on the server many times over: the long
            # run shrinks a failure to its smallest sequence, the short one reports it.
            phases=list(Phase) if shrink else [p for p in Phase if p is not Phase.shrink],
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    return Differential.sequences, Differential.steps


def test_the_real_unit_the_fake_unit_and_the_model_agree(
    database: Database, profile: Profile, figures: Figures
) -> None:
    sequences, steps = run_differential(
        database,
        profile.differential_examples,
        profile.differential_steps,
        shrink=profile.name == "long",
    )
    figures.add("differential", sequences=sequences, steps=steps, divergences=0)
    assert sequences >= 1
