"""Request bodies of the web API, validated by pydantic (a bad one gets a 422 naming the field).

Responses are the services' result dataclasses (``app.services.results``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

Currency = Annotated[
    str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code", examples=["EUR"])
]
Amount = Annotated[
    Decimal,
    Field(
        gt=0,
        max_digits=18,
        decimal_places=4,
        description="a positive amount with at most 4 decimal places; send it as a string "
        "to keep it exact",
        examples=["12.50"],
    ),
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegisterPerson(Body):
    name: str = Field(min_length=1, max_length=200, examples=["Alice"])
    email: str = Field(
        min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$", examples=["alice@example.com"]
    )
    age: int | None = Field(default=None, ge=0, le=150, examples=[30])


class Befriend(Body):
    friend_id: UUID


class OpenAccount(Body):
    owner_id: UUID
    currency: Currency = "EUR"


class Deposit(Body):
    amount: Amount
    currency: Currency = "EUR"


class MakeTransfer(Body):
    source_id: UUID
    target_id: UUID
    amount: Amount
    currency: Currency = "EUR"
    transfer_id: UUID | None = Field(
        default=None,
        description="an id chosen by the client: sending the same transfer again with it "
        "returns the stored transfer instead of moving money twice",
    )
