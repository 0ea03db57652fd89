"""ERP: item and location master, vendor deals, promotion master, funding, postings.

Typical use inside an activity::

    erp = ErpClient(http=shared_http)          # or Backoffice(settings).erp
    item = await erp.get_item("I0001")
    check = await erp.check_deal("D001", DealCheckRequest(item_ids=[...], start=..., end=...,
                                                          units_forecast=1200))
    await erp.create_promotion(PromotionMasterRequest(...), idempotency_key=key)
    await erp.activate_promotion("P1", idempotency_key=key)

Every mutating method takes ``idempotency_key`` (required): the same key with the same
request returns the first result (``Idempotent-Replay: true``), the same key with another
request is a ``BusinessRefusal(code="idempotency_conflict")``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, Field

from adapters.base import BaseAdapter
from adapters.models import (
    Identifier,
    Model,
    Money,
    PriceLine,
    Quantity,
    QuantityLine,
    ResultModel,
)

DealType = Literal["off_invoice", "bill_back", "scan_based", "rebate"]
PostingKind = Literal["credit_memo", "write_off", "vendor_return_claim"]
TransferClaimKind = Literal["short", "over", "lost", "damaged"]
PromotionStatus = Literal["DRAFT", "ACTIVE", "INACTIVE"]


# -- master data ---------------------------------------------------------------------------


class Item(ResultModel):
    """An item: what it costs us, what it sells for, who supplies it."""

    item_id: str
    name: str
    category: str
    vendor_id: str
    cost: Decimal
    regular_price: Decimal
    pack_size: int = 1
    final_sale: bool = False


class Store(ResultModel):
    """A store: region, IANA time zone, class (A/B/C by volume) and its serving DC."""

    store_id: str
    name: str
    region: str
    timezone: str
    store_class: str
    dc_id: str
    latitude: float
    longitude: float


class DistributionCentre(ResultModel):
    dc_id: str
    name: str
    region: str
    timezone: str
    latitude: float
    longitude: float
    daily_capacity_units: int


class Vendor(ResultModel):
    vendor_id: str
    name: str


class Deal(ResultModel):
    """A vendor funding agreement for some items, valid over a window, maybe capped."""

    deal_id: str
    vendor_id: str
    deal_type: DealType
    item_ids: list[str]
    funding_per_unit: Decimal
    valid_from: datetime
    valid_to: datetime
    cap_units: int | None = None
    cap_amount: Decimal | None = None
    accrued_amount: Decimal = Decimal("0")
    claimed_amount: Decimal = Decimal("0")


class DealCheckRequest(Model):
    """Is deal X valid for these items over this window, and how much does it fund?"""

    item_ids: list[Identifier] = Field(min_length=1)
    start: AwareDatetime
    end: AwareDatetime
    units_forecast: Quantity = 0


class DealCheck(ResultModel):
    """Answer of :meth:`ErpClient.check_deal`; ``valid`` False comes with ``reasons``."""

    deal_id: str
    valid: bool
    reasons: list[str] = Field(default_factory=list)
    deal_type: DealType
    funding_per_unit: Decimal
    fundable_units: int
    fundable_amount: Decimal
    cap_remaining_amount: Decimal | None = None
    cap_remaining_units: int | None = None


# -- promotion master ----------------------------------------------------------------------


class PromotionMasterRequest(Model):
    """The promotion as ERP records it (prices per item, stores, window, funding deal)."""

    promotion_id: Identifier
    name: str = Field(min_length=1, max_length=200)
    offer_type: str = Field(default="percent_off", min_length=1)
    items: list[PriceLine] = Field(min_length=1)
    store_ids: list[Identifier] = Field(min_length=1)
    start: AwareDatetime
    end: AwareDatetime
    deal_id: str | None = None


class PromotionMaster(ResultModel):
    promotion_id: str
    name: str
    offer_type: str
    items: list[PriceLine]
    store_ids: list[str]
    start: datetime
    end: datetime
    deal_id: str | None = None
    status: PromotionStatus
    version: int
    updated_at: datetime


class StatusChange(Model):
    """Body of activate/deactivate/cancel/reverse calls: why, for the audit trail."""

    reason: str = Field(default="", max_length=500)


# -- funding -------------------------------------------------------------------------------


class AccrualRequest(Model):
    """Accrue vendor funding at launch: expected units x funding per unit."""

    promotion_id: Identifier
    deal_id: Identifier
    units: Quantity
    amount: Money


class Accrual(ResultModel):
    accrual_id: str
    promotion_id: str
    deal_id: str
    units: int
    amount: Decimal
    status: Literal["ACCRUED", "REVERSED"]
    created_at: datetime


class ClaimRequest(Model):
    """Claim funding on actual units sold; the ERP caps it by the deal's cap."""

    promotion_id: Identifier
    deal_id: Identifier
    units: Quantity


class Claim(ResultModel):
    claim_id: str
    promotion_id: str
    deal_id: str
    units: int
    amount: Decimal
    capped: bool
    accrued_amount: Decimal
    created_at: datetime


class FundingSummary(ResultModel):
    """Accrued (net of reversals) against claimed, for rebate recovery accuracy."""

    promotion_id: str
    accrued_amount: Decimal
    reversed_amount: Decimal
    claimed_amount: Decimal
    accruals: list[Accrual]
    claims: list[Claim]


# -- postings ------------------------------------------------------------------------------


class PostingRequest(Model):
    """A financial posting: credit memo (refund), write-off, vendor return claim."""

    kind: PostingKind
    reference: Identifier = Field(description="the business key it belongs to, e.g. an RMA id")
    amount: Money
    customer_id: str | None = None
    vendor_id: str | None = None
    item_id: str | None = None
    quantity: Quantity | None = None
    reason: str = Field(default="", max_length=500)


class Posting(ResultModel):
    posting_id: str
    kind: PostingKind
    reference: str
    amount: Decimal
    customer_id: str | None = None
    vendor_id: str | None = None
    item_id: str | None = None
    quantity: int | None = None
    reason: str = ""
    created_at: datetime


class TransferClaimRequest(Model):
    """A claim for a transfer variance (short/over receipt), damage, or a lost shipment."""

    transfer_id: Identifier
    kind: TransferClaimKind
    lines: list[QuantityLine] = Field(min_length=1)
    amount: Money
    reason: str = Field(default="", max_length=500)


class TransferClaim(ResultModel):
    claim_id: str
    transfer_id: str
    kind: TransferClaimKind
    lines: list[QuantityLine]
    amount: Decimal
    reason: str = ""
    created_at: datetime


class ErpClient(BaseAdapter):
    """Typed client of the ERP (``/erp``)."""

    system = "erp"
    prefix = "/erp"

    # master data (reads)
    async def get_item(self, item_id: str) -> Item:
        return await self._call("GET", f"/items/{item_id}", operation="get_item", result=Item)

    async def list_items(
        self,
        *,
        category: str | None = None,
        item_ids: list[str] | None = None,
        limit: int = 500,
        offset: int = 0,
    ) -> list[Item]:
        return await self._call(
            "GET",
            "/items",
            operation="list_items",
            result=list[Item],
            params={"category": category, "ids": item_ids, "limit": limit, "offset": offset},
        )

    async def get_store(self, store_id: str) -> Store:
        return await self._call("GET", f"/stores/{store_id}", operation="get_store", result=Store)

    async def list_stores(
        self, *, region: str | None = None, store_class: str | None = None
    ) -> list[Store]:
        return await self._call(
            "GET",
            "/stores",
            operation="list_stores",
            result=list[Store],
            params={"region": region, "store_class": store_class},
        )

    async def list_dcs(self) -> list[DistributionCentre]:
        return await self._call(
            "GET", "/dcs", operation="list_dcs", result=list[DistributionCentre]
        )

    async def get_vendor(self, vendor_id: str) -> Vendor:
        return await self._call(
            "GET", f"/vendors/{vendor_id}", operation="get_vendor", result=Vendor
        )

    async def list_deals(
        self, *, item_id: str | None = None, vendor_id: str | None = None
    ) -> list[Deal]:
        return await self._call(
            "GET",
            "/deals",
            operation="list_deals",
            result=list[Deal],
            params={"item_id": item_id, "vendor_id": vendor_id},
        )

    async def get_deal(self, deal_id: str) -> Deal:
        return await self._call("GET", f"/deals/{deal_id}", operation="get_deal", result=Deal)

    async def check_deal(self, deal_id: str, request: DealCheckRequest) -> DealCheck:
        """Validate a deal for items and a window (read only; no idempotency key)."""
        return await self._call(
            "POST",
            f"/deals/{deal_id}/check",
            operation="check_deal",
            result=DealCheck,
            json=request,
        )

    # promotion master
    async def create_promotion(
        self, request: PromotionMasterRequest, *, idempotency_key: str
    ) -> PromotionMaster:
        """Create the promotion in DRAFT (a new version if it exists and is not ACTIVE)."""
        return await self._call(
            "POST",
            "/promotions",
            operation="create_promotion",
            result=PromotionMaster,
            json=request,
            idempotency_key=idempotency_key,
        )

    async def activate_promotion(
        self, promotion_id: str, *, idempotency_key: str, reason: str = ""
    ) -> PromotionMaster:
        return await self._call(
            "POST",
            f"/promotions/{promotion_id}/activate",
            operation="activate_promotion",
            result=PromotionMaster,
            json=StatusChange(reason=reason),
            idempotency_key=idempotency_key,
        )

    async def deactivate_promotion(
        self, promotion_id: str, *, idempotency_key: str, reason: str = ""
    ) -> PromotionMaster:
        return await self._call(
            "POST",
            f"/promotions/{promotion_id}/deactivate",
            operation="deactivate_promotion",
            result=PromotionMaster,
            json=StatusChange(reason=reason),
            idempotency_key=idempotency_key,
        )

    async def get_promotion(self, promotion_id: str) -> PromotionMaster:
        return await self._call(
            "GET",
            f"/promotions/{promotion_id}",
            operation="get_promotion",
            result=PromotionMaster,
        )

    async def list_promotions(
        self,
        *,
        item_ids: list[str] | None = None,
        store_ids: list[str] | None = None,
        active_from: datetime | None = None,
        active_until: datetime | None = None,
        statuses: list[PromotionStatus] | None = None,
    ) -> list[PromotionMaster]:
        """Promotion masters on any of ``item_ids``, in any of ``store_ids``, whose window
        overlaps ``[active_from, active_until)``, in one of ``statuses`` (each filter
        optional), ordered by promotion id."""
        return await self._call(
            "GET",
            "/promotions",
            operation="list_promotions",
            result=list[PromotionMaster],
            params={
                "item_id": item_ids,
                "store_id": store_ids,
                "from": active_from,
                "until": active_until,
                "status": statuses,
            },
        )

    # funding
    async def accrue(self, request: AccrualRequest, *, idempotency_key: str) -> Accrual:
        return await self._call(
            "POST",
            "/accruals",
            operation="accrue",
            result=Accrual,
            json=request,
            idempotency_key=idempotency_key,
        )

    async def reverse_accrual(
        self, accrual_id: str, *, idempotency_key: str, reason: str = ""
    ) -> Accrual:
        return await self._call(
            "POST",
            f"/accruals/{accrual_id}/reverse",
            operation="reverse_accrual",
            result=Accrual,
            json=StatusChange(reason=reason),
            idempotency_key=idempotency_key,
        )

    async def claim(self, request: ClaimRequest, *, idempotency_key: str) -> Claim:
        return await self._call(
            "POST",
            "/claims",
            operation="claim",
            result=Claim,
            json=request,
            idempotency_key=idempotency_key,
        )

    async def funding(self, promotion_id: str) -> FundingSummary:
        return await self._call(
            "GET",
            f"/promotions/{promotion_id}/funding",
            operation="funding",
            result=FundingSummary,
        )

    # postings
    async def post(self, request: PostingRequest, *, idempotency_key: str) -> Posting:
        """Post a credit memo, write-off or vendor return claim."""
        return await self._call(
            "POST",
            "/postings",
            operation="post",
            result=Posting,
            json=request,
            idempotency_key=idempotency_key,
        )

    async def list_postings(self, *, reference: str) -> list[Posting]:
        return await self._call(
            "GET",
            "/postings",
            operation="list_postings",
            result=list[Posting],
            params={"reference": reference},
        )

    async def claim_transfer(
        self, request: TransferClaimRequest, *, idempotency_key: str
    ) -> TransferClaim:
        return await self._call(
            "POST",
            "/transfer-claims",
            operation="claim_transfer",
            result=TransferClaim,
            json=request,
            idempotency_key=idempotency_key,
        )

    async def list_transfer_claims(self, *, transfer_id: str) -> list[TransferClaim]:
        return await self._call(
            "GET",
            "/transfer-claims",
            operation="list_transfer_claims",
            result=list[TransferClaim],
            params={"transfer_id": transfer_id},
        )


__all__ = [
    "Accrual",
    "AccrualRequest",
    "Claim",
    "ClaimRequest",
    "Deal",
    "DealCheck",
    "DealCheckRequest",
    "DealType",
    "DistributionCentre",
    "ErpClient",
    "FundingSummary",
    "Item",
    "Posting",
    "PostingKind",
    "PostingRequest",
    "PromotionMaster",
    "PromotionMasterRequest",
    "PromotionStatus",
    "StatusChange",
    "Store",
    "TransferClaim",
    "TransferClaimKind",
    "TransferClaimRequest",
    "Vendor",
]
