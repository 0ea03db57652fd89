"""WMS: stock positions, transfer orders and their progress, restock of returns.

Transfer lifecycle in the WMS: ``CREATED`` -> ``RELEASED`` -> ``PICKED`` -> ``SHIPPED``
-> ``RECEIVED``; ``CANCELLED`` is possible until it ships (cancel after shipping is a
``BusinessRefusal(code="transfer_already_shipped")``).

Progress is **not** in HTTP responses: after :meth:`WmsClient.release_transfer` the WMS
sends :class:`adapters.models.WmsEvent` signals (``step`` = picked, shipped, received, with
quantities) to the request's ``callback`` workflow (signal name of your choice, e.g.
``wms_event``). Progress runs by itself (``progress="auto"``, one step every
``step_seconds``) or waits for a drill/test to push it with :meth:`WmsClient.advance`
(``progress="manual"``), which can pick, ship or receive any quantity (short, over).
Picks never exceed what the source has on hand (a natural short pick).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from adapters.base import BaseAdapter
from adapters.models import (
    Callback,
    Identifier,
    Model,
    PositiveQuantity,
    QuantityLine,
    ResultModel,
)

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


class WmsClient(BaseAdapter):
    """Typed client of the WMS (``/wms``)."""

    system = "wms"
    prefix = "/wms"

    async def positions(
        self, *, location_ids: list[str] | None = None, item_ids: list[str] | None = None
    ) -> list[Position]:
        """Positions filtered by locations and/or items (at least one filter)."""
        return await self._call(
            "GET",
            "/positions",
            operation="positions",
            result=list[Position],
            params={"location_ids": location_ids, "item_ids": item_ids},
        )

    async def create_transfer(self, request: TransferRequest, *, idempotency_key: str) -> Transfer:
        return await self._call(
            "POST",
            "/transfers",
            operation="create_transfer",
            result=Transfer,
            json=request,
            idempotency_key=idempotency_key,
        )

    async def release_transfer(self, transfer_id: str, *, idempotency_key: str) -> Transfer:
        """Release to the floor; progress events follow (auto) or wait for ``advance``."""
        return await self._call(
            "POST",
            f"/transfers/{transfer_id}/release",
            operation="release_transfer",
            result=Transfer,
            json={},
            idempotency_key=idempotency_key,
        )

    async def cancel_transfer(
        self, transfer_id: str, *, idempotency_key: str, reason: str = ""
    ) -> Transfer:
        return await self._call(
            "POST",
            f"/transfers/{transfer_id}/cancel",
            operation="cancel_transfer",
            result=Transfer,
            json={"reason": reason},
            idempotency_key=idempotency_key,
        )

    async def get_transfer(self, transfer_id: str) -> Transfer:
        return await self._call(
            "GET", f"/transfers/{transfer_id}", operation="get_transfer", result=Transfer
        )

    async def advance(
        self, transfer_id: str, step: Step, lines: list[QuantityLine] | None = None
    ) -> Transfer:
        """Drill/test control: pick, ship or receive now, with these quantities."""
        return await self._call(
            "POST",
            f"/transfers/{transfer_id}/advance",
            operation="advance",
            result=Transfer,
            json=AdvanceRequest(step=step, lines=lines),
        )

    async def restock(self, request: RestockRequest, *, idempotency_key: str) -> Position:
        return await self._call(
            "POST",
            "/restock",
            operation="restock",
            result=Position,
            json=request,
            idempotency_key=idempotency_key,
        )


__all__ = [
    "AdvanceRequest",
    "Position",
    "RestockRequest",
    "Step",
    "Transfer",
    "TransferLine",
    "TransferRequest",
    "TransferStatus",
    "WmsClient",
]
