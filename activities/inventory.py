"""Inventory rebalancing activities: read the estate, release/cancel/read transfers, claims.

Every effect carries a business idempotency key built from the transfer id (stable across
retries and across workflow runs), so a retried activity never creates, releases, cancels
or claims twice.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
from temporalio import activity

from activities.common import business_key, heartbeating, refusal, refusals_are_final
from adapters.base import new_http_client
from adapters.erp import ErpClient
from adapters.errors import BusinessRefusal
from adapters.pos import PosClient
from adapters.wms import WmsClient
from domain.money import cents
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
from domain.rebalance.estate import (
    Estate,
    ItemRule,
    Location,
    Movement,
    Position,
    Site,
    demand_from_sales,
    derive_lanes,
)
from wire.common import Callback, QuantityLine
from wire.erp import TransferClaimRequest
from wire.wms import TransferLine, TransferRequest

MOVING_STATUSES = ("RELEASED", "PICKED", "SHIPPED", "RECEIVED")
"""Transfer states that move stock (created and cancelled ones do not)."""


class InventoryActivities:
    """Bound to one pooled HTTP client for the WMS, ERP and POS of the backoffice."""

    def __init__(
        self,
        backoffice_url: str,
        *,
        timeout_s: float = 10.0,
        http: httpx.AsyncClient | None = None,
        min_move: int = 1,
    ) -> None:
        self._http = http or new_http_client(backoffice_url, timeout_s=timeout_s)
        self.wms = WmsClient(http=self._http)
        self.erp = ErpClient(http=self._http)
        self.pos = PosClient(http=self._http)
        self._min_move = min_move

    def all(self) -> list[object]:
        return [
            self.read_estate,
            self.release_transfers,
            self.cancel_transfers,
            self.read_transfer,
            self.file_claim,
        ]

    @activity.defn(name=READ_ESTATE.name)
    @refusals_are_final
    async def read_estate(self, query: EstateQuery) -> Estate:
        """Stores, DCs, items (pack sizes), positions (WMS) and demand from POS sales."""
        stores = []
        for store_id in query.stores:
            try:
                stores.append(await self.erp.get_store(store_id))
            except BusinessRefusal as err:
                if err.status == 404 or err.code in ("not_found", "unknown_store"):
                    raise refusal(
                        f"store {store_id!r} is not in the ERP store master",
                        "unknown_store",
                        store_id=store_id,
                    ) from err
                raise
        items = await self.erp.list_items(item_ids=query.items, limit=max(500, len(query.items)))
        known = {item.item_id for item in items}
        unknown = [i for i in query.items if i not in known]
        if unknown:
            raise refusal(
                f"item(s) not in the ERP item master: {', '.join(unknown)}",
                "unknown_item",
                item_ids=unknown,
            )
        dcs = await self.erp.list_dcs()
        sites = [
            Site(
                location_id=s.store_id,
                kind="store",
                region=s.region,
                latitude=s.latitude,
                longitude=s.longitude,
                serving_dc=s.dc_id,
            )
            for s in stores
        ] + [
            Site(
                location_id=d.dc_id,
                kind="dc",
                region=d.region,
                latitude=d.latitude,
                longitude=d.longitude,
            )
            for d in dcs
        ]
        locations = [
            Location(location_id=s.store_id, kind="store", region=s.region) for s in stores
        ] + [
            Location(
                location_id=d.dc_id,
                kind="dc",
                region=d.region,
                outbound_capacity=d.daily_capacity_units,
            )
            for d in dcs
        ]
        wire_positions = await self.wms.positions(
            location_ids=[s.location_id for s in sites], item_ids=query.items
        )
        positions = [
            Position(
                location_id=p.location_id,
                item_id=p.item_id,
                on_hand=p.on_hand,
                in_transit=p.in_transit,
                safety_stock=p.safety_stock,
                as_of=p.as_of,
            )
            for p in wire_positions
        ]
        movements = await self._movements(query, [s.location_id for s in sites])
        demand = []
        if query.read_demand:
            since = query.planned_at - query.sales_history
            summary = await self.pos.sales(
                item_ids=query.items, store_ids=query.stores, since=since, until=query.planned_at
            )
            demand = demand_from_sales(
                [(line.store_id, line.item_id, line.units) for line in summary.lines],
                history=query.sales_history,
                window=max(query.need_by - query.planned_at, timedelta(days=1)),
                stores=query.stores,
                items=query.items,
            )
        return Estate(
            locations=locations,
            positions=positions,
            movements=movements,
            demand=demand,
            lanes=derive_lanes(sites, query.stores),
            items=[
                ItemRule(
                    item_id=i.item_id,
                    pack_size=max(1, i.pack_size),
                    min_move=max(self._min_move, 1),
                )
                for i in items
            ],
        )

    async def _movements(self, query: EstateQuery, location_ids: list[str]) -> list[Movement]:
        """The WMS's transfers from or to the locations, changed within the sales history:
        what the stock feed must already show (see domain.rebalance.feed)."""
        transfers = await self.wms.list_transfers(
            location_ids=location_ids,
            statuses=list(MOVING_STATUSES),
            updated_since=query.planned_at - query.sales_history,
        )
        items = set(query.items)
        out: list[Movement] = []
        for t in transfers:
            if t.status not in MOVING_STATUSES:
                continue
            if t.status in ("SHIPPED", "RECEIVED"):
                lines = t.shipped
            else:
                lines = t.picked if t.status == "PICKED" else t.lines
            out.extend(
                Movement(
                    transfer_id=t.transfer_id,
                    source_id=t.source_id,
                    dest_id=t.dest_id,
                    item_id=line.item_id,
                    units=line.quantity,
                    status=t.status,
                    at=t.updated_at,
                )
                for line in lines
                if line.item_id in items
            )
        return out

    @activity.defn(name=RELEASE_TRANSFERS.name)
    @refusals_are_final
    async def release_transfers(self, batch: ReleaseBatch) -> list[ReleasedTransfer]:
        """Create and release each transfer order; WMS events go to the workflow as signals."""
        out: list[ReleasedTransfer] = []
        async with heartbeating({"released": 0}) as progress:
            for order in batch.transfers:
                request = TransferRequest(
                    transfer_id=order.transfer_id,
                    reference=batch.plan_id,
                    source_id=order.source_id,
                    dest_id=order.dest_id,
                    lines=[TransferLine(item_id=order.item_id, quantity=order.units)],
                    callback=Callback(workflow_id=batch.workflow_id, signal=batch.signal),
                    progress=batch.progress,
                )
                await self.wms.create_transfer(
                    request, idempotency_key=business_key("transfer-create", order.transfer_id)
                )
                released = await self.wms.release_transfer(
                    order.transfer_id,
                    idempotency_key=business_key("transfer-release", order.transfer_id),
                )
                out.append(
                    ReleasedTransfer(transfer_id=order.transfer_id, wms_status=released.status)
                )
                progress({"released": len(out)})
        return out

    @activity.defn(name=CANCEL_TRANSFERS.name)
    @refusals_are_final
    async def cancel_transfers(self, batch: CancelBatch) -> list[CancelOutcome]:
        """Cancel what has not shipped; a shipped transfer is reported, not an error."""
        out: list[CancelOutcome] = []
        async with heartbeating({"done": 0}) as progress:
            for transfer_id in batch.transfer_ids:
                try:
                    result = await self.wms.cancel_transfer(
                        transfer_id,
                        idempotency_key=business_key("transfer-cancel", transfer_id),
                        reason=batch.reason,
                    )
                    out.append(
                        CancelOutcome(
                            transfer_id=transfer_id, cancelled=True, wms_status=result.status
                        )
                    )
                except BusinessRefusal as err:
                    if err.code == "not_found" or err.status == 404:
                        # never created (a release interrupted by the cancel): nothing to undo
                        out.append(
                            CancelOutcome(
                                transfer_id=transfer_id,
                                cancelled=True,
                                wms_status="NOT_CREATED",
                                detail=err.message,
                            )
                        )
                        progress({"done": len(out)})
                        continue
                    if err.code != "transfer_already_shipped":
                        raise
                    current = await self.wms.get_transfer(transfer_id)
                    out.append(
                        CancelOutcome(
                            transfer_id=transfer_id,
                            cancelled=False,
                            wms_status=current.status,
                            detail=err.message,
                        )
                    )
                progress({"done": len(out)})
        return out

    @activity.defn(name=READ_TRANSFER.name)
    @refusals_are_final
    async def read_transfer(self, transfer_id: str) -> TransferReadBack:
        """Read a transfer back from the WMS (aging checks)."""
        transfer = await self.wms.get_transfer(transfer_id)
        return TransferReadBack(
            transfer_id=transfer_id,
            wms_status=transfer.status,
            picked=sum(line.quantity for line in transfer.picked),
            shipped=sum(line.quantity for line in transfer.shipped),
            received=sum(line.quantity for line in transfer.received),
        )

    @activity.defn(name=FILE_CLAIM.name)
    @refusals_are_final
    async def file_claim(self, claim: ClaimInput) -> ClaimFiled:
        """An ERP transfer claim valued at item cost; one per transfer and kind."""
        item = await self.erp.get_item(claim.item_id)
        amount = cents(item.cost * claim.units)
        filed = await self.erp.claim_transfer(
            TransferClaimRequest(
                transfer_id=claim.transfer_id,
                kind=claim.kind,
                lines=[QuantityLine(item_id=claim.item_id, quantity=claim.units)],
                amount=amount,
                reason=claim.reason[:500],
            ),
            idempotency_key=business_key("transfer-claim", claim.transfer_id, claim.kind),
        )
        return ClaimFiled(claim_id=filed.claim_id, amount=filed.amount)
