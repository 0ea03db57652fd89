"""Fraud scoring wire schemas (``/fraud``): a score 0-100, a tier and the reasons.

Tiers: ``low`` < 40 <= ``medium`` < 70 <= ``high``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from wire.common import Identifier, Model, Money, ResultModel

FraudTier = Literal["low", "medium", "high"]


class FraudRequest(Model):
    rma_id: Identifier
    customer_id: Identifier
    value: Money
    has_receipt: bool
    days_since_purchase: int = Field(ge=0)
    reason_code: str = Field(default="other", min_length=1)
    item_count: int = Field(default=1, ge=1)


class FraudScore(ResultModel):
    rma_id: str
    score: int
    tier: FraudTier
    reasons: list[str]
    model_version: str


__all__ = [
    "FraudRequest",
    "FraudScore",
    "FraudTier",
]
