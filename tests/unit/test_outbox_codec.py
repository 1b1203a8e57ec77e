"""Domain events to JSON and back (``EventRegistry``)."""

from __future__ import annotations

import enum
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from domain.events import (
    AccountOpened,
    DomainEvent,
    FriendshipStarted,
    MoneyDeposited,
    MoneyTransferred,
    PersonRegistered,
)
from infrastructure.messaging import EventEncodingError, EventRegistry

A, B, C = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


class Channel(enum.Enum):
    WEB = "web"
    BRANCH = "branch"


@dataclass(frozen=True)
class Place:
    city: str
    code: int | None = None


@dataclass(frozen=True)
class Audited:
    at: datetime
    on: date
    channel: Channel
    ratio: float
    flag: bool
    tags: tuple[str, ...]
    amounts: list[Decimal]
    place: Place | None
    note: str | None = None


DOMAIN_EVENTS = [
    PersonRegistered(A, "Zoë ü", "zoe@example.com"),
    FriendshipStarted(A, B),
    AccountOpened(B, A, "EUR"),
    MoneyDeposited(B, Decimal("0.1000000000000000000000000001"), "EUR"),
    MoneyTransferred(C, A, B, Decimal("-12.50"), "USD"),
]


@pytest.fixture
def events() -> EventRegistry:
    return EventRegistry.of_subclasses(DomainEvent)


def test_every_domain_event_subclass_is_registered_by_class_name(events):
    assert events.names() == [
        "AccountOpened",
        "FriendshipStarted",
        "MoneyDeposited",
        "MoneyTransferred",
        "PersonRegistered",
    ]


@pytest.mark.parametrize("event", DOMAIN_EVENTS, ids=lambda e: type(e).__name__)
def test_domain_events_round_trip_exactly(events, event):
    name, payload = events.encode(event)

    back = events.decode(name, payload)

    assert name == type(event).__name__
    assert back == event
    assert type(back) is type(event)


def test_payload_is_plain_json_with_exact_decimals_and_text_uuids(events):
    _, payload = events.encode(MoneyDeposited(B, Decimal("10.10"), "EUR"))

    assert json.loads(payload) == {"account_id": str(B), "amount": "10.10", "currency": "EUR"}
    assert payload == events.encode(MoneyDeposited(B, Decimal("10.10"), "EUR"))[1]


def test_richer_field_types_round_trip():
    registry = EventRegistry([Audited])
    event = Audited(
        at=datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC),
        on=date(2024, 2, 29),
        channel=Channel.BRANCH,
        ratio=0.1,
        flag=False,
        tags=("a", "b"),
        amounts=[Decimal("1.5"), Decimal("-0")],
        place=Place("Ghent", None),
    )

    assert registry.decode(*registry.encode(event)) == event
    assert registry.decode(*registry.encode(Audited(**{**event.__dict__, "place": None}))) == (
        Audited(**{**event.__dict__, "place": None})
    )


def test_an_unregistered_event_is_refused_with_its_name():
    with pytest.raises(EventEncodingError, match=r"MoneyDeposited is not a registered event"):
        EventRegistry([PersonRegistered]).encode(MoneyDeposited(B, Decimal(1), "EUR"))


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (MoneyDeposited(B, 1.5, "EUR"), r"MoneyDeposited\.amount: expected Decimal, got float"),  # type: ignore[arg-type]
        (MoneyDeposited(B, Decimal("NaN"), "EUR"), r"amount: expected a finite Decimal"),
        (MoneyDeposited("b", Decimal(1), "EUR"), r"account_id: expected UUID, got str"),  # type: ignore[arg-type]
        (AccountOpened(B, A, 3), r"currency: expected str, got int"),  # type: ignore[arg-type]
    ],
)
def test_a_value_of_the_wrong_type_is_refused_naming_the_field(events, event, message):
    with pytest.raises(EventEncodingError, match=message):
        events.encode(event)


def test_bool_is_not_accepted_as_int_or_float():
    @dataclass(frozen=True)
    class Counted:
        n: int
        x: float

    registry = EventRegistry([Counted])
    with pytest.raises(EventEncodingError, match="n: expected int, got bool"):
        registry.encode(Counted(True, 1.0))
    with pytest.raises(EventEncodingError, match="x: expected float, got bool"):
        registry.encode(Counted(1, False))
    with pytest.raises(EventEncodingError, match="x: expected a finite float"):
        registry.encode(Counted(1, float("inf")))


@pytest.mark.parametrize(
    ("name", "payload", "message"),
    [
        ("Nope", "{}", "unknown event type 'Nope'"),
        ("AccountOpened", "not json", "not JSON text"),
        ("AccountOpened", "[1]", "must be a JSON object"),
        (
            "AccountOpened",
            json.dumps({"account_id": str(A), "owner_id": str(B)}),
            "missing field 'currency'",
        ),
        (
            "AccountOpened",
            json.dumps({"account_id": str(A), "owner_id": str(B), "currency": "EUR", "x": 1}),
            r"unknown fields \['x'\]",
        ),
        (
            "AccountOpened",
            json.dumps({"account_id": "zz", "owner_id": str(B), "currency": "EUR"}),
            r"AccountOpened\.account_id: 'zz' is not a valid UUID",
        ),
        (
            "MoneyDeposited",
            json.dumps({"account_id": str(A), "amount": 1.5, "currency": "EUR"}),
            r"amount: expected Decimal text, got float",
        ),
    ],
)
def test_a_payload_that_does_not_fit_is_refused(events, name, payload, message):
    with pytest.raises(EventEncodingError, match=message):
        events.decode(name, payload)


def test_registration_refuses_what_it_cannot_carry():
    @dataclass
    class Mutable:
        x: int

    @dataclass(frozen=True)
    class Odd:
        x: int | str

    @dataclass(frozen=True)
    class Opaque:
        x: object

    registry = EventRegistry([PersonRegistered])
    with pytest.raises(EventEncodingError, match="not a frozen dataclass"):
        registry.register(Mutable)
    with pytest.raises(EventEncodingError, match=r"Odd\.x: union"):
        registry.register(Odd)
    with pytest.raises(
        EventEncodingError, match=r"Opaque\.x: type <class 'object'> is not supported"
    ):
        registry.register(Opaque)
    with pytest.raises(EventEncodingError, match="already registered"):
        registry.register(PersonRegistered, name="Other")
    with pytest.raises(EventEncodingError, match="already used by PersonRegistered"):
        registry.register(AccountOpened, name="PersonRegistered")


def test_an_event_can_be_registered_under_another_name():
    registry = EventRegistry()
    registry.register(AccountOpened, name="bank.account-opened.v1")
    event = AccountOpened(A, B, "EUR")

    name, payload = registry.encode(event)

    assert name == "bank.account-opened.v1"
    assert registry.decode(name, payload) == event
