"""The query log, OpenTelemetry spans, the commit preview and lifecycle events on a real FalkorDB.

Each test runs twice through ``harness``: once with the sync unit, once with the async one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from domain.events import DomainEvent
from domain.model import Account, Money, Person
from infrastructure.bank import bank_registry
from infrastructure.messaging import EventRegistry, OutboxHook, OutboxRecord, register_outbox
from infrastructure.persistence import (
    QUERY_LOGGER,
    AuditHook,
    ConcurrencyError,
    Registry,
    acting_as,
    configure_query_log,
    ensure_key_constraints,
    observe,
)
from tests.integration.conftest import Harness

EVENTS = EventRegistry.of_subclasses(DomainEvent)
T1 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_query_log() -> Iterator[None]:
    """Every test starts and ends with the default settings: nothing logged, nothing traced."""
    logger = logging.getLogger(QUERY_LOGGER)
    level = logger.level

    def reset() -> None:
        configure_query_log(echo=False, show_values=False, slow_ms=0)
        observe.settings.tracer_provider = None
        observe._tracer = None
        logger.setLevel(level)

    reset()
    yield
    reset()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    configure_query_log(tracer_provider=provider)
    yield exporter
    provider.shutdown()


def person(name: str = "Ada", age: int = 30) -> Person:
    return Person(uuid.uuid4(), name, f"{name.lower()}.{uuid.uuid4().hex[:6]}@example.com", age)


async def stored(harness: Harness, *entities: Any) -> None:
    async with harness.unit() as uow:
        for entity in entities:
            uow.add(entity)


async def lose_a_race(harness: Harness, key: Any) -> None:
    """A unit whose commit finds the person changed by another unit since it read it."""
    async with harness.unit() as uow:
        loaded = await uow.people.get(key)
        async with harness.unit() as rival:
            (await rival.people.get(key)).age = 50
        loaded.age = 60


def records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == QUERY_LOGGER]


# -- the query log ---------------------------------------------------------------------------


async def test_reads_and_commits_are_logged_with_durations_and_redacted_values(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    ada = person()
    await stored(harness, ada)
    harness.log.clear()

    with caplog.at_level(logging.DEBUG, logger=QUERY_LOGGER):
        async with harness.unit() as uow:
            loaded = await uow.people.get(ada.id)
            loaded.age = 41

    read, commit = records(caplog)
    sent_read, sent_commit = harness.log.sent
    assert (read.kind, commit.kind) == ("read", "commit")  # type: ignore[attr-defined]
    assert read.query == sent_read.query  # type: ignore[attr-defined]
    assert commit.query == sent_commit.query  # type: ignore[attr-defined]
    assert sent_read.query in read.getMessage()
    assert sent_commit.query in commit.getMessage()
    for record in (read, commit):
        assert record.levelno == logging.DEBUG
        assert record.graph == harness.graph.name  # type: ignore[attr-defined]
        assert record.duration_ms > 0  # type: ignore[attr-defined]
        assert isinstance(record.server_ms, float)  # type: ignore[attr-defined]
        assert record.error is None  # type: ignore[attr-defined]
    assert read.rows == 1  # type: ignore[attr-defined]
    # Values are redacted: parameter names and sizes only.
    assert set(commit.params) == set(sent_commit.params)  # type: ignore[attr-defined]
    assert commit.params["update_Person"] == "rows[1]"  # type: ignore[attr-defined]
    for record in (read, commit):
        assert str(ada.id) not in record.getMessage()
        assert ada.email not in record.getMessage()
    header = commit.getMessage().split("\n")[0]
    assert header.endswith("; params {update_Person:rows[1], expected:rows[1]}")


async def test_values_show_only_when_turned_on(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    configure_query_log(show_values=True)
    ada = person()
    with caplog.at_level(logging.DEBUG, logger=QUERY_LOGGER):
        await stored(harness, ada)

    (commit,) = records(caplog)
    assert ada.email in commit.getMessage()
    assert commit.params == harness.log.writes[0].params  # type: ignore[attr-defined]


async def test_a_failed_commit_is_logged_with_its_error(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    ada = person()
    await stored(harness, ada)
    with caplog.at_level(logging.DEBUG, logger=QUERY_LOGGER), pytest.raises(ConcurrencyError):
        await lose_a_race(harness, ada.id)

    commits = [r for r in records(caplog) if r.kind == "commit"]  # type: ignore[attr-defined]
    failed = [r for r in commits if r.error is not None]  # type: ignore[attr-defined]
    assert len(failed) == 1
    assert "FAILED" in failed[0].getMessage()
    assert "division by zero" in failed[0].getMessage().lower()


async def test_echo_turns_the_log_on_and_off(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger(QUERY_LOGGER)
    logger.setLevel(logging.NOTSET)
    await stored(harness, person("Ann"))
    assert records(caplog) == []

    configure_query_log(echo=True)
    assert logger.isEnabledFor(logging.DEBUG)
    await stored(harness, person("Ben"))
    (echoed,) = records(caplog)
    assert echoed.getMessage().startswith(f"commit on {harness.graph.name}")

    configure_query_log(echo=False)
    caplog.clear()
    assert not logger.isEnabledFor(logging.DEBUG)
    await stored(harness, person("Cy"))
    assert records(caplog) == []


async def test_echo_prints_to_stderr_when_no_handler_would(
    harness: Harness, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    logger = logging.getLogger(QUERY_LOGGER)
    monkeypatch.setattr(logger, "propagate", False)  # as if logging were not configured
    configure_query_log(echo=True)
    await stored(harness, person("Ben"))
    err = capsys.readouterr().err
    assert f"commit on {harness.graph.name}" in err
    assert "CREATE (n:Person" in err

    configure_query_log(echo=False)
    assert logger.handlers == []
    await stored(harness, person("Cy"))
    assert capsys.readouterr().err == ""


async def test_slow_queries_log_at_warning_without_debug(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=QUERY_LOGGER):
        configure_query_log(slow_ms=10**9)  # nothing takes that long
        await stored(harness, person("Ann"))
        assert records(caplog) == []

        configure_query_log(slow_ms=1e-9)  # everything takes longer than that
        await stored(harness, person("Ben"))
    (slow,) = records(caplog)
    assert slow.levelno == logging.WARNING
    assert slow.getMessage().startswith(f"slow commit on {harness.graph.name}")


# -- OpenTelemetry -------------------------------------------------------------------------------


async def test_reads_and_commits_are_client_spans_with_database_attributes(
    harness: Harness, spans: InMemorySpanExporter
) -> None:
    ada = person()
    await stored(harness, ada)
    async with harness.unit() as uow:
        (await uow.people.get(ada.id)).age = 31

    commit1, read, commit2 = spans.get_finished_spans()
    sent = harness.log.sent
    for span, query in ((commit1, sent[0].query), (read, sent[1].query), (commit2, sent[2].query)):
        attributes = dict(span.attributes or {})
        assert span.kind is SpanKind.CLIENT
        assert attributes["db.system"] == "falkordb"
        assert attributes["db.namespace"] == harness.graph.name
        assert attributes["db.query.text"] == query
        assert attributes["db.falkordb.query.fingerprint"] == observe.fingerprint(query)
        assert isinstance(attributes["db.falkordb.server_time_ms"], float)
        assert span.status.status_code is StatusCode.UNSET
        assert str(ada.id) not in attributes["db.query.text"]  # values travel as parameters
    assert read.name == f"GRAPH.RO_QUERY {harness.graph.name}"
    assert dict(read.attributes or {})["db.operation.name"] == "GRAPH.RO_QUERY"
    assert dict(read.attributes or {})["db.response.returned_rows"] == 1
    assert commit2.name == f"GRAPH.QUERY {harness.graph.name}"
    assert dict(commit2.attributes or {})["db.falkordb.commit.entities"] == 1


async def test_a_failed_commit_span_records_the_error(
    harness: Harness, spans: InMemorySpanExporter
) -> None:
    ada = person()
    await stored(harness, ada)
    with pytest.raises(ConcurrencyError):
        await lose_a_race(harness, ada.id)
    failed = [s for s in spans.get_finished_spans() if s.status.status_code is StatusCode.ERROR]

    (span,) = failed
    assert span.name.startswith("GRAPH.QUERY")
    assert dict(span.attributes or {})["error.type"] == "ResponseError"
    assert [e.name for e in span.events] == ["exception"]
    # The reads that name the stale entity come after, as spans of their own.
    assert spans.get_finished_spans()[-1].name.startswith("GRAPH.RO_QUERY")


# -- the commit preview ----------------------------------------------------------------------------


async def test_plan_is_exactly_what_the_commit_then_sends(harness: Harness) -> None:
    registry = bank_registry()
    register_outbox(registry)
    ensure_key_constraints(harness.graph, registry)
    ada, bob = person("Ada"), person("Bob")
    account = Account(uuid.uuid4(), ada.id, Money.of("10"))
    async with harness.unit(registry) as uow:
        for entity in (ada, bob, account):
            uow.add(entity)
    hooks = [OutboxHook(EVENTS, clock=lambda: T1)]

    async with harness.unit(registry, hooks=hooks) as uow:
        (await uow.repository(Person).get(ada.id)).age = 99
        uow.delete(await uow.repository(Person).get(bob.id))
        (await uow.repository(Account).get(account.id)).deposit(Money.of("5"))
        cleo = Person.register("Cleo", "cleo@example.com")
        uow.add(cleo)
        harness.log.clear()
        preview = await uow.plan()
        assert harness.log.sent == []  # nothing sent, not even a read
        assert preview is not None
    (sent,) = harness.log.writes

    assert (sent.query, sent.params) == (preview.query, preview.params)
    assert preview.counts == {
        ("Person", "create"): 1,
        ("Person", "update"): 1,
        ("Person", "delete"): 1,
        ("Account", "update"): 1,
        ("OutboxRecord", "create"): 2,  # PersonRegistered, MoneyDeposited
    }
    assert preview.guards == (
        ("taken_OutboxRecord", 0),  # new keys already stored: none wanted
        ("taken_Person", 0),
        ("update_Account", 1),
        ("update_Person", 1),
        ("doomed_Person", 1),
    )
    assert preview.shapes["create_OutboxRecord"] == "rows[2]"
    assert cleo.email not in str(preview)
    assert preview.fingerprint in str(preview)
    assert harness.count("OutboxRecord") == 2
    stored_account = harness.stored("Account", str(account.id))
    assert stored_account is not None
    assert Decimal(stored_account["balance_amount"]) == Decimal("15")


async def test_plan_is_none_when_a_commit_would_write_nothing(harness: Harness) -> None:
    ada = person()
    await stored(harness, ada)
    async with harness.unit() as uow:
        await uow.people.get(ada.id)
        assert await uow.plan() is None


# -- lifecycle events and audit fields on real units -----------------------------------------------


async def test_events_fire_once_in_order_on_real_units(harness: Harness) -> None:
    ada, bob = person("Ada"), person("Bob")
    await stored(harness, ada, bob)
    seen: list[str] = []
    uow = harness.unit()
    for event in ("before_flush", "after_flush", "after_rollback"):
        uow.listen(event, lambda *args, event=event: seen.append(event))
    uow.listen("after_commit", lambda unit, written: seen.append(f"after_commit {len(written)}"))
    for event in ("before_insert", "before_update", "before_delete"):
        uow.listen(event, lambda unit, write, event=event: seen.append(f"{event} {write.key}"))
    async with uow:
        (await uow.people.get(ada.id)).age = 1
        uow.delete(await uow.people.get(bob.id))
        cleo = person("Cleo")
        uow.add(cleo)

    assert seen == [
        "before_flush",
        f"before_insert {cleo.id}",
        f"before_update {ada.id}",
        f"before_delete {bob.id}",
        "after_flush",
        "after_commit 3",
    ]
    assert len(harness.log.writes) == 2  # the seed and this unit: one query each


async def test_audit_fields_are_stored_on_create_and_update(harness: Harness) -> None:
    registry: Registry = harness.registry
    account_id, owner = uuid.uuid4(), uuid.uuid4()
    # An account written before it had audit fields, by another client.
    harness.graph.query(
        "CREATE (:Account {id: $id, owner_id: $owner, balance_amount: '1', "
        "balance_currency: 'EUR', version: 1})",
        {"id": str(account_id), "owner": str(owner)},
    )
    fresh = Account(uuid.uuid4(), owner, Money.of("2"))
    with acting_as("alice"):
        async with harness.unit(hooks=[AuditHook(clock=lambda: T1)]) as uow:
            old = await uow.accounts.get(account_id)
            assert (old.created_at, old.updated_at, old.updated_by) == (None, None, None)
            old.deposit(Money.of("1"))
            uow.add(fresh)

    old_props = harness.stored("Account", str(account_id))
    new_props = harness.stored("Account", str(fresh.id))
    assert old_props is not None
    assert new_props is not None
    mapping = registry.mapping_for(Account)
    assert "created_at" not in old_props  # it was not created by this commit
    assert old_props["updated_by"] == "alice"
    assert new_props["updated_by"] == "alice"
    async with harness.unit() as uow:
        reread = await uow.accounts.get(account_id)
        made = await uow.accounts.get(fresh.id)
    assert reread.updated_at == T1
    assert (made.created_at, made.updated_at) == (T1, T1)
    assert reread.balance == Money(Decimal("2"))
    assert mapping.version_property == "version"
    assert (reread.version, made.version) == (2, 1)
    assert len(harness.log.writes) == 1


async def test_outbox_records_are_unchanged_by_the_audit_hook(harness: Harness) -> None:
    registry = bank_registry()
    register_outbox(registry)
    ensure_key_constraints(harness.graph, registry)
    hooks = [OutboxHook(EVENTS, clock=lambda: T1), AuditHook(clock=lambda: T1.replace(year=2030))]
    async with harness.unit(registry, hooks=hooks) as uow:
        uow.add(Account.open(uuid.uuid4()))
    async with harness.unit(registry) as uow:
        (record,) = await uow.repository(OutboxRecord).list()
        (account,) = await uow.repository(Account).list()
    assert record.created_at == T1
    assert account.created_at == T1.replace(year=2030)
