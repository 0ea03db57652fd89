"""ERP funding: accruals at launch, claims on actual units, settlement at the end and
reversal in a rollback; the funding summary a promotion reconciles against."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session, select

from backoffice.core import Ctx, gate, mutate, new_id, read
from backoffice.db import (
    AccrualRow,
    ClaimRow,
    DealRow,
)
from backoffice.errors import not_found
from backoffice.routers.erp import cap_remaining
from wire.erp import (
    Accrual,
    AccrualRequest,
    AccrualSettlement,
    Claim,
    ClaimRequest,
    FundingSummary,
    StatusChange,
)

SYSTEM = "erp"
router = APIRouter(prefix="/erp", tags=["erp"])


def accrual_model(row: AccrualRow) -> Accrual:
    return Accrual.model_validate(row.model_dump())


def claim_model(row: ClaimRow, accrued: Decimal) -> Claim:
    return Claim.model_validate({**row.model_dump(), "accrued_amount": accrued})


# -- funding -------------------------------------------------------------------------------


def _lock_deal(s: Session, deal_id: str, *, field: str = "deal_id") -> DealRow:
    deal = s.exec(select(DealRow).where(DealRow.deal_id == deal_id).with_for_update()).first()
    if deal is None:
        raise not_found("deal", deal_id, field=field)
    return deal


@router.post("/accruals")
async def accrue(body: AccrualRequest, request: Request) -> JSONResponse:
    await gate(request, SYSTEM, "accrue")

    def fn(ctx: Ctx) -> Accrual:
        s = ctx.session
        deal = _lock_deal(s, body.deal_id)
        row = AccrualRow(
            accrual_id=new_id("ACR"),
            promotion_id=body.promotion_id,
            deal_id=body.deal_id,
            units=body.units,
            amount=body.amount,
            status="ACCRUED",
            created_at=ctx.now,
        )
        deal.accrued_amount += body.amount
        s.add(deal)
        s.add(row)
        ctx.effect(
            SYSTEM,
            "accrue",
            f"accrual:{body.promotion_id}:{body.deal_id}",
            amount=body.amount,
            quantity=body.units,
            accrual_id=row.accrual_id,
        )
        return accrual_model(row)

    return await mutate(request, body, fn)


def _lock_accrual(s: Session, accrual_id: str) -> AccrualRow:
    row = s.exec(
        select(AccrualRow).where(AccrualRow.accrual_id == accrual_id).with_for_update()
    ).first()
    if row is None:
        raise not_found("accrual", accrual_id)
    return row


@router.post("/accruals/{accrual_id}/reverse")
async def reverse_accrual(accrual_id: str, body: StatusChange, request: Request) -> JSONResponse:
    await gate(request, SYSTEM, "reverse_accrual")

    def fn(ctx: Ctx) -> Accrual:
        s = ctx.session
        row = _lock_accrual(s, accrual_id)
        if row.status == "ACCRUED":
            deal = _lock_deal(s, row.deal_id)
            deal.accrued_amount -= row.amount
            row.status = "REVERSED"
            s.add(deal)
            s.add(row)
            ctx.effect(
                SYSTEM,
                "reverse_accrual",
                f"accrual:{row.promotion_id}:{row.deal_id}",
                amount=row.amount,
                accrual_id=accrual_id,
                reason=body.reason,
            )
        return accrual_model(row)

    return await mutate(request, body, fn)


@router.post("/accruals/{accrual_id}/settle")
async def settle_accrual(accrual_id: str, body: StatusChange, request: Request) -> JSONResponse:
    """Close an accrual against the promotion's claims: what was claimed is consumed, the
    rest is released. Settling twice answers the same; a reversed accrual stays reversed."""
    await gate(request, SYSTEM, "settle_accrual")

    def fn(ctx: Ctx) -> AccrualSettlement:
        s = ctx.session
        row = _lock_accrual(s, accrual_id)
        claims = s.exec(
            select(ClaimRow).where(
                ClaimRow.promotion_id == row.promotion_id, ClaimRow.deal_id == row.deal_id
            )
        )
        claimed = min(sum((c.amount for c in claims), Decimal("0")), row.amount)
        released = row.amount - claimed
        if row.status == "ACCRUED":
            deal = _lock_deal(s, row.deal_id)
            deal.accrued_amount -= row.amount
            row.status = "SETTLED"
            s.add(deal)
            s.add(row)
            ctx.effect(
                SYSTEM,
                "settle_accrual",
                f"accrual:{row.promotion_id}:{row.deal_id}",
                amount=released,
                accrual_id=accrual_id,
                claimed=str(claimed),
                reason=body.reason,
            )
        return AccrualSettlement(
            accrual_id=accrual_id,
            promotion_id=row.promotion_id,
            deal_id=row.deal_id,
            accrued=row.amount,
            claimed=claimed if row.status == "SETTLED" else Decimal("0"),
            released=released if row.status == "SETTLED" else row.amount,
            status="REVERSED" if row.status == "REVERSED" else "SETTLED",
        )

    return await mutate(request, body, fn)


def _accrued(s: Session, promotion_id: str, deal_id: str | None = None) -> Decimal:
    stmt = select(AccrualRow).where(
        AccrualRow.promotion_id == promotion_id, AccrualRow.status == "ACCRUED"
    )
    if deal_id:
        stmt = stmt.where(AccrualRow.deal_id == deal_id)
    return sum((r.amount for r in s.exec(stmt)), Decimal("0"))


@router.post("/claims")
async def claim(body: ClaimRequest, request: Request) -> JSONResponse:
    """Claim funding on actual units; capped by what is left under the deal's cap."""
    await gate(request, SYSTEM, "claim")

    def fn(ctx: Ctx) -> Claim:
        s = ctx.session
        deal = _lock_deal(s, body.deal_id)
        cap_amount, cap_units = cap_remaining(deal)
        units = body.units if cap_units is None else min(body.units, cap_units)
        amount = (deal.funding_per_unit * units).quantize(Decimal("0.01"))
        if cap_amount is not None and amount > cap_amount:
            amount = cap_amount
        capped = units < body.units or amount < deal.funding_per_unit * body.units
        row = ClaimRow(
            claim_id=new_id("CLM"),
            promotion_id=body.promotion_id,
            deal_id=body.deal_id,
            units=units,
            amount=amount,
            capped=capped,
            created_at=ctx.now,
        )
        deal.claimed_amount += amount
        deal.claimed_units += units
        s.add(deal)
        s.add(row)
        ctx.effect(
            SYSTEM,
            "claim",
            f"claim:{body.promotion_id}:{body.deal_id}",
            amount=amount,
            quantity=units,
            claim_id=row.claim_id,
            capped=capped,
        )
        return claim_model(row, _accrued(s, body.promotion_id, body.deal_id))

    return await mutate(request, body, fn)


@router.get("/promotions/{promotion_id}/funding")
async def funding(promotion_id: str, request: Request) -> FundingSummary:
    await gate(request, SYSTEM, "funding")

    def q(s: Session) -> FundingSummary:
        accruals = list(s.exec(select(AccrualRow).where(AccrualRow.promotion_id == promotion_id)))
        claims = list(s.exec(select(ClaimRow).where(ClaimRow.promotion_id == promotion_id)))
        accrued = sum((a.amount for a in accruals if a.status == "ACCRUED"), Decimal("0"))
        reversed_ = sum((a.amount for a in accruals if a.status == "REVERSED"), Decimal("0"))
        settled = sum((a.amount for a in accruals if a.status == "SETTLED"), Decimal("0"))
        return FundingSummary(
            promotion_id=promotion_id,
            accrued_amount=accrued,
            reversed_amount=reversed_,
            settled_amount=settled,
            claimed_amount=sum((c.amount for c in claims), Decimal("0")),
            accruals=[accrual_model(a) for a in accruals],
            claims=[claim_model(c, accrued) for c in claims],
        )

    result: FundingSummary = await read(request, q)
    return result
