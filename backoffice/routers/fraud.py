"""Fraud scoring: deterministic from the return's features, with the reasons."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Request
from sqlmodel import Session, select

from backoffice.core import gate, read
from backoffice.db import CustomerRow, RefundRow
from backoffice.errors import not_found
from wire.fraud import FraudRequest, FraudScore

SYSTEM = "fraud"
MODEL_VERSION = "rules-2026.1"
router = APIRouter(prefix="/fraud", tags=["fraud"])


def score_return(body: FraudRequest, prior_returns: int, prior_value: Decimal) -> FraudScore:
    """Pure: the same features give the same score (tiers at 40 and 70)."""
    score = 5
    reasons: list[str] = []
    if body.value >= Decimal("500"):
        score += 30
        reasons.append(f"high value return ({body.value})")
    elif body.value >= Decimal("150"):
        score += 15
        reasons.append(f"medium value return ({body.value})")
    if not body.has_receipt:
        score += 25
        reasons.append("no receipt")
    if prior_returns >= 6:
        score += 30
        reasons.append(f"{prior_returns} returns in the last 12 months")
    elif prior_returns >= 3:
        score += 15
        reasons.append(f"{prior_returns} returns in the last 12 months")
    if prior_value >= Decimal("1000"):
        score += 10
        reasons.append(f"{prior_value} returned in the last 12 months")
    if body.days_since_purchase > 60:
        score += 10
        reasons.append(f"bought {body.days_since_purchase} days ago")
    elif body.days_since_purchase <= 1:
        score += 5
        reasons.append("returned within a day of purchase")
    if body.reason_code in ("other", "unwanted") and body.item_count >= 3:
        score += 10
        reasons.append(f"{body.item_count} items returned as {body.reason_code}")
    score = min(score, 100)
    tier = "high" if score >= 70 else "medium" if score >= 40 else "low"
    if not reasons:
        reasons.append("nothing unusual")
    return FraudScore(
        rma_id=body.rma_id, score=score, tier=tier, reasons=reasons, model_version=MODEL_VERSION
    )


@router.post("/score")
async def score(body: FraudRequest, request: Request) -> FraudScore:
    await gate(request, SYSTEM, "score")

    def q(s: Session) -> FraudScore:
        customer = s.get(CustomerRow, body.customer_id)
        if customer is None:
            raise not_found("customer", body.customer_id, field="customer_id")
        others = s.exec(
            select(RefundRow).where(
                RefundRow.customer_id == body.customer_id, RefundRow.rma_id != body.rma_id
            )
        ).all()
        rmas = {r.rma_id for r in others}
        prior = customer.prior_returns + len(rmas)
        value = customer.prior_returned_value + sum((r.amount for r in others), Decimal("0"))
        return score_return(body, prior, value)

    result: FraudScore = await read(request, q)
    return result
