"""The example domain's rules, on plain objects (no persistence anywhere)."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest

from domain.errors import (
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
from domain.friendship import Friendship, FriendSuggestion, suggest_friends
from domain.model import Account, Money, Person, Transfer


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


def test_a_friendship_has_one_key_whichever_way_round():
    ann, ben = Person.register("Ann", "a@example.com"), Person.register("Ben", "b@example.com")
    one, other = Friendship.between(ann, ben), Friendship.between(ben, ann)
    assert one.id == other.id == Friendship.key_for(ben.id, ann.id)
    assert str(one.person_id) < str(one.friend_id)
    assert (one.other(ann.id), one.other(ben.id)) == (ben.id, ann.id)
    assert one.events == [FriendshipStarted(ann.id, ben.id)]
    with pytest.raises(InvalidFriendship):
        Friendship.between(ann, ann)
    with pytest.raises(ValueError, match="not part"):
        one.other(uuid4())


def test_suggestions_rank_friends_of_friends_by_mutual_friends_then_id():
    me, a, b, c, d, e = (uuid4() for _ in range(6))
    pairs = [(me, a), (b, me), (a, c), (b, c), (a, d), (d, e), (a, b)]
    # c knows a and b; d knows a; e is two steps away; a and b are friends already.
    assert suggest_friends(me, pairs) == [FriendSuggestion(c, 2), FriendSuggestion(d, 1)]
    assert suggest_friends(me, pairs, limit=1) == [FriendSuggestion(c, 2)]
    assert suggest_friends(e, pairs) == [FriendSuggestion(a, 1)]
    assert suggest_friends(uuid4(), pairs) == []
    x, y = sorted((uuid4(), uuid4()), key=str)
    assert [s.person_id for s in suggest_friends(me, [(me, a), (a, y), (a, x)])] == [x, y]
