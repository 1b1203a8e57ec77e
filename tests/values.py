"""Value types the codec tests store: an int enum and a frozen value object."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str = "EUR"
