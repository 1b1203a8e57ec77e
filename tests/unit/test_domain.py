"""The example domain's rules, on plain objects (no persistence anywhere)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from domain.errors import (
    AlreadyFriends,
    CurrencyMismatch,
    InsufficientFunds,
    InvalidAmount,
    InvalidFriendship,
    InvalidPerson,
)
from domain.events import (
    AccountOpened,
    FriendshipStarted,
    MoneyDeposited,
    MoneyTransferred,
    PersonRegistered,
)
from domain.model import Account, Friendship, Money, Person, Transfer


def funded(amount: str, currency: str = "EUR") -> Account:
    account = Account.open(uuid4(), currency)
    account.deposit(Money.of(amount, currency))
    return account


def test_money_is_exact_and_refuses_mixing_currencies():
    assert Money.of("0.10") + Money.of("0.20") == Money.of("0.30")
    assert str(Money.of("5", "GBP")) == "5 GBP"
    with pytest.raises(CurrencyMismatch, match="EUR with GBP"):
        Money.of(1) + Money.of(1, "GBP")
    with pytest.raises(InvalidAmount, match="three-letter"):
        Money.of(1, "euro")
    with pytest.raises(InvalidAmount, match="finite"):
        Money(Decimal("NaN"))


def test_registering_a_person_records_the_event():
    person = Person.register("  Alice ", "alice@example.com", 30)
    assert person.name == "Alice"
    assert person.events == [PersonRegistered(person.id, "Alice", "alice@example.com")]


@pytest.mark.parametrize(
    ("name", "email", "age", "complaint"),
    [
        ("  ", "a@example.com", None, "name"),
        ("Al", "no-at-sign", None, "email"),
        ("Al", "a@b@c", None, "email"),
        ("Al", "a b@example.com", None, "email"),
        ("Al", "a@example.com", -1, "age"),
        ("Al", "a@example.com", 151, "age"),
    ],
)
def test_a_person_needs_a_name_an_address_and_a_plausible_age(name, email, age, complaint):
    with pytest.raises(InvalidPerson, match=complaint):
        Person.register(name, email, age)


def test_deposits_must_be_positive_and_are_recorded():
    account = Account.open(uuid4())
    assert account.events == [AccountOpened(account.id, account.owner_id, "EUR")]
    account.deposit(Money.of("2.50"))
    assert account.balance == Money.of("2.50")
    assert account.events[-1] == MoneyDeposited(account.id, Decimal("2.50"), "EUR")
    with pytest.raises(InvalidAmount):
        account.deposit(Money.of(0))
    with pytest.raises(CurrencyMismatch):
        account.deposit(Money.of(1, "USD"))
    assert account.balance == Money.of("2.50")


def test_a_transfer_moves_money_and_records_it():
    source, target = funded("10"), funded("1")
    chosen = uuid4()
    transfer = Transfer.between(source, target, Money.of("4"), chosen)
    assert (source.balance, target.balance) == (Money.of("6"), Money.of("5"))
    assert transfer.id == chosen
    assert transfer.events == [MoneyTransferred(chosen, source.id, target.id, Decimal("4"), "EUR")]


def test_a_refused_transfer_changes_neither_account():
    source, target = funded("10"), funded("1", "GBP")
    with pytest.raises(CurrencyMismatch):
        Transfer.between(source, target, Money.of("4"))
    with pytest.raises(InsufficientFunds, match="cannot withdraw 11 EUR"):
        Transfer.between(source, funded("1"), Money.of("11"))
    with pytest.raises(InvalidAmount, match="same account"):
        Transfer.between(source, source, Money.of("1"))
    assert source.balance == Money.of("10")
    assert target.balance == Money.of("1", "GBP")


def test_a_transfer_holds_the_accounts_it_joins():
    source, target = funded("10"), funded("1")
    transfer = Transfer.between(source, target, Money.of("4"))
    assert (transfer.source, transfer.target) == (source, target)
    assert (transfer.source_id, transfer.target_id) == (source.id, target.id)
    assert "Account(" not in repr(transfer)  # no accounts (and their events) in the repr


def test_befriending_holds_the_friend_on_the_asking_side_and_records_it():
    ann, ben = Person.register("Ann", "a@example.com"), Person.register("Ben", "b@example.com")
    ann.events.clear()
    since = datetime(2024, 5, 6, tzinfo=UTC)
    made = ann.befriend(ben, since)
    assert made == Friendship(ben, since)
    assert ann.friendships == [made]
    assert ann.friends == [ben]
    assert ben.friendships == []  # one edge, held by the one who asked
    assert ann.is_friend_of(ben)
    assert ben.is_friend_of(ann)
    assert ann.events == [FriendshipStarted(ann.id, ben.id)]
    assert ann.befriend(Person.register("Cid", "c@example.com")).since.tzinfo is UTC


def test_befriending_oneself_or_a_friend_again_is_refused_and_changes_nothing():
    ann, ben = Person.register("Ann", "a@example.com"), Person.register("Ben", "b@example.com")
    ann.befriend(ben)
    before = (list(ann.friendships), list(ann.events), list(ben.friendships), list(ben.events))
    with pytest.raises(InvalidFriendship, match="themselves"):
        ann.befriend(ann)
    with pytest.raises(AlreadyFriends):
        ann.befriend(ben)
    with pytest.raises(AlreadyFriends):
        ben.befriend(ann)  # the edge Ann holds joins them both ways
    with pytest.raises(InvalidFriendship):
        ann.befriend(Person(ann.id, "Ann again", "a2@example.com"))  # the same person, by id
    assert (ann.friendships, ann.events, ben.friendships, ben.events) == before


def test_relationships_take_no_part_in_equality():
    ann = Person.register("Ann", "a@example.com")
    twin = Person(ann.id, ann.name, ann.email)
    ann.befriend(Person.register("Ben", "b@example.com"))
    assert ann == twin
