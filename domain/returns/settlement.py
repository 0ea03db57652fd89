"""After the refund saga: the refund mismatch, the outcome, and the receipt-to-refund SLA."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel

from domain.money import cents
from domain.returns.status import ReturnState


def refund_mismatch(expected: Decimal, refunded: Decimal) -> Decimal:
    """Expected minus refunded, to the cent (0 when they match)."""
    return cents(expected) - cents(refunded)


class Settlement(BaseModel):
    """How the refund ended: the outcome, the mismatch and, when they differ, why in words."""

    outcome: ReturnState
    mismatch: Decimal
    problem: str | None = None


def settle(expected: Decimal, refunded: Decimal) -> Settlement:
    """REFUNDED when the tenders took back what was expected, else PARTIALLY_REFUNDED with
    the refund mismatch a person must look at."""
    mismatch = refund_mismatch(expected, refunded)
    if mismatch == 0:
        return Settlement(outcome=ReturnState.REFUNDED, mismatch=mismatch)
    return Settlement(
        outcome=ReturnState.PARTIALLY_REFUNDED,
        mismatch=mismatch,
        problem=f"refund mismatch: expected {expected}, refunded {refunded} (difference {mismatch})",
    )


def refund_sla(
    received_at: datetime | None, due_at: datetime | None, refunded_at: datetime
) -> tuple[float | None, bool | None]:
    """Seconds from receipt to refund, and whether the refund came by its due time."""
    seconds = None if received_at is None else (refunded_at - received_at).total_seconds()
    met = None if due_at is None else refunded_at <= due_at
    return seconds, met
