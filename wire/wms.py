"""WMS wire schemas: stock positions, transfer orders and their progress, restock of returns
(``/wms``).

Transfer lifecycle: ``CREATED`` -> ``RELEASED`` -> ``PICKED`` -> ``SHIPPED`` -> ``RECEIVED``;
``CANCELLED`` until it ships. Progress comes as :class:`wire.events.WmsEvent` signals to the
request's ``callback``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from wire.common import Callback, Identifier, Model, PositiveQuantity, QuantityLine, ResultModel

TransferStatus = Literal["CREATED", "RELEASED", "PICKED", "SHIPPED", "RECEIVED", "CANCELLED"]
Step = Literal["pick", "ship", "receive"]


class Position(ResultModel):
    """Stock of one item at one location (store or DC) as of a moment."""

    location_id: str
    item_id: str
    on_hand: int
    in_transit: int
    safety_stock: int
    as_of: datetime


class TransferLine(Model):
    item_id: Identifier
    quantity: PositiveQuantity


class TransferRequest(Model):
    """Create a transfer order (source -> destination) in ``CREATED``.

    ``transfer_id`` is chosen by the caller (a business key, e.g. ``"{plan_id}-T003"``).
    ``progress`` / ``step_seconds`` override the WMS default pacing for this transfer.
    """

    transfer_id: Identifier
    reference: str | None = Field(default=None, description="e.g. the rebalance plan id")
    source_id: Identifier
    dest_id: Identifier
    lines: list[TransferLine] = Field(min_length=1)
    callback: Callback | None = None
    progress: Literal["auto", "manual"] | None = None
    step_seconds: float | None = Field(default=None, ge=0, le=3600)


class Transfer(ResultModel):
    transfer_id: str
    reference: str | None = None
    source_id: str
    dest_id: str
    status: TransferStatus
    lines: list[QuantityLine]
    picked: list[QuantityLine] = Field(default_factory=list)
    shipped: list[QuantityLine] = Field(default_factory=list)
    received: list[QuantityLine] = Field(default_factory=list)
    progress: Literal["auto", "manual"]
    callback: Callback | None = None
    created_at: datetime
    updated_at: datetime


class AdvanceRequest(Model):
    """Push a transfer one step (drills/tests). Without ``lines`` the step moves what the
    previous step moved (everything requested, for a pick)."""

    step: Step
    lines: list[QuantityLine] | None = None


class RestockRequest(Model):
    """Put returned units back on hand at a location (return disposition RESTOCK)."""

    location_id: Identifier
    item_id: Identifier
    quantity: PositiveQuantity
    reference: Identifier = Field(description="e.g. the RMA id")


__all__ = [
    "AdvanceRequest",
    "Position",
    "RestockRequest",
    "Step",
    "Transfer",
    "TransferLine",
    "TransferRequest",
    "TransferStatus",
]
