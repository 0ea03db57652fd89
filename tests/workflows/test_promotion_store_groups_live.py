"""A group-targeted PromotionLaunch against the live backoffice: groups and zones resolved
through the ERP, one price per store in the POS price book by the stated rule, each store's
zone shelf price back at the end; ERP masters' own exclusive flag and priority judged."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from domain.promotion.status import PromotionStatus
from tests.fixtures.promotion import PromoRig, load_policy
from tests.workflows.test_promotion_launch_orchestration import cancel
from wire.common import PriceLine
from wire.erp import PromotionMasterRequest, StoreGroupRequest

ITEMS = ["I0020", "I0028", "I0004"]
"""Items no other live test promotes (their ERP masters would overlap this window)."""
CENT = Decimal("0.01")


def off(price: Decimal, pct: int) -> Decimal:
    return (price * (100 - pct) / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def pct(n: int) -> dict[str, str]:
    return {"type": "percent_off", "percent": str(n)}


async def test_a_group_targeted_launch_publishes_one_price_per_store(promo_rig: PromoRig) -> None:
    rig = promo_rig
    gid = f"ad-{uuid.uuid4().hex[:8]}"
    async with rig.backoffice.adapters() as bo:
        await bo.erp.define_store_group(
            StoreGroupRequest(group_id=gid, name="Ad pilot", store_ids=["S002", "S003"]),
            idempotency_key=uuid.uuid4().hex,
        )
    plan = rig.plan(
        prefix="GROUPS",
        offer=pct(20),
        stores=["S040"],
        store_groups=["region:east", f"group:{gid}"],
        channels=["erp", "pos"],
        vendor_deal_id=None,
        length=timedelta(days=1),
        items=[
            {"item_id": "I0020", "forecast_units_per_store": 4, "zone_prices": {"Z3": "6.99"}},
            {
                "item_id": "I0028",
                "forecast_units_per_store": 4,
                "offer": pct(10),
                "group_offers": [
                    {"store_groups": ["format:hypermarket"], "offer": pct(30)},
                    {"store_groups": [f"group:{gid}"], "offer": pct(25), "priority": 1},
                ],
            },
            {"item_id": "I0004", "forecast_units_per_store": 4},
        ],
    )
    handle = await rig.launch(plan, load_policy(monitor={"check_interval": "PT12H"}, tasks=[]))
    await rig.approve_all(handle, plan)
    scheduled = await rig.wait_state(handle, "SCHEDULED")
    async with rig.backoffice.adapters() as bo:
        masters = {s.store_id: s for s in await bo.erp.list_stores()}
        shelf = {(z.zone_id, z.item_id): z.shelf_price for z in await bo.erp.zone_prices(ITEMS)}
        east = [s for s, m in masters.items() if m.region == "east"]
        stores = [st.store_id for st in scheduled.stores]
        assert sorted(stores) == sorted({"S040", *east, "S002", "S003"})  # each store once
        assert len(stores) == len(set(stores)) == 16
        at = plan.starts_at + timedelta(hours=1)
        zones_seen = set()
        for store_id in stores:
            m = masters[store_id]
            zones_seen.add(m.price_zone)
            wanted = {
                "I0020": Decimal("6.99")
                if m.price_zone == "Z3"
                else off(shelf[(m.price_zone, "I0020")], 20),
                # the named group's line has priority 1; else the deepest of 10 % / 30 %
                "I0028": off(
                    shelf[(m.price_zone, "I0028")],
                    25
                    if store_id in ("S002", "S003")
                    else (30 if m.format == "hypermarket" else 10),
                ),
                "I0004": off(shelf[(m.price_zone, "I0004")], 20),
            }
            got = await bo.pos.store_prices(store_id, ITEMS, at=at)
            assert {p.item_id: p.price for p in got} == wanted, store_id
            assert all(p.promotion_id == plan.promotion_id for p in got)
            assert {p.item_id: p.regular_price for p in got} == {
                i: shelf[(m.price_zone, i)] for i in ITEMS
            }
        assert zones_seen == {"Z1", "Z2", "Z3"}
        entries = await bo.pos.promotion_prices(plan.promotion_id)
        assert sorted(e.store_id for e in entries) == sorted(stores)  # one book entry a store
    published = await rig.backoffice.ledger_count(
        system="pos", operation="publish_prices", subject_prefix=f"pos_price:{plan.promotion_id}:"
    )
    assert published == len(stores)  # one price publication per store, none twice

    await rig.env.fast_forward(handle)
    result: PromotionStatus = await handle.result()
    assert result.state.value == "ENDED", result.reasons
    assert any(e.action == "verified" and e.detail.startswith("pos") for e in result.audit)
    assert not any(e.action == "verify failed" for e in result.audit), result.reasons
    async with rig.backoffice.adapters() as bo:
        for store_id in ("S001", "S002", "S007"):  # Z1, Z1, Z3: each zone's shelf price back
            for p in await bo.pos.store_prices(store_id, ITEMS):
                assert (
                    p.price == p.regular_price == shelf[(masters[store_id].price_zone, p.item_id)]
                )


async def _erp_master(
    rig: PromoRig, item: str, store: str, plan_start: datetime, *, exclusive: bool, priority: int
) -> str:
    """A promotion master this product did not launch (a vendor's event keyed in the ERP)."""
    pid = f"ERP-{uuid.uuid4().hex[:8]}"
    start = plan_start - timedelta(hours=6)
    async with rig.backoffice.adapters() as bo:
        await bo.erp.create_promotion(
            PromotionMasterRequest(
                promotion_id=pid,
                name="Vendor event",
                items=[PriceLine(item_id=item, price=Decimal("1.00"))],
                store_ids=[store],
                start=start,
                end=start + timedelta(days=1),
                exclusive=exclusive,
                priority=priority,
            ),
            idempotency_key=uuid.uuid4().hex,
        )
    return pid


async def test_erp_masters_exclusive_flag_and_priority_decide_the_overlap(
    promo_rig: PromoRig,
) -> None:
    rig = promo_rig
    item = "I0036"  # an item no other live test promotes
    plan = rig.plan(
        prefix="ERP-OVERLAP",
        offer=pct(10),
        stores=[],
        store_groups=["zone:Z3"],
        channels=["erp", "pos"],
        vendor_deal_id=None,
        exclusive=False,
        priority=2,
        items=[{"item_id": item, "forecast_units_per_store": 2}],
    )
    stackable = await _erp_master(rig, item, "S007", plan.starts_at, exclusive=False, priority=4)
    handle = await rig.launch(plan, load_policy(tasks=[]))
    waiting = await rig.wait_state(handle, "AWAITING_APPROVAL")
    [stacks] = [a.detail for a in waiting.audit if a.action == "stacks"]
    assert stacks.startswith(f"stacks with {stackable} (priority 4, applied after this one)")
    await cancel(handle)
    assert (await handle.result()).state.value == "CANCELLED"

    exclusive = await _erp_master(rig, item, "S008", plan.starts_at, exclusive=True, priority=0)
    again = rig.plan(**{**plan.model_dump(mode="json"), "promotion_id": plan.promotion_id + "b"})
    result: PromotionStatus = await (await rig.launch(again)).result()
    assert result.state.value == "REJECTED"
    [reason] = [r for r in result.reasons if exclusive in r]
    assert reason.startswith(
        f"items: conflicts with promotion {exclusive} (Vendor event) on {item} in 1 store(s) "
        "(S008) on "
    )
    assert reason.endswith(f"({exclusive} is exclusive)")
