"""Dispositions: where an inspected item goes, and the follow-up each one sets in motion."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel

from domain.money import ZERO, cents
from domain.returns.policy import DEFAULT_POLICY, ReturnPolicy
from domain.returns.refund import QuotedLine
from domain.returns.request import Money

RETURNS_DC = "DC-RETURNS"
"""Where a returned item is booked when neither the receipt nor the return names a place."""


class Condition(StrEnum):
    UNOPENED = "unopened"
    LIKE_NEW = "like_new"
    OPENED = "opened"
    DAMAGED = "damaged"
    DEFECTIVE = "defective"
    UNSAFE = "unsafe"


class Disposition(StrEnum):
    RESTOCK = "RESTOCK"
    REFURBISH = "REFURBISH"
    RETURN_TO_VENDOR = "RETURN_TO_VENDOR"
    LIQUIDATE = "LIQUIDATE"
    DESTROY = "DESTROY"


class FollowUpKind(StrEnum):
    WMS_RESTOCK = "WMS_RESTOCK"
    ERP_VENDOR_CLAIM = "ERP_VENDOR_CLAIM"
    ERP_WRITE_OFF = "ERP_WRITE_OFF"


class FollowUp(BaseModel):
    kind: FollowUpKind
    sku: str
    quantity: int
    location: str | None = None
    vendor_id: str | None = None
    amount: Money = ZERO
    reason: str = ""


def decide_disposition(
    condition: Condition,
    *,
    category: str,
    vendor_returnable: bool,
    policy: ReturnPolicy = DEFAULT_POLICY,
) -> Disposition:
    """Where an inspected item goes, from its condition."""
    if condition in (Condition.UNOPENED, Condition.LIKE_NEW):
        return Disposition.RESTOCK
    if condition is Condition.OPENED:
        if category in policy.refurbishable_categories:
            return Disposition.REFURBISH
        return Disposition.LIQUIDATE
    if condition is Condition.DEFECTIVE:
        return Disposition.RETURN_TO_VENDOR if vendor_returnable else Disposition.DESTROY
    if condition is Condition.DAMAGED:
        return Disposition.LIQUIDATE
    return Disposition.DESTROY


def follow_ups(
    disposition: Disposition, lines: list[QuotedLine], policy: ReturnPolicy = DEFAULT_POLICY
) -> list[FollowUp]:
    """What each disposition sets in motion, one entry per line."""
    return [_follow_up(disposition, line, policy) for line in lines]


def _follow_up(disposition: Disposition, line: QuotedLine, policy: ReturnPolicy) -> FollowUp:
    value = cents(
        (line.unit_cost if line.unit_cost is not None else line.unit_price) * line.quantity
    )
    if disposition is Disposition.RESTOCK:
        return _restock(line, "SELLABLE", "returned in sellable condition")
    if disposition is Disposition.REFURBISH:
        return _restock(line, "REFURBISH", "opened: to refurbishment")
    if disposition is Disposition.RETURN_TO_VENDOR:
        return FollowUp(
            kind=FollowUpKind.ERP_VENDOR_CLAIM,
            sku=line.sku,
            quantity=line.quantity,
            vendor_id=line.vendor_id,
            amount=value,
            reason="defective: vendor return claim",
        )
    if disposition is Disposition.LIQUIDATE:
        loss = cents(value * (1 - policy.liquidation_recovery_rate))
        return _write_off(line, loss, "liquidated: written down to recovery value")
    return _write_off(line, value, "destroyed: written off in full")


def _restock(line: QuotedLine, location: str, reason: str) -> FollowUp:
    return FollowUp(
        kind=FollowUpKind.WMS_RESTOCK,
        sku=line.sku,
        quantity=line.quantity,
        location=location,
        reason=reason,
    )


def _write_off(line: QuotedLine, amount: Decimal, reason: str) -> FollowUp:
    return FollowUp(
        kind=FollowUpKind.ERP_WRITE_OFF,
        sku=line.sku,
        quantity=line.quantity,
        amount=amount,
        reason=reason,
    )


def plan_dispositions(
    condition: Condition,
    override: Disposition | None,
    lines: list[QuotedLine],
    policy: ReturnPolicy = DEFAULT_POLICY,
) -> tuple[dict[str, Disposition], list[FollowUp]]:
    """Each line's disposition (the inspector's override, else the rule) and the follow-ups
    they set in motion, in line order."""
    dispositions: dict[str, Disposition] = {}
    planned: list[FollowUp] = []
    for line in lines:
        disposition = override or decide_disposition(
            condition,
            category=line.category,
            vendor_returnable=line.vendor_returnable,
            policy=policy,
        )
        dispositions[line.sku] = disposition
        planned.extend(follow_ups(disposition, [line], policy))
    return dispositions, planned


def receiving_location(received_location: str, store_id: str | None) -> str:
    """Where the follow-ups book the item: where it was received, else the return's store,
    else the returns DC."""
    return received_location or store_id or RETURNS_DC
