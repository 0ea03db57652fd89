"""A scripted WMS/ERP edge for `InventoryRebalance`: the five rebalance activities in memory.

`FakeInventory().activities()` replaces the real ones (same registered names, from
`domain.rebalance.contract`) when a test or a benchmark is about orchestration, not the
backoffice: `build_worker(client, settings, fakes=fake.activities())`. Nothing moves in the
fake WMS by itself: the caller sends the `wms_event` signals and `ship()`s what a read-back
should see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.rebalance.contract import (
    CANCEL_TRANSFERS,
    FILE_CLAIM,
    READ_ESTATE,
    READ_TRANSFER,
    RELEASE_TRANSFERS,
    CancelBatch,
    CancelOutcome,
    ClaimFiled,
    ClaimInput,
    EstateQuery,
    ReleaseBatch,
    ReleasedTransfer,
    TransferReadBack,
)
from domain.rebalance.estate import Demand, Estate, ItemRule, Lane, Location, Position

CLAIM_UNIT_COST = Decimal("3.25")
"""What the fake ERP values one claimed unit at."""


def small_estate(planned_at: datetime, *, s1_on_hand: int = 2, s2_on_hand: int = 3) -> Estate:
    """DC1 has plenty of I1; S1 and S2 need 10 each; one lane per store from DC1."""
    fresh = planned_at - timedelta(hours=1)
    return Estate(
        locations=[
            Location(location_id="S1", kind="store"),
            Location(location_id="S2", kind="store"),
            Location(location_id="DC1", kind="dc"),
        ],
        positions=[
            Position(location_id="S1", item_id="I1", on_hand=s1_on_hand, as_of=fresh),
            Position(location_id="S2", item_id="I1", on_hand=s2_on_hand, as_of=fresh),
            Position(location_id="DC1", item_id="I1", on_hand=500, safety_stock=20, as_of=fresh),
        ],
        demand=[
            Demand(store_id="S1", item_id="I1", units=10),
            Demand(store_id="S2", item_id="I1", units=10),
        ],
        lanes=[
            Lane(
                source_id="DC1",
                dest_id="S1",
                lead_time=timedelta(hours=20),
                cost_per_unit=Decimal("1.50"),
            ),
            Lane(
                source_id="DC1",
                dest_id="S2",
                lead_time=timedelta(hours=30),
                cost_per_unit=Decimal("2.00"),
            ),
        ],
        items=[ItemRule(item_id="I1", pack_size=1, min_move=1)],
    )


@dataclass
class FakeTransfer:
    order: dict[str, Any]
    status: str = "RELEASED"
    shipped: int = 0
    received: int = 0


@dataclass
class FakeInventory:
    """In-memory WMS/ERP edge with the real activity names; records what it was asked."""

    estate_factory: Callable[[datetime], Estate] = small_estate
    transfers: dict[str, FakeTransfer] = field(default_factory=dict)
    claims: list[ClaimInput] = field(default_factory=list)
    cancel_calls: list[str] = field(default_factory=list)
    release_refusal: str | None = None
    """When set, the release is refused as final with this error type (a WMS 409)."""

    def activities(self) -> list[Callable[..., Any]]:
        return [
            self.read_estate,
            self.release_transfers,
            self.cancel_transfers,
            self.read_transfer,
            self.file_claim,
        ]

    def ship(self, transfer_id: str, units: int) -> None:
        """The fake WMS's own record (what a read-back sees)."""
        self.transfers[transfer_id].status = "SHIPPED"
        self.transfers[transfer_id].shipped = units

    @activity.defn(name=READ_ESTATE.name)
    async def read_estate(self, query: EstateQuery) -> Estate:
        return self.estate_factory(query.planned_at)

    @activity.defn(name=RELEASE_TRANSFERS.name)
    async def release_transfers(self, batch: ReleaseBatch) -> list[ReleasedTransfer]:
        if self.release_refusal is not None:
            raise ApplicationError(
                f"the WMS refused the release ({self.release_refusal})",
                type=self.release_refusal,
                non_retryable=True,
            )
        for order in batch.transfers:
            self.transfers.setdefault(order.transfer_id, FakeTransfer(order.model_dump()))
        return [
            ReleasedTransfer(transfer_id=o.transfer_id, wms_status="RELEASED")
            for o in batch.transfers
        ]

    @activity.defn(name=CANCEL_TRANSFERS.name)
    async def cancel_transfers(self, batch: CancelBatch) -> list[CancelOutcome]:
        out = []
        for transfer_id in batch.transfer_ids:
            self.cancel_calls.append(transfer_id)
            transfer = self.transfers[transfer_id]
            if transfer.status in ("SHIPPED", "RECEIVED"):
                out.append(
                    CancelOutcome(
                        transfer_id=transfer_id, cancelled=False, wms_status=transfer.status
                    )
                )
            else:
                transfer.status = "CANCELLED"
                out.append(
                    CancelOutcome(transfer_id=transfer_id, cancelled=True, wms_status="CANCELLED")
                )
        return out

    @activity.defn(name=READ_TRANSFER.name)
    async def read_transfer(self, transfer_id: str) -> TransferReadBack:
        t = self.transfers.get(transfer_id)
        if t is None:
            raise ApplicationError(
                f"no transfer {transfer_id}", type="not_found", non_retryable=True
            )
        return TransferReadBack(
            transfer_id=transfer_id,
            wms_status=t.status,
            picked=0,
            shipped=t.shipped,
            received=t.received,
        )

    @activity.defn(name=FILE_CLAIM.name)
    async def file_claim(self, claim: ClaimInput) -> ClaimFiled:
        self.claims.append(claim)
        return ClaimFiled(
            claim_id=f"CL-{claim.transfer_id}-{claim.kind}",
            amount=CLAIM_UNIT_COST * claim.units,
        )
