"""ERP wire schemas: item and location master, vendor deals, promotion master, funding,
postings and transfer claims (``/erp``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, Field

from wire.common import Identifier, Model, Money, PriceLine, Quantity, QuantityLine, ResultModel

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
    """A store: region, IANA time zone, class (A/B/C by volume), its serving DC, its
    format and its price zone (one of each)."""

    store_id: str
    name: str
    region: str
    timezone: str
    store_class: str
    dc_id: str
    latitude: float
    longitude: float
    format: str = ""
    price_zone: str = ""


class StoreGroup(ResultModel):
    """A named store group: a list of stores defined in the ERP (`group:<id>` in a plan)."""

    group_id: str
    name: str
    store_ids: list[str]
    version: int = 1
    updated_at: datetime | None = None


class StoreGroupRequest(Model):
    """Define (or redefine) a named store group."""

    group_id: Identifier = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    name: str = Field(min_length=1, max_length=200)
    store_ids: list[Identifier] = Field(min_length=1, max_length=20_000)


class PriceZone(ResultModel):
    """A price zone and how many stores are in it."""

    zone_id: str
    name: str
    store_count: int = 0


class ZonePrice(ResultModel):
    """An item's shelf price in a zone (the item's regular price unless the zone has its
    own)."""

    zone_id: str
    item_id: str
    shelf_price: Decimal
    zone_specific: bool = False


class ZoneShelfPrice(Model):
    item_id: Identifier
    shelf_price: Money = Field(gt=0)


class ZonePriceRequest(Model):
    """Set shelf prices in a zone (items not listed keep theirs)."""

    prices: list[ZoneShelfPrice] = Field(min_length=1, max_length=10_000)


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
    exclusive: bool = True
    """No other promotion may run on its items, stores and days (false: it stacks)."""
    priority: int = Field(default=0, ge=0)
    """Stacking order of a stackable promotion: lower applies first."""


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
    exclusive: bool = True
    priority: int = 0
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
    status: Literal["ACCRUED", "REVERSED", "SETTLED"]
    """ACCRUED: open; REVERSED: undone by a rollback; SETTLED: closed at the promotion's end
    against the claims (what was not claimed released)."""
    created_at: datetime


class AccrualSettlement(ResultModel):
    """An accrual closed at the end: `claimed` of it consumed by claims, `released` freed."""

    accrual_id: str
    promotion_id: str
    deal_id: str
    accrued: Decimal
    claimed: Decimal
    released: Decimal
    status: Literal["SETTLED", "REVERSED"]


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
    """Still open (ACCRUED): zero once the promotion is settled or rolled back."""
    reversed_amount: Decimal
    claimed_amount: Decimal
    settled_amount: Decimal = Decimal(0)
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
