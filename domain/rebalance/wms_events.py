"""Folding WMS events (picked, shipped, received) into a transfer; receipts settle variances.

Order-independent per kind, and a transfer never moves back: the WMS may deliver an event
twice, late or before the one it follows.
"""

from __future__ import annotations

from datetime import datetime

from domain.rebalance.contract import WmsEvent
from domain.rebalance.status import PROGRESS_ORDER, Transfer, TransferState, Variance

CLOSED_TO_EVENTS = frozenset({TransferState.CANCELLED, TransferState.LOST, TransferState.CLOSED})


def advance(transfer: Transfer, state: TransferState) -> None:
    """Move a transfer forward to `state` (in place); never back, never out of an outcome."""
    if transfer.state in PROGRESS_ORDER and PROGRESS_ORDER.index(
        transfer.state
    ) < PROGRESS_ORDER.index(state):
        transfer.state = state


def apply_wms_event(
    transfer: Transfer, event: WmsEvent, now: datetime, *, tolerance: int = 0
) -> Variance | None:
    """Fold one event into a transfer (in place). Order-independent per kind; never regresses.

    A receipt decides the outcome: equal to what shipped (within `tolerance`) is RECEIVED,
    less is PARTIALLY_RECEIVED with a SHORT variance, more is RECEIVED with an OVER variance.
    A receipt before its shipment event counts the shipment as the planned quantity until
    the shipment event arrives.
    """
    if transfer.state in CLOSED_TO_EVENTS:
        if event.step == "received" and transfer.state == TransferState.LOST:
            transfer.note = f"received {event.quantity} after being declared lost"
        return None
    if event.step == "picked":
        transfer.units_picked = event.quantity
        advance(transfer, TransferState.PICKED)
        return None
    if event.step == "shipped":
        transfer.units_shipped = event.quantity
        if transfer.shipped_at is None:
            transfer.shipped_at = now
        advance(transfer, TransferState.SHIPPED)
        return None
    return apply_receipt(transfer, event.quantity, now, tolerance=tolerance)


def apply_receipt(
    transfer: Transfer, quantity: int, now: datetime, *, tolerance: int
) -> Variance | None:
    """The first receipt counts; a later one is a duplicate."""
    if transfer.units_received is not None:
        return None
    transfer.units_received = quantity
    transfer.received_at = now
    if transfer.shipped_at is None:
        transfer.shipped_at = now
    return settle_receipt(transfer, tolerance=tolerance)


def settle_receipt(transfer: Transfer, *, tolerance: int) -> Variance | None:
    """RECEIVED or PARTIALLY_RECEIVED from what arrived against what shipped; the variance."""
    received = transfer.units_received or 0
    expected = (
        transfer.units_shipped if transfer.units_shipped is not None else transfer.units_planned
    )
    diff = received - expected
    if abs(diff) <= tolerance:
        transfer.state = TransferState.RECEIVED
        return None
    if diff < 0:
        transfer.state = TransferState.PARTIALLY_RECEIVED
        return Variance(
            transfer_id=transfer.transfer_id,
            kind="SHORT",
            units=-diff,
            detail=f"received {received} of {expected} shipped",
        )
    transfer.state = TransferState.RECEIVED
    return Variance(
        transfer_id=transfer.transfer_id,
        kind="OVER",
        units=diff,
        detail=f"received {received}, {diff} more than the {expected} shipped",
    )
