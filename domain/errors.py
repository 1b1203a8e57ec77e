"""Errors the domain raises when a rule would be broken."""


class DomainError(Exception):
    """A business rule refused the operation."""


class InsufficientFunds(DomainError):
    """A withdrawal or transfer would overdraw an account."""


class CurrencyMismatch(DomainError):
    """Amounts of different currencies were combined."""


class InvalidAmount(DomainError):
    """An amount is negative, zero where it must not be, or malformed."""


class SameAccountTransfer(InvalidAmount):
    """A transfer whose source and target are the same account."""


class InvalidPerson(DomainError):
    """A person's name, email or age is missing or malformed."""


class EmailTaken(DomainError):
    """Another person is registered with this email."""


class InvalidFriendship(DomainError):
    """A friendship that cannot exist (with oneself)."""


class AlreadyFriends(DomainError):
    """The two people are friends already."""


class TransferIdReused(DomainError):
    """A transfer id was given again for a different transfer."""
