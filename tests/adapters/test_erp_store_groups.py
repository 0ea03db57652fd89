"""ERP store groups, price zones and promotion flags through the real adapter against the
live backoffice (real HTTP, SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from adapters import Backoffice, BusinessRefusal
from tests.fixtures.backoffice import LiveBackoffice
from wire.common import PriceLine
from wire.erp import PromotionMasterRequest, StoreGroupRequest, ZonePriceRequest, ZoneShelfPrice


def key() -> str:
    return uuid.uuid4().hex


async def test_every_store_has_one_region_format_and_zone(bo: Backoffice) -> None:
    stores = await bo.erp.list_stores()
    assert all(s.region and s.format and s.price_zone for s in stores)
    zones = await bo.erp.list_price_zones()
    assert [z.zone_id for z in zones] == ["Z1", "Z2", "Z3"]
    assert {z.zone_id: z.store_count for z in zones} == Counter(s.price_zone for s in stores)
    assert sum(z.store_count for z in zones) == len(stores) == 40
    for region in {s.region for s in stores}:  # every region has stores in every zone
        assert {s.price_zone for s in stores if s.region == region} == {"Z1", "Z2", "Z3"}
    express = await bo.erp.list_stores(store_format="express")
    assert express and all(s.format == "express" for s in express)
    z3 = await bo.erp.list_stores(price_zone="Z3")
    assert [s.store_id for s in z3] == sorted(s.store_id for s in stores if s.price_zone == "Z3")


async def test_shelf_prices_differ_by_zone(bo: Backoffice) -> None:
    item = await bo.erp.get_item("I0001")
    prices = await bo.erp.zone_prices(["I0001", "I0002"])
    assert [(p.zone_id, p.item_id) for p in prices][:2] == [("Z1", "I0001"), ("Z1", "I0002")]
    by = {(p.zone_id, p.item_id): p for p in prices}
    assert by[("Z2", "I0001")].shelf_price == item.regular_price
    assert not by[("Z2", "I0001")].zone_specific
    assert by[("Z1", "I0001")].shelf_price > item.regular_price > by[("Z3", "I0001")].shelf_price
    assert by[("Z1", "I0001")].zone_specific
    only = await bo.erp.zone_prices(["I0001"], zones=["Z3"])
    assert [p.zone_id for p in only] == ["Z3"]


async def test_zone_prices_refuse_unknown_zones_and_items_in_words(bo: Backoffice) -> None:
    with pytest.raises(BusinessRefusal) as err:
        await bo.erp.zone_prices(["I0001"], zones=["Z9"])
    assert "Z9" in err.value.message and err.value.field == "zones[0]"
    with pytest.raises(BusinessRefusal) as err:
        await bo.erp.zone_prices(["NOPE"])
    assert err.value.code == "unknown_item" and "NOPE" in err.value.message


async def test_setting_a_zones_shelf_price(bo: Backoffice, live: LiveBackoffice) -> None:
    item = await bo.erp.get_item("I0150")
    new = (item.regular_price + Decimal("1.00")).quantize(Decimal("0.01"))
    body = ZonePriceRequest(prices=[ZoneShelfPrice(item_id="I0150", shelf_price=new)])
    k = key()
    first = await bo.erp.set_zone_prices("Z2", body, idempotency_key=k)
    again = await bo.erp.set_zone_prices("Z2", body, idempotency_key=k)
    assert first == again and first[0].zone_specific
    [got] = await bo.erp.zone_prices(["I0150"], zones=["Z2"])
    assert got.shelf_price == new
    back = ZonePriceRequest(
        prices=[ZoneShelfPrice(item_id="I0150", shelf_price=item.regular_price)]
    )
    await bo.erp.set_zone_prices("Z2", back, idempotency_key=key())
    [got] = await bo.erp.zone_prices(["I0150"], zones=["Z2"])
    assert got.shelf_price == item.regular_price and not got.zone_specific
    with pytest.raises(BusinessRefusal) as err:
        await bo.erp.set_zone_prices("Z9", body, idempotency_key=key())
    assert "Z9" in err.value.message
    assert await live.ledger_count(system="erp", subject="zone:Z2") == 2


async def test_named_store_groups(bo: Backoffice, live: LiveBackoffice) -> None:
    seeded = {g.group_id: g for g in await bo.erp.list_store_groups()}
    assert {"flagships", "pilot"} <= set(seeded)
    stores = {s.store_id: s for s in await bo.erp.list_stores()}
    assert seeded["flagships"].store_ids == sorted(
        s for s, st in stores.items() if st.store_class == "A"
    )
    gid = f"g-{uuid.uuid4().hex[:8]}"
    k = key()
    request = StoreGroupRequest(group_id=gid, name="Holiday ad", store_ids=["S003", "S001"])
    made = await bo.erp.define_store_group(request, idempotency_key=k)
    assert made.store_ids == ["S003", "S001"] and made.version == 1
    assert await bo.erp.define_store_group(request, idempotency_key=k) == made  # replayed
    changed = await bo.erp.define_store_group(
        request.model_copy(update={"store_ids": ["S002"]}), idempotency_key=key()
    )
    assert changed.version == 2 and (await bo.erp.get_store_group(gid)).store_ids == ["S002"]
    assert await live.ledger_count(system="erp", subject=f"store_group:{gid}") == 2


async def test_store_group_bad_input_writes_nothing(bo: Backoffice, live: LiveBackoffice) -> None:
    gid = f"g-{uuid.uuid4().hex[:8]}"
    with pytest.raises(BusinessRefusal) as err:
        await bo.erp.define_store_group(
            StoreGroupRequest(group_id=gid, name="x", store_ids=["S001", "S999"]),
            idempotency_key=key(),
        )
    assert err.value.code == "unknown_store" and err.value.field == "store_ids[1]"
    with pytest.raises(BusinessRefusal) as err:
        await bo.erp.get_store_group(gid)
    assert err.value.status == 404 and gid in err.value.message
    assert await live.ledger_count(subject=f"store_group:{gid}") == 0


async def test_promotion_master_carries_exclusive_and_priority(bo: Backoffice) -> None:
    pid = f"P-{uuid.uuid4().hex[:8]}"
    start = datetime.now(UTC) + timedelta(days=3)
    req = PromotionMasterRequest(
        promotion_id=pid,
        name="Vendor stackable",
        items=[PriceLine(item_id="I0001", price=Decimal("19.99"))],
        store_ids=["S001"],
        start=start,
        end=start + timedelta(days=2),
        exclusive=False,
        priority=4,
    )
    created = await bo.erp.create_promotion(req, idempotency_key=key())
    assert (created.exclusive, created.priority) == (False, 4)
    [listed] = [
        m for m in await bo.erp.list_promotions(item_ids=["I0001"]) if m.promotion_id == pid
    ]
    assert (listed.exclusive, listed.priority) == (False, 4)
    plain = req.model_copy(update={"promotion_id": pid + "x", "exclusive": True, "priority": 0})
    default = await bo.erp.create_promotion(
        PromotionMasterRequest.model_validate(plain.model_dump(exclude={"exclusive", "priority"})),
        idempotency_key=key(),
    )
    assert (default.exclusive, default.priority) == (True, 0)  # the safe reading
