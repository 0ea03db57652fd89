"""Fraud scoring for returns: a score 0-100, a tier, and the reasons behind it.

The score is deterministic from the return's features (value, the customer's return
history in the POS, receipt or not, days since purchase, reason code): the same return
always gets the same score. Tiers: ``low`` < 40 <= ``medium`` < 70 <= ``high``.
"""

from __future__ import annotations

from adapters.base import BaseAdapter
from wire.fraud import FraudRequest, FraudScore


class FraudClient(BaseAdapter):
    """Typed client of fraud scoring (``/fraud``). Scoring is read-only: no key needed."""

    system = "fraud"
    prefix = "/fraud"

    async def score(self, request: FraudRequest) -> FraudScore:
        return await self._call(
            "POST", "/score", operation="score", result=FraudScore, json=request
        )


__all__ = ["FraudClient"]
