from decimal import Decimal

from domain.model import Account, Money, Person


def test_registered_person_and_account_round_trip(uow_factory):
    alice = Person.register("Alice", "alice@example.com", 30)
    account = Account.open(alice.id)
    account.deposit(Money(Decimal("12.50")))
    with uow_factory() as uow:
        uow.people.add(alice)
        uow.accounts.add(account)
    with uow_factory() as uow:
        loaded = uow.accounts.get(account.id)
        assert loaded.balance == Money(Decimal("12.50"))
        assert uow.people.get(alice.id).name == "Alice"
