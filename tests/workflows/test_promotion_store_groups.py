"""PromotionLaunch with store groups and price zones, fast tier (`fakes.promotion` ERP
resolving groups as the look-up activity does): one price per store by the rule, groups
and ERP masters judged at validation, and the run replays."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from temporalio.worker import Replayer

from common.temporal import data_converter
from domain.promotion.plan import ExistingPromotion, StoreFacts
from domain.promotion.status import PromotionState, PromotionStatus
from fakes.promotion import ScriptedRetail
from tests.fixtures.promotion import FastRig, load_policy
from tests.workflows.test_promotion_launch_orchestration import approve_pending, cancel
from workflows.promotion_launch import PromotionLaunch

REGIONS = ("east", "central", "west")
ESTATE = [
    StoreFacts(
        store_id=f"S{n}",
        region=REGIONS[(n - 1) % 3],
        price_zone=("Z1", "Z2", "Z3")[(n - 1) // 3],
        format="hypermarket" if n in (1, 5) else ("express" if n % 4 == 0 else "supermarket"),
        store_class="A" if n in (1, 5) else "B",
        timezone="America/New_York",
    )
    for n in range(1, 10)
]
"""Nine stores: S1 S4 S7 east, S2 S5 S8 central, S3 S6 S9 west; S1-S3 in zone Z1, S4-S6
Z2, S7-S9 Z3; S1 and S5 hypermarkets (the flagships), S4 and S8 express."""
NAMED = {"flagships": ["S1", "S5"]}
SHELF = {"Z1": Decimal("11.00"), "Z3": Decimal("9.50")}
"""Every item's shelf price by zone (Z2: the regular 10.00)."""


def pct(n: int) -> dict[str, str]:
    return {"type": "percent_off", "percent": str(n)}


def group_plan(rig: FastRig, prefix: str, **changes: Any) -> Any:
    data: dict[str, Any] = {
        "prefix": prefix,
        "offer": pct(20),
        "stores": ["S9"],
        "store_groups": ["region:east", "group:flagships"],
        "items": [
            {"item_id": "I0012", "forecast_units_per_store": 5, "zone_prices": {"Z3": "7.00"}},
            {
                "item_id": "I0060",
                "forecast_units_per_store": 5,
                "offer": pct(10),
                "group_offers": [
                    {"store_groups": ["format:hypermarket"], "offer": pct(30)},
                    {"store_groups": ["group:flagships"], "offer": pct(25), "priority": 1},
                ],
            },
            {"item_id": "I0156", "forecast_units_per_store": 5},
        ],
        "length": timedelta(days=1),
    }
    data.update(changes)
    plan = rig.plan(**data)
    rig.retail.facts = ScriptedRetail.for_plan(
        plan, estate=ESTATE, named_groups=NAMED, zone_shelf=SHELF
    ).facts
    return plan


async def test_a_group_targeted_launch_publishes_one_price_per_store_by_the_rule(
    fast_promo_rig: FastRig,
) -> None:
    rig = fast_promo_rig
    plan = group_plan(rig, "FAST-GROUPS")
    handle = await rig.launch(plan, load_policy(tasks=[]))
    await approve_pending(rig, handle)
    scheduled = await rig.wait_state(handle, "SCHEDULED")
    stores = [s.store_id for s in scheduled.stores]
    assert stores == ["S9", "S1", "S4", "S7", "S5"]  # named first, then by group; S1 once
    expected = {
        # S1: Z1 shelf 11.00; the flagship line (priority 1) beats the hypermarket's 30 %
        "S1": {"I0012": "8.80", "I0060": "8.25", "I0156": "8.80"},
        # S4: Z2 (the regular 10.00), no group offer
        "S4": {"I0012": "8.00", "I0060": "9.00", "I0156": "8.00"},
        # S7, S9: Z3 shelf 9.50, I0012's zone price 7.00
        "S7": {"I0012": "7.00", "I0060": "8.55", "I0156": "7.60"},
        "S9": {"I0012": "7.00", "I0060": "8.55", "I0156": "7.60"},
        # S5: Z2, hypermarket and flagship: priority again
        "S5": {"I0012": "8.00", "I0060": "7.50", "I0156": "8.00"},
    }
    for store_id, prices in expected.items():
        assert rig.retail.prices[("pos", store_id)] == {i: Decimal(p) for i, p in prices.items()}, (
            store_id
        )
        sends = [x for x in rig.retail.sends if x[0] == "pos" and x[2] == store_id]
        assert sends == [("pos", "publish", store_id, 1)]  # one publication, one price
    # chain-wide channels carry the chain's prices (the offers on the regular price)
    chain = {"I0012": Decimal("8.00"), "I0060": Decimal("9.00"), "I0156": Decimal("8.00")}
    assert rig.retail.prices[("erp", "*")] == chain
    assert {x.item_id: x.promo_price for x in scheduled.lines} == chain
    assert len(scheduled.price_sets) == 4, scheduled.price_sets
    assert scheduled.stores[0].price_set == scheduled.stores[3].price_set  # S9 and S7
    assert scheduled.metrics is not None and scheduled.metrics.store_count == 5
    assert any(a.action == "store groups" for a in scheduled.audit)

    await cancel(handle)
    result: PromotionStatus = await handle.result()
    assert result.state is PromotionState.CANCELLED
    assert not rig.retail.live.get("pos")
    history = await handle.fetch_history()
    replayer = Replayer(workflows=[PromotionLaunch], data_converter=data_converter())
    replay = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert replay.replay_failure is None


async def test_an_unknown_group_refuses_the_launch_with_its_name(fast_promo_rig: FastRig) -> None:
    rig = fast_promo_rig
    plan = group_plan(rig, "FAST-GHOST", store_groups=["region:east", "group:ghost", "zone:Z9"])
    handle = await rig.launch(plan)
    result: PromotionStatus = await handle.result()
    assert result.state is PromotionState.REJECTED
    assert "store_groups: unknown store group group:ghost" in result.reasons
    assert "store_groups: unknown store group zone:Z9" in result.reasons
    assert rig.retail.sends == []


async def test_an_erp_master_that_is_exclusive_is_named_with_items_stores_and_days(
    fast_promo_rig: FastRig,
) -> None:
    rig = fast_promo_rig
    plan = group_plan(rig, "FAST-ERP-EXCL", exclusive=False)
    rig.retail.facts.other_promotions = [
        ExistingPromotion(
            promotion_id="ERP-CLEARANCE",
            name="Clearance",
            items=["I0060", "I9999"],
            stores=["S4", "S7", "S8"],
            starts_at=plan.starts_at - timedelta(days=3),
            ends_at=plan.starts_at + timedelta(hours=12),
            exclusive=True,
        )
    ]
    handle = await rig.launch(plan)
    result: PromotionStatus = await handle.result()
    assert result.state is PromotionState.REJECTED
    [reason] = [r for r in result.reasons if "ERP-CLEARANCE" in r]
    first = plan.starts_at.date()
    last = (plan.starts_at + timedelta(hours=12, microseconds=-1)).date()
    day = first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"
    assert reason == (
        f"items: conflicts with promotion ERP-CLEARANCE (Clearance) on I0060 in 2 store(s) "
        f"(S4, S7) on {day} (ERP-CLEARANCE is exclusive)"
    )


async def test_a_stackable_erp_master_composes_by_its_priority(fast_promo_rig: FastRig) -> None:
    rig = fast_promo_rig
    plan = group_plan(rig, "FAST-ERP-STACK", exclusive=False, priority=1)
    rig.retail.facts.other_promotions = [
        ExistingPromotion(
            promotion_id="ERP-VENDOR",
            items=["I0012"],
            stores=["S1"],
            starts_at=plan.starts_at,
            ends_at=plan.ends_at,
            exclusive=False,
            priority=3,
        )
    ]
    handle = await rig.launch(plan, load_policy(tasks=[]))
    status = await rig.wait_state(handle, "AWAITING_APPROVAL")
    [stacks] = [a.detail for a in status.audit if a.action == "stacks"]
    assert stacks.startswith("stacks with ERP-VENDOR (priority 3, applied after this one)")
    await cancel(handle)
    assert (await handle.result()).state is PromotionState.CANCELLED
