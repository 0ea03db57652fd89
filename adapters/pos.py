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

from adapters.base import BaseAdapter
from wire.pos import (
    Customer,
    Order,
    PriceBookRequest,
    PriceBookResult,
    PriceBookRetractRequest,
    PromotionPriceEntry,
    Refund,
    RefundRequest,
    SaleRequest,
    SalesLine,
    SalesSummary,
    StorePrice,
)


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


__all__ = ["PosClient"]
