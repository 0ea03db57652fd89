"""POS: the price book per store, sales (what sell-through reads), orders and refunds.

* Price book: :meth:`PosClient.publish_prices` puts a promotion's prices into up to 500
  stores' price books in one call (synchronous: the POS answers when the stores have
  them); :meth:`PosClient.retract_prices` takes them out; :meth:`PosClient.store_prices`
  reads back the effective price of items in a store at a moment.
* Sales: :meth:`PosClient.sales` sums units and revenue per store and item over a window.
* Orders and customers: receipt lookup for returns, the original tenders, the customer's
  return history.
* Refunds: one call per tender (``card``, ``gift_card``, ``store_credit``, ``cash``), each
  with its own idempotency key, naming the order lines the return takes back (kept as the
  lines' ``returned_quantity``, once per return). A tender that cannot take the money back
  (closed card, injected refusal) raises ``BusinessRefusal(code="tender_declined")``; the
  returns workflow then refunds that amount as ``store_credit`` (which always works).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, Field

from adapters.base import BaseAdapter
from adapters.models import Identifier, Model, Money, PositiveQuantity, PriceLine, ResultModel

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


class PosClient(BaseAdapter):
    """Typed client of the POS (``/pos``)."""

    system = "pos"
    prefix = "/pos"

    async def publish_prices(
        self, request: PriceBookRequest, *, idempotency_key: str
    ) -> PriceBookResult:
        return await self._call(
            "POST",
            "/price-book/publish",
            operation="publish_prices",
            result=PriceBookResult,
            json=request,
            idempotency_key=idempotency_key,
        )

    async def retract_prices(
        self, request: PriceBookRetractRequest, *, idempotency_key: str
    ) -> PriceBookResult:
        return await self._call(
            "POST",
            "/price-book/retract",
            operation="retract_prices",
            result=PriceBookResult,
            json=request,
            idempotency_key=idempotency_key,
        )

    async def store_prices(
        self, store_id: str, item_ids: list[str], *, at: datetime | None = None
    ) -> list[StorePrice]:
        """Effective prices in a store now (or ``at``): promoted if a promotion is live."""
        return await self._call(
            "GET",
            f"/price-book/stores/{store_id}",
            operation="store_prices",
            result=list[StorePrice],
            params={"item_ids": item_ids, "at": at},
        )

    async def promotion_prices(self, promotion_id: str) -> list[PromotionPriceEntry]:
        """Every store's price book entry for a promotion (read back after publish)."""
        return await self._call(
            "GET",
            f"/price-book/promotions/{promotion_id}",
            operation="promotion_prices",
            result=list[PromotionPriceEntry],
        )

    async def sales(
        self,
        *,
        item_ids: list[str],
        store_ids: list[str] | None = None,
        since: datetime,
        until: datetime,
    ) -> SalesSummary:
        return await self._call(
            "GET",
            "/sales",
            operation="sales",
            result=SalesSummary,
            params={"item_ids": item_ids, "store_ids": store_ids, "since": since, "until": until},
        )

    async def record_sale(self, request: SaleRequest, *, idempotency_key: str) -> SalesLine:
        return await self._call(
            "POST",
            "/sales",
            operation="record_sale",
            result=SalesLine,
            json=request,
            idempotency_key=idempotency_key,
        )

    async def get_order(self, order_id: str) -> Order:
        return await self._call("GET", f"/orders/{order_id}", operation="get_order", result=Order)

    async def find_receipt(self, receipt_id: str) -> Order:
        """Receipt lookup: the order a receipt belongs to (``not_found`` if none)."""
        return await self._call(
            "GET", f"/receipts/{receipt_id}", operation="find_receipt", result=Order
        )

    async def get_customer(self, customer_id: str) -> Customer:
        return await self._call(
            "GET", f"/customers/{customer_id}", operation="get_customer", result=Customer
        )

    async def customer_orders(self, customer_id: str) -> list[Order]:
        return await self._call(
            "GET",
            f"/customers/{customer_id}/orders",
            operation="customer_orders",
            result=list[Order],
        )

    async def refund(self, request: RefundRequest, *, idempotency_key: str) -> Refund:
        """Refund on one tender; ``tender_declined`` refusal means: fall back to store credit."""
        return await self._call(
            "POST",
            "/refunds",
            operation=f"refund.{request.tender_type}",
            result=Refund,
            json=request,
            idempotency_key=idempotency_key,
        )

    async def refunds(self, *, rma_id: str) -> list[Refund]:
        return await self._call(
            "GET",
            "/refunds",
            operation="refunds",
            result=list[Refund],
            params={"rma_id": rma_id},
        )


__all__ = [
    "Customer",
    "Order",
    "OrderLine",
    "PosClient",
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
