"""Fraud tiers: the score and its reasons set the tier; the policy says who decides it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.returns.policy import DEFAULT_POLICY, FraudTier, ReturnPolicy, Role


class FraudAssessment(BaseModel):
    score: int = Field(ge=0, le=100)
    reasons: list[str] = []
    tier: FraudTier
    required_role: Role | None
    escalation_role: Role | None
    holds_refund: bool


def fraud_tier(score: int, reasons: list[str], policy: ReturnPolicy = DEFAULT_POLICY) -> FraudTier:
    """Tier from the score, raised by reasons the policy names (never lowered)."""
    codes = {r.upper() for r in reasons}
    if score >= policy.fraud_high_score or codes & policy.fraud_high_reasons:
        return FraudTier.HIGH
    if score >= policy.fraud_medium_score or codes & policy.fraud_medium_reasons:
        return FraudTier.MEDIUM
    return FraudTier.LOW


def assess_fraud(
    score: int, reasons: list[str], policy: ReturnPolicy = DEFAULT_POLICY
) -> FraudAssessment:
    """By the default policy: low refunds automatically; medium needs a store supervisor
    (escalating to loss prevention past its SLA); high needs loss prevention and holds the
    refund."""
    tier = fraud_tier(score, reasons, policy)
    return FraudAssessment(
        score=score,
        reasons=list(reasons),
        tier=tier,
        required_role=policy.tier_roles.get(tier),
        escalation_role=policy.tier_escalations.get(tier),
        holds_refund=tier in policy.holding_tiers,
    )
