"""WMS: stock positions, transfer orders and their progress, restock of returns.

Transfer lifecycle in the WMS: ``CREATED`` -> ``RELEASED`` -> ``PICKED`` -> ``SHIPPED``
-> ``RECEIVED``; ``CANCELLED`` is possible until it ships (cancel after shipping is a
``BusinessRefusal(code="transfer_already_shipped")``).

Progress is **not** in HTTP responses: after :meth:`WmsClient.release_transfer` the WMS
sends :class:`wire.events.WmsEvent` signals (``step`` = picked, shipped, received, with
quantities) to the request's ``callback`` workflow (signal name of your choice, e.g.
``wms_event``). Progress runs by itself (``progress="auto"``, one step every
``step_seconds``) or waits for a drill/test to push it with :meth:`WmsClient.advance`
(``progress="manual"``), which can pick, ship or receive any quantity (short, over).
Picks never exceed what the source has on hand (a natural short pick).
"""

from __future__ import annotations

from datetime import datetime

from adapters.base import BaseAdapter
from wire.common import QuantityLine
from wire.wms import AdvanceRequest, Position, RestockRequest, Step, Transfer, TransferRequest


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

    async def list_transfers(
        self,
        *,
        location_ids: list[str],
        statuses: list[str] | None = None,
        updated_since: datetime | None = None,
    ) -> list[Transfer]:
        """Transfers from or to the locations (optionally by status, changed since)."""
        return await self._call(
            "GET",
            "/transfers",
            operation="list_transfers",
            result=list[Transfer],
            params={
                "location_ids": location_ids,
                "statuses": statuses,
                "updated_since": updated_since,
            },
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


__all__ = ["WmsClient"]
