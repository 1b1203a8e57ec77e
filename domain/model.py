"""Entities and value objects of the example domain: people, friendships, accounts, transfers.

Plain dataclasses with behaviour. Persistence is mapped from the outside
(``infrastructure.bank``); nothing here knows about it. Entities record the
domain events of their changes in ``events``.

The domain is a graph: a person holds their friendships (``Friendship``, one
per friend, with the date it started), and a transfer holds the account it
came from and the account it went to. Relationship fields hold plain object
references; they take no part in ``==`` or ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID, uuid4

from .errors import (
    AlreadyFriends,
    CurrencyMismatch,
    InsufficientFunds,
    InvalidAmount,
    InvalidFriendship,
    InvalidPerson,
    SameAccountTransfer,
)
from .events import (
    AccountOpened,
    DomainEvent,
    FriendshipStarted,
    MoneyDeposited,
    MoneyTransferred,
    PersonRegistered,
)

#: ISO 4217 currencies whose minor unit is not a hundredth.
_EXPONENTS = {
    **dict.fromkeys(["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"], 0),
    **dict.fromkeys(["RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"], 0),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}


def minor_unit_exponent(currency: str) -> int:
    """Decimal places of ``currency``'s minor unit: 2 (EUR, USD...), 0 (JPY...), 3 (KWD...)."""
    return _EXPONENTS.get(currency, 2)


@dataclass(frozen=True)
class Money:
    """An exact amount in one currency."""

    amount: Decimal
    currency: str = "EUR"

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise InvalidAmount(f"amount must be a finite Decimal, got {self.amount!r}")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise InvalidAmount(f"currency must be a three-letter code, got {self.currency!r}")

    @property
    def exponent(self) -> int:
        """The number of decimal places of the currency's minor unit (ISO 4217)."""
        return minor_unit_exponent(self.currency)

    def formatted(self) -> str:
        """The amount with its currency's decimal places (more only if it has more)."""
        places = max(self.exponent, -int(self.amount.as_tuple().exponent))
        return f"{self.amount:.{places}f}"

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str = "EUR") -> Money:
        return cls(Decimal(amount), currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount < other.amount

    @property
    def is_positive(self) -> bool:
        return self.amount > 0

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


@dataclass
class Person:
    id: UUID
    name: str
    email: str
    age: int | None = None
    version: int = 0
    events: list[DomainEvent] = field(default_factory=list, repr=False, compare=False)
    friendships: list[Friendship] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def register(cls, name: str, email: str, age: int | None = None) -> Person:
        """A new person, recording ``PersonRegistered``.

        Raises:
            InvalidPerson: the name is blank, the email has no single ``@``
                between two non-empty parts, or the age is outside 0..150.
        """
        name = name.strip()
        if not name:
            raise InvalidPerson("name must not be blank")
        local, at, domain = email.partition("@")
        if not (local and at and domain) or "@" in domain or any(c.isspace() for c in email):
            raise InvalidPerson(f"email {email!r} is not an address like name@example.com")
        if age is not None and not 0 <= age <= 150:
            raise InvalidPerson(f"age must be between 0 and 150, got {age}")
        person = cls(id=uuid4(), name=name, email=email, age=age)
        person.events.append(PersonRegistered(person.id, name, email))
        return person

    @property
    def friends(self) -> list[Person]:
        """The people this person holds as friends."""
        return [f.friend for f in self.friendships]

    def is_friend_of(self, other: Person) -> bool:
        """Whether either of the two holds the other as a friend."""
        return any(f.friend.id == other.id for f in self.friendships) or any(
            f.friend.id == self.id for f in other.friendships
        )

    def befriend(self, other: Person, since: datetime | None = None) -> Friendship:
        """Make ``other`` a friend of this person, recording ``FriendshipStarted``.

        A friendship goes both ways but is held once, by the person who asked.

        Raises:
            InvalidFriendship: ``other`` is this person.
            AlreadyFriends: one of the two holds the other already.
        """
        if other.id == self.id:
            raise InvalidFriendship(f"person {self.id} cannot befriend themselves")
        if self.is_friend_of(other):
            raise AlreadyFriends(f"{self.id} and {other.id} are friends already")
        friendship = Friendship(other, since or datetime.now(UTC))
        self.friendships.append(friendship)
        self.events.append(FriendshipStarted(self.id, other.id))
        return friendship


@dataclass
class Friendship:
    """One of a person's friendships: the friend, and since when."""

    friend: Person
    since: datetime


@dataclass(frozen=True)
class FriendSuggestion:
    """Someone a person may know: a friend of ``mutual_friends`` of their friends."""

    person: Person
    mutual_friends: int


@dataclass
class Account:
    id: UUID
    owner_id: UUID
    balance: Money
    version: int = 0
    events: list[DomainEvent] = field(default_factory=list, repr=False, compare=False)
    # Audit fields, stamped by the persistence layer's audit hook when it is installed.
    created_at: datetime | None = field(default=None, compare=False)
    updated_at: datetime | None = field(default=None, compare=False)
    updated_by: str | None = field(default=None, compare=False)

    @classmethod
    def open(cls, owner_id: UUID, currency: str = "EUR") -> Account:
        account = cls(id=uuid4(), owner_id=owner_id, balance=Money(Decimal("0"), currency))
        account.events.append(AccountOpened(account.id, owner_id, currency))
        return account

    def deposit(self, amount: Money) -> None:
        if not amount.is_positive:
            raise InvalidAmount(f"deposit must be positive, got {amount}")
        self.balance = self.balance + amount
        self.events.append(MoneyDeposited(self.id, amount.amount, amount.currency))

    def withdraw(self, amount: Money) -> None:
        if not amount.is_positive:
            raise InvalidAmount(f"withdrawal must be positive, got {amount}")
        if self.balance < amount:
            raise InsufficientFunds(
                f"account {self.id} holds {self.balance}, cannot withdraw {amount}"
            )
        self.balance = self.balance - amount


@dataclass
class Transfer:
    """A completed movement of money from the ``source`` account to the ``target`` account."""

    id: UUID
    source_id: UUID
    target_id: UUID
    amount: Money
    at: datetime
    events: list[DomainEvent] = field(default_factory=list, repr=False, compare=False)
    source: Account | None = field(default=None, repr=False, compare=False)
    target: Account | None = field(default=None, repr=False, compare=False)

    @classmethod
    def between(
        cls, source: Account, target: Account, amount: Money, transfer_id: UUID | None = None
    ) -> Transfer:
        """Move ``amount`` from ``source`` to ``target`` and record it.

        ``transfer_id`` lets the caller choose the id up front (an idempotency
        key: the same transfer asked twice is recognised by it).

        Raises:
            SameAccountTransfer: both accounts are the same (an ``InvalidAmount``).
            InvalidAmount: the amount is not positive.
            InsufficientFunds: ``source`` holds less than ``amount``.
            CurrencyMismatch: the accounts or the amount differ in currency.
        """
        if source.id == target.id:
            raise SameAccountTransfer(
                f"cannot transfer from account {source.id} to itself: source and target "
                "are the same account"
            )
        credited = target.balance + amount  # checks the currency before anything changes
        source.withdraw(amount)
        target.balance = credited
        transfer = cls(transfer_id or uuid4(), source.id, target.id, amount, datetime.now(UTC))
        transfer.source, transfer.target = source, target
        transfer.events.append(
            MoneyTransferred(transfer.id, source.id, target.id, amount.amount, amount.currency)
        )
        return transfer
