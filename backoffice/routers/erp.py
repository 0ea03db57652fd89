"""ERP: master data, deals, promotion master, postings (funding: `erp_funding`)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session, col, select

from backoffice.core import Ctx, gate, get_or_404, mutate, new_id, read
from backoffice.db import (
    CustomerRow,
    DcRow,
    DealRow,
    ItemRow,
    PostingRow,
    PromotionRow,
    StoreRow,
    TransferClaimRow,
    TransferRow,
    VendorRow,
)
from backoffice.errors import ApiError, bad_input, not_found
from backoffice.routers.common import (
    check_window,
    known_items,
    known_stores,
    no_duplicates,
    split_ids,
)
from wire.erp import (
    Deal,
    DealCheck,
    DealCheckRequest,
    DistributionCentre,
    Item,
    Posting,
    PostingRequest,
    PromotionMaster,
    PromotionMasterRequest,
    StatusChange,
    Store,
    TransferClaim,
    TransferClaimRequest,
    Vendor,
)

SYSTEM = "erp"
router = APIRouter(prefix="/erp", tags=["erp"])


def item_model(row: ItemRow) -> Item:
    return Item.model_validate(row.model_dump())


def deal_model(row: DealRow) -> Deal:
    return Deal.model_validate(row.model_dump())


def promotion_model(row: PromotionRow) -> PromotionMaster:
    return PromotionMaster.model_validate(row.model_dump())


# -- master data ---------------------------------------------------------------------------


@router.get("/items")
async def list_items(
    request: Request,
    category: str | None = None,
    ids: str | None = Query(default=None, description="comma-separated item ids"),
    limit: int = Query(default=500, ge=1, le=5000),
    offset: int = Query(default=0, ge=0),
) -> list[Item]:
    await gate(request, SYSTEM, "list_items")
    wanted = split_ids(ids)

    def q(s: Session) -> list[Item]:
        stmt = select(ItemRow).order_by(col(ItemRow.item_id))
        if category:
            stmt = stmt.where(ItemRow.category == category)
        if wanted:
            stmt = stmt.where(col(ItemRow.item_id).in_(wanted))
        return [item_model(r) for r in s.exec(stmt.offset(offset).limit(limit))]

    result: list[Item] = await read(request, q)
    return result


@router.get("/items/{item_id}")
async def get_item(item_id: str, request: Request) -> Item:
    await gate(request, SYSTEM, "get_item")

    def q(s: Session) -> Item:
        row = get_or_404(s, ItemRow, item_id, "item")
        return item_model(row)

    result: Item = await read(request, q)
    return result


@router.get("/stores")
async def list_stores(
    request: Request,
    region: str | None = None,
    store_class: str | None = None,
    format: str | None = None,
    price_zone: str | None = None,
) -> list[Store]:
    await gate(request, SYSTEM, "list_stores")

    def q(s: Session) -> list[Store]:
        stmt = select(StoreRow).order_by(col(StoreRow.store_id))
        if region:
            stmt = stmt.where(StoreRow.region == region)
        if store_class:
            stmt = stmt.where(StoreRow.store_class == store_class)
        if format:
            stmt = stmt.where(StoreRow.format == format)
        if price_zone:
            stmt = stmt.where(StoreRow.price_zone == price_zone)
        return [Store.model_validate(r.model_dump()) for r in s.exec(stmt)]

    result: list[Store] = await read(request, q)
    return result


@router.get("/stores/{store_id}")
async def get_store(store_id: str, request: Request) -> Store:
    await gate(request, SYSTEM, "get_store")

    def q(s: Session) -> Store:
        row = get_or_404(s, StoreRow, store_id, "store")
        return Store.model_validate(row.model_dump())

    result: Store = await read(request, q)
    return result


@router.get("/dcs")
async def list_dcs(request: Request) -> list[DistributionCentre]:
    await gate(request, SYSTEM, "list_dcs")

    def q(s: Session) -> list[DistributionCentre]:
        rows = s.exec(select(DcRow).order_by(col(DcRow.dc_id)))
        return [DistributionCentre.model_validate(r.model_dump()) for r in rows]

    result: list[DistributionCentre] = await read(request, q)
    return result


@router.get("/vendors/{vendor_id}")
async def get_vendor(vendor_id: str, request: Request) -> Vendor:
    await gate(request, SYSTEM, "get_vendor")

    def q(s: Session) -> Vendor:
        row = get_or_404(s, VendorRow, vendor_id, "vendor")
        return Vendor.model_validate(row.model_dump())

    result: Vendor = await read(request, q)
    return result


@router.get("/deals")
async def list_deals(
    request: Request, item_id: str | None = None, vendor_id: str | None = None
) -> list[Deal]:
    await gate(request, SYSTEM, "list_deals")

    def q(s: Session) -> list[Deal]:
        stmt = select(DealRow).order_by(col(DealRow.deal_id))
        if vendor_id:
            stmt = stmt.where(DealRow.vendor_id == vendor_id)
        rows = [r for r in s.exec(stmt) if item_id is None or item_id in r.item_ids]
        return [deal_model(r) for r in rows]

    result: list[Deal] = await read(request, q)
    return result


@router.get("/deals/{deal_id}")
async def get_deal(deal_id: str, request: Request) -> Deal:
    await gate(request, SYSTEM, "get_deal")

    def q(s: Session) -> Deal:
        row = get_or_404(s, DealRow, deal_id, "deal")
        return deal_model(row)

    result: Deal = await read(request, q)
    return result


def cap_remaining(deal: DealRow) -> tuple[Decimal | None, int | None]:
    amount = (
        None if deal.cap_amount is None else max(deal.cap_amount - deal.claimed_amount, Decimal(0))
    )
    units = None if deal.cap_units is None else max(deal.cap_units - deal.claimed_units, 0)
    return amount, units


@router.post("/deals/{deal_id}/check")
async def check_deal(deal_id: str, body: DealCheckRequest, request: Request) -> DealCheck:
    """Is the deal valid for these items over this window; how much would it fund?"""
    await gate(request, SYSTEM, "check_deal")
    check_window(body.start, body.end)

    def q(s: Session) -> DealCheck:
        deal = s.get(DealRow, deal_id)
        if deal is None:
            raise not_found("deal", deal_id)
        known_items(s, body.item_ids, field="item_ids")
        reasons: list[str] = []
        if body.start < deal.valid_from or body.end > deal.valid_to:
            reasons.append(
                f"deal {deal_id} is valid from {deal.valid_from.date()} to "
                f"{deal.valid_to.date()}; the promotion runs {body.start.date()} to "
                f"{body.end.date()}"
            )
        outside = [i for i in body.item_ids if i not in deal.item_ids]
        if outside:
            reasons.append(f"items not covered by deal {deal_id}: {', '.join(outside)}")
        cap_amount, cap_units = cap_remaining(deal)
        units = body.units_forecast
        if cap_units is not None:
            units = min(units, cap_units)
        amount = deal.funding_per_unit * units
        if cap_amount is not None and amount > cap_amount:
            amount = cap_amount
        if cap_amount is not None and cap_amount <= 0:
            reasons.append(f"deal {deal_id} has no funding left under its cap")
        return DealCheck(
            deal_id=deal_id,
            valid=not reasons,
            reasons=reasons,
            deal_type=deal.deal_type,
            funding_per_unit=deal.funding_per_unit,
            fundable_units=units,
            fundable_amount=amount.quantize(Decimal("0.01")),
            cap_remaining_amount=cap_amount,
            cap_remaining_units=cap_units,
        )

    result: DealCheck = await read(request, q)
    return result


# -- promotion master ----------------------------------------------------------------------


@router.post("/promotions")
async def create_promotion(body: PromotionMasterRequest, request: Request) -> JSONResponse:
    await gate(request, SYSTEM, "create_promotion")
    check_window(body.start, body.end)
    no_duplicates([p.item_id for p in body.items], field="items")
    no_duplicates(body.store_ids, field="store_ids")

    def fn(ctx: Ctx) -> PromotionMaster:
        s = ctx.session
        known_items(s, [p.item_id for p in body.items], field="items")
        known_stores(s, body.store_ids, field="store_ids")
        if body.deal_id and s.get(DealRow, body.deal_id) is None:
            raise not_found("deal", body.deal_id, field="deal_id")
        row = s.exec(
            select(PromotionRow)
            .where(PromotionRow.promotion_id == body.promotion_id)
            .with_for_update()
        ).first()
        values: dict[str, Any] = {
            "name": body.name,
            "offer_type": body.offer_type,
            "items": [p.model_dump(mode="json") for p in body.items],
            "store_ids": list(body.store_ids),
            "start": body.start,
            "end": body.end,
            "deal_id": body.deal_id,
            "exclusive": body.exclusive,
            "priority": body.priority,
        }
        if row is None:
            row = PromotionRow(
                promotion_id=body.promotion_id,
                status="DRAFT",
                version=1,
                updated_at=ctx.now,
                **values,
            )
        else:
            if row.status == "ACTIVE":
                raise ApiError(
                    409,
                    "promotion_active",
                    f"promotion {body.promotion_id} is ACTIVE in ERP; deactivate it before "
                    "changing it",
                    field="promotion_id",
                )
            for name, value in values.items():
                setattr(row, name, value)
            row.version += 1
            row.status = "DRAFT"
            row.updated_at = ctx.now
        s.add(row)
        ctx.effect(
            SYSTEM, "create_promotion", f"promotion:{body.promotion_id}", version=row.version
        )
        return promotion_model(row)

    return await mutate(request, body, fn)


def _set_status(promotion_id: str, body: StatusChange, status: str, operation: str) -> Any:
    def fn(ctx: Ctx) -> PromotionMaster:
        s = ctx.session
        row = s.exec(
            select(PromotionRow).where(PromotionRow.promotion_id == promotion_id).with_for_update()
        ).first()
        if row is None:
            raise not_found("promotion", promotion_id)
        if row.status != status:
            row.status = status
            row.updated_at = ctx.now
            s.add(row)
            ctx.effect(SYSTEM, operation, f"promotion:{promotion_id}", reason=body.reason)
        return promotion_model(row)

    return fn


@router.post("/promotions/{promotion_id}/activate")
async def activate_promotion(
    promotion_id: str, body: StatusChange, request: Request
) -> JSONResponse:
    await gate(request, SYSTEM, "activate_promotion")
    return await mutate(
        request, body, _set_status(promotion_id, body, "ACTIVE", "activate_promotion")
    )


@router.post("/promotions/{promotion_id}/deactivate")
async def deactivate_promotion(
    promotion_id: str, body: StatusChange, request: Request
) -> JSONResponse:
    await gate(request, SYSTEM, "deactivate_promotion")
    return await mutate(
        request, body, _set_status(promotion_id, body, "INACTIVE", "deactivate_promotion")
    )


PROMOTION_STATUSES = ("DRAFT", "ACTIVE", "INACTIVE")


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise bad_input(field, "needs a time zone (for example 2026-12-04T13:00:00Z)")
    return value


@router.get("/promotions")
async def list_promotions(
    request: Request,
    item_id: str | None = Query(
        default=None, description="comma-separated item ids: promotions on any of them"
    ),
    store_id: str | None = Query(
        default=None, description="comma-separated store ids: promotions in any of them"
    ),
    active_from: datetime | None = Query(
        default=None, alias="from", description="promotions still running at or after this"
    ),
    active_until: datetime | None = Query(
        default=None, alias="until", description="promotions starting before this"
    ),
    status: str | None = Query(
        default=None, description="comma-separated states: DRAFT, ACTIVE, INACTIVE"
    ),
) -> list[PromotionMaster]:
    """The promotion master: items (with prices), stores, window and state, filtered.

    A promotion matches the window when it overlaps ``[from, until)``: it ends after
    ``from`` and starts before ``until`` (either bound may be left out).
    """
    await gate(request, SYSTEM, "list_promotions")
    items = split_ids(item_id)
    stores = split_ids(store_id)
    statuses = split_ids(status)
    _aware(active_from, "from")
    _aware(active_until, "until")
    if active_from is not None and active_until is not None:
        check_window(active_from, active_until, field="until")
    for index, value in enumerate(statuses or []):
        if value not in PROMOTION_STATUSES:
            raise bad_input(
                f"status[{index}]",
                f"unknown promotion state {value!r}; use {', '.join(PROMOTION_STATUSES)}",
            )

    def matches(row: PromotionRow) -> bool:
        if items and not {line["item_id"] for line in row.items}.intersection(items):
            return False
        if stores and not set(row.store_ids).intersection(stores):
            return False
        if active_from is not None and row.end <= active_from:
            return False
        return active_until is None or row.start < active_until

    def q(s: Session) -> list[PromotionMaster]:
        stmt = select(PromotionRow).order_by(col(PromotionRow.promotion_id))
        if statuses:
            stmt = stmt.where(col(PromotionRow.status).in_(statuses))
        return [promotion_model(r) for r in s.exec(stmt) if matches(r)]

    result: list[PromotionMaster] = await read(request, q)
    return result


@router.get("/promotions/{promotion_id}")
async def get_promotion(promotion_id: str, request: Request) -> PromotionMaster:
    await gate(request, SYSTEM, "get_promotion")

    def q(s: Session) -> PromotionMaster:
        row = get_or_404(s, PromotionRow, promotion_id, "promotion")
        return promotion_model(row)

    result: PromotionMaster = await read(request, q)
    return result


# -- postings ------------------------------------------------------------------------------


@router.post("/postings")
async def post(body: PostingRequest, request: Request) -> JSONResponse:
    await gate(request, SYSTEM, "post")
    if body.kind == "vendor_return_claim" and not body.vendor_id and not body.item_id:
        raise bad_input("vendor_id", "a vendor return claim needs vendor_id or item_id")

    def fn(ctx: Ctx) -> Posting:
        s = ctx.session
        vendor_id = body.vendor_id
        if body.item_id:
            item = s.get(ItemRow, body.item_id)
            if item is None:
                raise not_found("item", body.item_id, field="item_id")
            vendor_id = vendor_id or item.vendor_id
        if vendor_id and s.get(VendorRow, vendor_id) is None:
            raise not_found("vendor", vendor_id, field="vendor_id")
        if body.customer_id and s.get(CustomerRow, body.customer_id) is None:
            raise not_found("customer", body.customer_id, field="customer_id")
        row = PostingRow(
            posting_id=new_id("PST"),
            kind=body.kind,
            reference=body.reference,
            amount=body.amount,
            customer_id=body.customer_id,
            vendor_id=vendor_id,
            item_id=body.item_id,
            quantity=body.quantity,
            reason=body.reason,
            created_at=ctx.now,
        )
        s.add(row)
        ctx.effect(
            SYSTEM,
            f"post.{body.kind}",
            f"{body.kind}:{body.reference}",
            amount=body.amount,
            quantity=body.quantity,
            posting_id=row.posting_id,
        )
        return Posting.model_validate(row.model_dump())

    return await mutate(request, body, fn)


@router.get("/postings")
async def list_postings(request: Request, reference: str) -> list[Posting]:
    await gate(request, SYSTEM, "list_postings")

    def q(s: Session) -> list[Posting]:
        rows = s.exec(select(PostingRow).where(PostingRow.reference == reference))
        return [Posting.model_validate(r.model_dump()) for r in rows]

    result: list[Posting] = await read(request, q)
    return result


@router.post("/transfer-claims")
async def claim_transfer(body: TransferClaimRequest, request: Request) -> JSONResponse:
    await gate(request, SYSTEM, "claim_transfer")

    def fn(ctx: Ctx) -> TransferClaim:
        s = ctx.session
        if s.get(TransferRow, body.transfer_id) is None:
            raise not_found("transfer", body.transfer_id, field="transfer_id")
        known_items(s, [line.item_id for line in body.lines], field="lines")
        row = TransferClaimRow(
            claim_id=new_id("TCL"),
            transfer_id=body.transfer_id,
            kind=body.kind,
            lines=[line.model_dump() for line in body.lines],
            amount=body.amount,
            reason=body.reason,
            created_at=ctx.now,
        )
        s.add(row)
        ctx.effect(
            SYSTEM,
            "claim_transfer",
            f"transfer_claim:{body.transfer_id}:{body.kind}",
            amount=body.amount,
            quantity=sum(line.quantity for line in body.lines),
            claim_id=row.claim_id,
        )
        return TransferClaim.model_validate(row.model_dump())

    return await mutate(request, body, fn)


@router.get("/transfer-claims")
async def list_transfer_claims(request: Request, transfer_id: str) -> list[TransferClaim]:
    await gate(request, SYSTEM, "list_transfer_claims")

    def q(s: Session) -> list[TransferClaim]:
        rows = s.exec(select(TransferClaimRow).where(TransferClaimRow.transfer_id == transfer_id))
        return [TransferClaim.model_validate(r.model_dump()) for r in rows]

    result: list[TransferClaim] = await read(request, q)
    return result
