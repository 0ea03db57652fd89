"""Fraud scoring for returns: a score 0-100, a tier, and the reasons behind it.

The score is deterministic from the return's features (value, the customer's return
history in the POS, receipt or not, days since purchase, reason code): the same return
always gets the same score. Tiers: ``low`` < 40 <= ``medium`` < 70 <= ``high``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from adapters.base import BaseAdapter
from adapters.models import Identifier, Model, Money, ResultModel

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


class FraudClient(BaseAdapter):
    """Typed client of fraud scoring (``/fraud``). Scoring is read-only: no key needed."""

    system = "fraud"
    prefix = "/fraud"

    async def score(self, request: FraudRequest) -> FraudScore:
        return await self._call(
            "POST", "/score", operation="score", result=FraudScore, json=request
        )


__all__ = ["FraudClient", "FraudRequest", "FraudScore", "FraudTier"]
