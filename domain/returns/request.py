"""What the customer asks for, and the original sale it points at (the receipt lookup)."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.money import CENT, ZERO


def _money(value: Decimal) -> Decimal:
    if value != value.quantize(CENT):
        raise ValueError("must be a whole number of cents (at most 2 decimals)")
    if value < 0:
        raise ValueError("must not be negative")
    return value.quantize(CENT)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must carry a time zone (for example 2026-05-01T10:00:00Z)")
    return value


Money = Annotated[Decimal, AfterValidator(_money)]
AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class ReasonCode(StrEnum):
    SIZE = "size"
    DAMAGED = "damaged"
    DEFECTIVE = "defective"
    NOT_AS_DESCRIBED = "not_as_described"
    WRONG_ITEM = "wrong_item"
    UNWANTED = "unwanted"
    OTHER = "other"


class Channel(StrEnum):
    STORE = "store"
    ONLINE = "online"


class TenderType(StrEnum):
    CARD = "card"
    GIFT_CARD = "gift_card"
    STORE_CREDIT = "store_credit"
    CASH = "cash"


_RMA_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Customer(BaseModel):
    """Who returns: personal data, encrypted in Temporal by the payload codec."""

    model_config = ConfigDict(extra="forbid")

    customer_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    email: str
    address: str = ""
    phone: str = ""

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value

    def masked_email(self) -> str:
        local, _, domain = self.email.partition("@")
        return f"{local[:1]}***@{domain}"


class ReturnLineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1)
    quantity: int = Field(gt=0, le=1000)


class ReturnRequest(BaseModel):
    """What the customer asks for: `python starter.py return open FILE` reads this."""

    model_config = ConfigDict(extra="forbid")

    rma_id: str
    order_id: str = Field(min_length=1)
    channel: Channel
    store_id: str | None = None
    reason: ReasonCode
    has_receipt: bool = True
    customer: Customer
    lines: list[ReturnLineRequest] = Field(min_length=1)
    note: str = ""

    @field_validator("rma_id")
    @classmethod
    def _rma(cls, value: str) -> str:
        if not _RMA_ID.match(value):
            raise ValueError(
                "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        return value

    @model_validator(mode="after")
    def _shape(self) -> ReturnRequest:
        if self.channel is Channel.STORE and not self.store_id:
            raise ValueError("a store return needs store_id (the store taking the item back)")
        seen: set[str] = set()
        for line in self.lines:
            if line.sku in seen:
                raise ValueError(f"sku {line.sku} is listed twice; give one line per sku")
            seen.add(line.sku)
        return self


class OrderLine(BaseModel):
    sku: str
    description: str = ""
    category: str = "general"
    unit_price: Money
    quantity: int = Field(gt=0)
    returned_quantity: int = Field(default=0, ge=0)
    final_sale: bool = False
    vendor_id: str | None = None
    vendor_returnable: bool = True
    unit_cost: Money | None = None


class Tender(BaseModel):
    tender_id: str
    type: TenderType
    amount: Money
    captured_at: AwareDatetime
    refunded: Money = ZERO
    card_last4: str | None = None


class OrderRecord(BaseModel):
    """The original sale as the system of record knows it (receipt lookup)."""

    order_id: str
    channel: Channel
    store_id: str | None = None
    customer_id: str | None = None
    purchased_at: AwareDatetime
    lines: list[OrderLine]
    tenders: list[Tender]

    def line(self, sku: str) -> OrderLine | None:
        return next((line for line in self.lines if line.sku == sku), None)
