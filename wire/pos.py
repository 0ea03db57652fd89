"""POS wire schemas: the price book per store, sales, orders, customers and refunds per
tender (``/pos``).

A refund names one tender (``card``, ``gift_card``, ``store_credit``, ``cash``) and the order
lines the return takes back; a tender that cannot take the money back is refused with code
``tender_declined`` and the caller refunds that amount as ``store_credit``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, Field

from wire.common import Identifier, Model, Money, PositiveQuantity, PriceLine, ResultModel

TenderType = Literal["card", "gift_card", "store_credit", "cash"]


class PriceBookRequest(Model):
    """Publish a promotion's prices to stores' price books, effective over a window."""

    promotion_id: Identifier
    store_ids: list[Identifier] = Field(min_length=1, max_length=500)
    prices: list[PriceLine] = Field(min_length=1)
    start: AwareDatetime
    end: AwareDatetime


class PriceBookRetractRequest(Model):
    """Take a promotion's prices out of stores' price books (all its items)."""

    promotion_id: Identifier
    store_ids: list[Identifier] = Field(min_length=1, max_length=500)
    reason: str = Field(default="", max_length=500)


class PriceBookResult(ResultModel):
    promotion_id: str
    store_ids: list[str]
    status: Literal["PUBLISHED", "RETRACTED"]
    version: int
    items: int
    at: datetime


class StorePrice(ResultModel):
    """The effective price of an item in a store at a moment (read back)."""

    store_id: str
    item_id: str
    regular_price: Decimal
    price: Decimal
    promotion_id: str | None = None


class PromotionPriceEntry(ResultModel):
    store_id: str
    promotion_id: str
    status: Literal["PUBLISHED", "RETRACTED"]
    version: int
    prices: list[PriceLine]
    start: datetime
    end: datetime


class SalesLine(ResultModel):
    store_id: str
    item_id: str
    units: int
    revenue: Decimal


class SalesSummary(ResultModel):
    """Units and revenue per store and item over ``[since, until)``."""

    since: datetime
    until: datetime
    lines: list[SalesLine]
    total_units: int
    total_revenue: Decimal


class SaleRequest(Model):
    """Record a sale (drills and tests use it to move sell-through)."""

    store_id: Identifier
    item_id: Identifier
    units: PositiveQuantity
    unit_price: Money
    sold_at: AwareDatetime | None = None


class Tender(ResultModel):
    tender_id: str
    tender_type: TenderType
    amount: Decimal
    refunded_amount: Decimal = Decimal("0")
    last4: str | None = None


class OrderLine(ResultModel):
    line_no: int
    item_id: str
    quantity: int
    unit_price: Decimal
    final_sale: bool = False
    returned_quantity: int = 0
    """Units of this line already returned (refunded), over every return on the order."""


class Order(ResultModel):
    """A past order with its lines and the tenders that paid it (split tender)."""

    order_id: str
    receipt_id: str
    customer_id: str
    store_id: str
    ordered_at: datetime
    lines: list[OrderLine]
    tenders: list[Tender]
    total: Decimal


class Customer(ResultModel):
    customer_id: str
    name: str
    email: str
    orders: int
    returns_last_365d: int
    returned_value_last_365d: Decimal


class ReturnedLine(Model):
    """Units of one item of the order taken back by a return."""

    item_id: Identifier
    quantity: PositiveQuantity


class RefundRequest(Model):
    """Give money back on one tender of an order, for one return (RMA).

    ``tender_id`` names the original tender; leave it empty with
    ``tender_type="store_credit"`` to issue new store credit (the fallback).
    """

    order_id: Identifier
    rma_id: Identifier
    tender_type: TenderType
    tender_id: str | None = None
    amount: Money
    reason: str = Field(default="", max_length=500)
    lines: list[ReturnedLine] = Field(default_factory=list)
    """The order's items this return takes back. Every leg of one return names the same
    lines: the POS records them once per ``rma_id`` (the order lines' ``returned_quantity``)
    and refuses a return of more than is left on the order."""


class Refund(ResultModel):
    refund_id: str
    order_id: str
    rma_id: str
    tender_type: TenderType
    tender_id: str | None = None
    amount: Decimal
    status: Literal["REFUNDED"]
    store_credit_id: str | None = None
    created_at: datetime


__all__ = [
    "Customer",
    "Order",
    "OrderLine",
    "PriceBookRequest",
    "PriceBookResult",
    "PriceBookRetractRequest",
    "PromotionPriceEntry",
    "Refund",
    "RefundRequest",
    "ReturnedLine",
    "SaleRequest",
    "SalesLine",
    "SalesSummary",
    "StorePrice",
    "Tender",
    "TenderType",
]
