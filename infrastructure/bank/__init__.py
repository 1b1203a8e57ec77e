"""The example domain's persistence, built on ``infrastructure.persistence``'s public API.

- ``mappings``: how people, accounts and transfers are stored (``bank_registry``);
- ``repositories``: the typed repositories with the graph reads (custom Cypher
  written once, offered sync and async) and the units of work;
- ``fakes``: the in-memory units, with the custom queries' in-memory twins.
"""

from .mappings import bank_registry
from .repositories import (
    FRIEND_SUGGESTIONS,
    NEXT_ACCOUNTS,
    SHORTEST_PATH,
    AccountRepository,
    AsyncAccountRepository,
    AsyncBankUnitOfWork,
    AsyncPersonRepository,
    BankUnitOfWork,
    PersonRepository,
)

__all__ = [
    "FRIEND_SUGGESTIONS",
    "NEXT_ACCOUNTS",
    "SHORTEST_PATH",
    "AccountRepository",
    "AsyncAccountRepository",
    "AsyncBankUnitOfWork",
    "AsyncPersonRepository",
    "BankUnitOfWork",
    "PersonRepository",
    "bank_registry",
]
