"""The use cases of the example domain, over the ports in ``domain.ports``.

Services import only the domain: the container hands them a unit-of-work
factory (FalkorDB, or the in-memory fakes in tests) and a retry policy.
"""

from .bank import BankService
from .bank_async import AsyncBankService
from .results import AccountView, FriendshipView, PersonView, SuggestionView, TransferView
from .retry import RunOnce

__all__ = [
    "AccountView",
    "AsyncBankService",
    "BankService",
    "FriendshipView",
    "PersonView",
    "RunOnce",
    "SuggestionView",
    "TransferView",
]
