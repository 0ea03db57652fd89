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

from adapters.base import BaseAdapter
from wire.erp import (
    Accrual,
    AccrualRequest,
    AccrualSettlement,
    Claim,
    ClaimRequest,
    Deal,
    DealCheck,
    DealCheckRequest,
    DistributionCentre,
    FundingSummary,
    Item,
    Posting,
    PostingRequest,
    PriceZone,
    PromotionMaster,
    PromotionMasterRequest,
    PromotionStatus,
    StatusChange,
    Store,
    StoreGroup,
    StoreGroupRequest,
    TransferClaim,
    TransferClaimRequest,
    Vendor,
    ZonePrice,
    ZonePriceRequest,
)


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
        self,
        *,
        region: str | None = None,
        store_class: str | None = None,
        store_format: str | None = None,
        price_zone: str | None = None,
    ) -> list[Store]:
        return await self._call(
            "GET",
            "/stores",
            operation="list_stores",
            result=list[Store],
            params={
                "region": region,
                "store_class": store_class,
                "format": store_format,
                "price_zone": price_zone,
            },
        )

    # store groups and price zones
    async def list_store_groups(self) -> list[StoreGroup]:
        """Every named store group (lists of stores) the ERP defines."""
        return await self._call(
            "GET", "/store-groups", operation="list_store_groups", result=list[StoreGroup]
        )

    async def get_store_group(self, group_id: str) -> StoreGroup:
        return await self._call(
            "GET", f"/store-groups/{group_id}", operation="get_store_group", result=StoreGroup
        )

    async def define_store_group(
        self, request: StoreGroupRequest, *, idempotency_key: str
    ) -> StoreGroup:
        return await self._call(
            "POST",
            "/store-groups",
            operation="define_store_group",
            result=StoreGroup,
            json=request,
            idempotency_key=idempotency_key,
        )

    async def list_price_zones(self) -> list[PriceZone]:
        return await self._call(
            "GET", "/price-zones", operation="list_price_zones", result=list[PriceZone]
        )

    async def zone_prices(
        self, item_ids: list[str], *, zones: list[str] | None = None
    ) -> list[ZonePrice]:
        """Each item's shelf price in each zone (the regular price where a zone has none)."""
        return await self._call(
            "GET",
            "/zone-prices",
            operation="zone_prices",
            result=list[ZonePrice],
            params={"item_ids": item_ids, "zones": zones},
        )

    async def set_zone_prices(
        self, zone_id: str, request: ZonePriceRequest, *, idempotency_key: str
    ) -> list[ZonePrice]:
        return await self._call(
            "POST",
            f"/price-zones/{zone_id}/prices",
            operation="set_zone_prices",
            result=list[ZonePrice],
            json=request,
            idempotency_key=idempotency_key,
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

    async def settle_accrual(
        self, accrual_id: str, *, idempotency_key: str, reason: str = ""
    ) -> AccrualSettlement:
        """Close the accrual against the claims; the unclaimed rest is released."""
        return await self._call(
            "POST",
            f"/accruals/{accrual_id}/settle",
            operation="settle_accrual",
            result=AccrualSettlement,
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


__all__ = ["ErpClient"]
