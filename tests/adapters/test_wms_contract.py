"""WMS through the real adapter: positions, transfers, manual progress, restock."""

from __future__ import annotations

import pytest

from adapters import Backoffice, BusinessRefusal
from tests.adapters.helpers import key, uid
from tests.fixtures.backoffice import LiveBackoffice
from wire.common import QuantityLine
from wire.wms import RestockRequest, TransferLine, TransferRequest


async def _position(bo: Backoffice, loc: str, item: str) -> tuple[int, int]:
    [p] = await bo.wms.positions(location_ids=[loc], item_ids=[item])
    return p.on_hand, p.in_transit


async def test_positions(bo: Backoffice) -> None:
    dc = await bo.wms.positions(location_ids=["DC-EAST"])
    assert len(dc) == 200 and all(p.on_hand >= 0 for p in dc)
    by_item = await bo.wms.positions(item_ids=["I0001"])
    assert {p.location_id for p in by_item} >= {"DC-EAST", "DC-CENTRAL", "DC-WEST"}
    with pytest.raises(BusinessRefusal) as err:
        await bo.wms.positions(location_ids=["S404"])
    assert err.value.code == "unknown_location" and err.value.field == "location_ids[0]"
    with pytest.raises(BusinessRefusal) as err:
        await bo.wms.positions()
    assert err.value.code == "invalid_input"


async def test_transfer_manual_progress_moves_stock(bo: Backoffice, live: LiveBackoffice) -> None:
    tid = uid("T")
    src0 = await _position(bo, "DC-WEST", "I0020")
    dst0 = (
        await _position(bo, "S003", "I0020")
        if await bo.wms.positions(location_ids=["S003"], item_ids=["I0020"])
        else (0, 0)
    )
    created = await bo.wms.create_transfer(
        TransferRequest(
            transfer_id=tid,
            reference="plan-x",
            source_id="DC-WEST",
            dest_id="S003",
            lines=[TransferLine(item_id="I0020", quantity=10)],
            progress="manual",
        ),
        idempotency_key=key(),
    )
    assert created.status == "CREATED" and created.progress == "manual"
    released = await bo.wms.release_transfer(tid, idempotency_key=key())
    assert released.status == "RELEASED"
    with pytest.raises(BusinessRefusal) as err:
        await bo.wms.advance(tid, "ship")
    assert err.value.code == "transfer_step_out_of_order" and "pick" in err.value.message
    await bo.wms.advance(tid, "pick")
    shipped = await bo.wms.advance(tid, "ship")
    assert shipped.status == "SHIPPED" and shipped.shipped[0].quantity == 10
    assert await _position(bo, "DC-WEST", "I0020") == (src0[0] - 10, src0[1])
    assert await _position(bo, "S003", "I0020") == (dst0[0], dst0[1] + 10)
    with pytest.raises(BusinessRefusal) as err:
        await bo.wms.cancel_transfer(tid, idempotency_key=key())
    assert err.value.code == "transfer_already_shipped"
    received = await bo.wms.advance(tid, "receive", [QuantityLine(item_id="I0020", quantity=8)])
    assert received.status == "RECEIVED" and received.received[0].quantity == 8
    assert await _position(bo, "S003", "I0020") == (dst0[0] + 8, dst0[1])
    assert await live.ledger_count(subject=f"transfer_ship:{tid}") == 1


async def test_cancel_before_shipping_and_bad_transfers(bo: Backoffice) -> None:
    tid = uid("T")
    await bo.wms.create_transfer(
        TransferRequest(
            transfer_id=tid,
            source_id="DC-EAST",
            dest_id="S001",
            lines=[TransferLine(item_id="I0001", quantity=1)],
            progress="manual",
        ),
        idempotency_key=key(),
    )
    await bo.wms.release_transfer(tid, idempotency_key=key())
    cancelled = await bo.wms.cancel_transfer(tid, idempotency_key=key(), reason="plan cancelled")
    assert cancelled.status == "CANCELLED"
    with pytest.raises(BusinessRefusal) as err:
        await bo.wms.release_transfer(tid, idempotency_key=key())
    assert err.value.code == "transfer_cancelled"
    with pytest.raises(BusinessRefusal) as err:
        await bo.wms.create_transfer(
            TransferRequest(
                transfer_id=uid("T"),
                source_id="DC-EAST",
                dest_id="DC-EAST",
                lines=[TransferLine(item_id="I0001", quantity=1)],
            ),
            idempotency_key=key(),
        )
    assert err.value.field == "dest_id"
    response = await bo.http.post(
        "/wms/transfers",
        json={
            "transfer_id": uid("T"),
            "source_id": "DC-EAST",
            "dest_id": "S001",
            "lines": [{"item_id": "I0001", "quantity": -3}],
        },
        headers={"Idempotency-Key": key()},
    )
    assert response.status_code == 400 and response.json()["field"] == "lines[0].quantity"


async def test_restock(bo: Backoffice, live: LiveBackoffice) -> None:
    before = await _position(bo, "DC-CENTRAL", "I0030")
    rma = uid("RMA")
    after = await bo.wms.restock(
        RestockRequest(location_id="DC-CENTRAL", item_id="I0030", quantity=2, reference=rma),
        idempotency_key=key(),
    )
    assert after.on_hand == before[0] + 2
    assert await live.ledger_count(subject=f"restock:{rma}:I0030") == 1


async def test_list_transfers_by_location_status_and_change(bo: Backoffice) -> None:
    """What the rebalance planner checks a stock feed against (domain.rebalance.feed)."""
    tid = uid("T")
    [before] = await bo.wms.positions(location_ids=["DC-WEST"], item_ids=["I0021"])
    await bo.wms.create_transfer(
        TransferRequest(
            transfer_id=tid,
            source_id="DC-WEST",
            dest_id="S006",
            lines=[TransferLine(item_id="I0021", quantity=2)],
            progress="manual",
        ),
        idempotency_key=key(),
    )
    created = await bo.wms.list_transfers(location_ids=["S006"], statuses=["RELEASED"])
    assert tid not in {t.transfer_id for t in created}  # created is not a movement yet
    await bo.wms.release_transfer(tid, idempotency_key=key())
    released = await bo.wms.list_transfers(
        location_ids=["DC-WEST"], statuses=["RELEASED"], updated_since=before.as_of
    )
    assert tid in {t.transfer_id for t in released}
    with pytest.raises(BusinessRefusal) as err:
        await bo.wms.list_transfers(location_ids=[])
    assert err.value.field == "location_ids"
