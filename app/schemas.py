"""Request bodies of the web API, validated by pydantic (a bad one gets a 422 naming the field).

Responses are the services' result dataclasses (``app.services.results``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.model import minor_unit_exponent

Currency = Annotated[
    str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code", examples=["EUR"])
]
Amount = Annotated[
    Decimal,
    Field(
        gt=0,
        max_digits=18,
        decimal_places=4,
        description="a positive amount with no more decimal places than its currency has "
        "(2 for EUR, 0 for JPY, 3 for KWD); send it as a string to keep it exact",
        examples=["12.50"],
    ),
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Payment(Body):
    """A body with an ``amount`` in a ``currency``: the amount fits the currency's minor unit."""

    @model_validator(mode="after")
    def _fits_the_currency(self) -> Payment:
        amount: Decimal = getattr(self, "amount")  # noqa: B009 (declared by subclasses)
        currency: str = getattr(self, "currency")  # noqa: B009
        places = minor_unit_exponent(currency)
        if -int(amount.as_tuple().exponent) > places and amount != amount.quantize(
            Decimal(1).scaleb(-places)
        ):
            raise ValueError(
                f"amount {amount} has more decimal places than {currency} has ({places})"
            )
        return self


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


class Deposit(Payment):
    amount: Amount
    currency: Currency = "EUR"


class MakeTransfer(Payment):
    source_id: UUID
    target_id: UUID
    amount: Amount
    currency: Currency = "EUR"
    transfer_id: UUID | None = Field(
        default=None,
        description="an id chosen by the client: sending the same transfer again with it "
        "returns the stored transfer instead of moving money twice",
    )
