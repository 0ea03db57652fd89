"""Following transfer orders: one per move, released in batches, aged, checked, cancelled.

The decisions the workflow takes about its transfers, as pure functions: which to cancel,
when one is due for a check with the WMS, what a read-back means, what a claim says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from domain.rebalance.contract import (
    ClaimInput,
    EventLine,
    TransferOrder,
    TransferReadBack,
    WmsEvent,
)
from domain.rebalance.plan import RebalancePlan
from domain.rebalance.status import NOT_SHIPPED, Transfer, TransferState, Variance

CLAIM_KINDS: dict[str, Literal["short", "over", "lost"]] = {
    "SHORT": "short",
    "OVER": "over",
    "LOST": "lost",
}


def transfers_for(plan: RebalancePlan) -> list[Transfer]:
    """One transfer order per move, with a stable id (the idempotency key in WMS)."""
    return [
        Transfer(
            transfer_id=f"{plan.plan_id}-T{index:04d}",
            source_id=move.source_id,
            dest_id=move.dest_id,
            item_id=move.item_id,
            units_planned=move.units,
            arrives_by=move.arrives_by,
        )
        for index, move in enumerate(plan.moves, start=1)
    ]


def order_for(transfer: Transfer) -> TransferOrder:
    """What the WMS is asked to move for a transfer."""
    return TransferOrder(
        transfer_id=transfer.transfer_id,
        source_id=transfer.source_id,
        dest_id=transfer.dest_id,
        item_id=transfer.item_id,
        units=transfer.units_planned,
    )


def claim_for(plan_id: str, variance: Variance, transfer: Transfer) -> ClaimInput:
    """The ERP claim a variance becomes."""
    return ClaimInput(
        plan_id=plan_id,
        transfer_id=variance.transfer_id,
        kind=CLAIM_KINDS[variance.kind],
        item_id=transfer.item_id,
        units=variance.units,
        reason=variance.detail,
    )


# --------------------------------------------------------------------------- cancellation


@dataclass(frozen=True)
class CancelSplit:
    """A cancel's view of the transfers: what to stop, what already moves, what is done."""

    to_cancel: list[str]
    moving: list[str]
    finished: list[str]


def split_for_cancel(transfers: list[Transfer]) -> CancelSplit:
    return CancelSplit(
        to_cancel=[t.transfer_id for t in transfers if t.state in NOT_SHIPPED],
        moving=[t.transfer_id for t in transfers if t.state == TransferState.SHIPPED],
        finished=[t.transfer_id for t in transfers if t.terminal],
    )


def in_wms_unshipped(transfers: list[Transfer], *, releasing: bool) -> list[str]:
    """Transfers the WMS may hold and has not shipped: to cancel there when the workflow is.

    While releasing, any unshipped transfer may already have been created in the WMS."""
    return [
        t.transfer_id
        for t in transfers
        if t.state in (TransferState.RELEASED, TransferState.PICKED)
        or (releasing and t.state in NOT_SHIPPED)
    ]


def cancel_unreleased(transfers: list[Transfer]) -> None:
    """Transfers never sent to the WMS are cancelled here alone (in place)."""
    for transfer in transfers:
        if transfer.state in (TransferState.PLANNED, TransferState.APPROVED):
            transfer.state = TransferState.CANCELLED


def cancel_all(transfers: list[Transfer]) -> None:
    for transfer in transfers:
        transfer.state = TransferState.CANCELLED


# --------------------------------------------------------------------------- aging


def check_due_at(transfer: Transfer, need_by: datetime, in_transit_max: timedelta) -> datetime:
    """When an open transfer is checked with the WMS: `in_transit_max` after it shipped, or
    after the need-by time when it never shipped."""
    start = transfer.shipped_at if transfer.shipped_at is not None else need_by
    return start + in_transit_max


def next_deadline(
    open_transfers: list[Transfer],
    *,
    need_by: datetime,
    in_transit_max: timedelta,
    escalated: bool,
) -> datetime:
    """The next moment the plan must act without an event: escalation, or a check."""
    deadlines = [] if escalated else [need_by]
    deadlines += [check_due_at(t, need_by, in_transit_max) for t in open_transfers]
    return min(deadlines)


class ReadBack(StrEnum):
    """What a WMS read-back of an overdue transfer means."""

    RECEIVED = "RECEIVED"
    """received after all (the events never reached us): fold shipment and receipt"""
    SHIPPED = "SHIPPED"
    """shipped, but the shipment event never reached us: fold it and age from now"""
    LOST = "LOST"
    """shipped, in transit too long and not received: LOST, with a claim"""
    CANCELLED = "CANCELLED"
    """cancelled in the WMS already"""
    NEVER_SHIPPED = "NEVER_SHIPPED"
    """not shipped by the deadline: cancel it in the WMS"""


def judge_read_back(back: TransferReadBack, *, shipped: bool) -> ReadBack:
    """What the WMS's answer means; `shipped`: whether we knew it shipped before we asked."""
    if back.wms_status == "RECEIVED":
        return ReadBack.RECEIVED
    if not shipped and back.wms_status == "SHIPPED":
        return ReadBack.SHIPPED
    if shipped:
        return ReadBack.LOST
    if back.wms_status == "CANCELLED":
        return ReadBack.CANCELLED
    return ReadBack.NEVER_SHIPPED


def read_back_events(
    transfer: Transfer, back: TransferReadBack, verdict: ReadBack
) -> list[WmsEvent]:
    """The events a read-back stands for (fold them like the WMS's own)."""

    def event(step: Literal["shipped", "received"], quantity: int) -> WmsEvent:
        return WmsEvent(
            event_id=f"readback-{transfer.transfer_id}-{step}",
            transfer_id=transfer.transfer_id,
            step=step,
            lines=[EventLine(item_id=transfer.item_id, quantity=quantity)],
        )

    if verdict == ReadBack.RECEIVED:
        return [event("shipped", back.shipped), event("received", back.received)]
    if verdict == ReadBack.SHIPPED:
        return [event("shipped", back.shipped)]
    return []


def declare_lost(transfer: Transfer, back: TransferReadBack, in_transit_max: timedelta) -> Variance:
    """Mark a transfer LOST (in place); the variance to claim."""
    units = back.shipped or transfer.units_shipped or transfer.units_planned
    transfer.state = TransferState.LOST
    return Variance(
        transfer_id=transfer.transfer_id,
        kind="LOST",
        units=units,
        detail=f"in transit longer than {in_transit_max}; WMS has no receipt",
    )
