"""PromotionLaunch's bulk paths at the fast tier (every system scripted, `fakes.promotion`):
POS takes many stores a call where the policy configures it as bulk and one store a call
where it is per store; the store task calls (signage, labor) run side by side."""

from __future__ import annotations

import asyncio

from domain.promotion.contract import CREATE_TASKS
from domain.promotion.status import STORES_IN_RESULT, PromotionStatus
from domain.publication.contract import Channel
from fakes.promotion import ScriptedRetail
from tests.fixtures.promotion import FastRig, load_policy
from tests.workflows.test_promotion_launch_orchestration import approve_pending, cancel

NO_MONITOR = {"monitor": {"check_interval": "P1D"}}


def calls_of(rig: FastRig, channel: Channel) -> list[int]:
    return [r.targets_per_call for r in rig.retail.send_requests if r.channel is channel]


async def test_pos_configured_bulk_is_sent_many_stores_a_call(fast_promo_rig: FastRig) -> None:
    rig = fast_promo_rig
    plan = rig.plan(prefix="FAST-BULK")
    policy = load_policy(
        **NO_MONITOR,
        publication={"pos": {"mode": "bulk", "stores_per_call": 3}, "batch_size": 500},
    )
    handle = await rig.launch(plan, policy)
    await approve_pending(rig, handle)
    scheduled = await rig.wait_state(handle, "SCHEDULED", "FAILED")
    assert scheduled.state.value == "SCHEDULED", scheduled.reasons
    pos = next(ch for ch in scheduled.channels if ch.channel == "pos")
    assert pos.confirmed == len(plan.stores) and pos.failed == 0
    assert calls_of(rig, Channel.POS) == [3]  # one batch, sent 3 stores a call
    assert calls_of(rig, Channel.ECOMMERCE) == [1]
    assert sorted(t for ch, _a, t, _v in rig.retail.sends if ch == "pos") == sorted(plan.stores)
    await cancel(handle)
    await handle.result()
    assert not rig.retail.live.get("pos")


async def test_pos_configured_per_store_keeps_one_store_a_call(fast_promo_rig: FastRig) -> None:
    rig = fast_promo_rig
    plan = rig.plan(prefix="FAST-PER-STORE")
    policy = load_policy(**NO_MONITOR, publication={"pos": {"mode": "per_store"}})
    handle = await rig.launch(plan, policy)
    await approve_pending(rig, handle)
    scheduled = await rig.wait_state(handle, "SCHEDULED", "FAILED")
    assert scheduled.state.value == "SCHEDULED", scheduled.reasons
    assert calls_of(rig, Channel.POS) and set(calls_of(rig, Channel.POS)) == {1}
    await cancel(handle)
    await handle.result()


async def test_signage_and_labor_tasks_are_created_side_by_side(fast_promo_rig: FastRig) -> None:
    rig = fast_promo_rig
    plan = rig.plan(prefix="FAST-TASKS")
    policy = load_policy(**NO_MONITOR)
    assert [t.kind for t in policy.tasks] == ["signage", "labor"]
    held = rig.retail.hold(CREATE_TASKS.name)
    handle = await rig.launch(plan, policy)
    await approve_pending(rig, handle)
    # both calls start while the first is still held: they do not wait for each other
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while rig.retail.called(CREATE_TASKS.name) < 2:
        assert loop.time() < deadline, "the labor tasks waited for the signage tasks"
        await asyncio.sleep(0.05)
    held.set()
    scheduled = await rig.wait_state(handle, "SCHEDULED", "FAILED")
    assert scheduled.state.value == "SCHEDULED", scheduled.reasons
    kinds = sorted(t.kind for t in rig.retail.tasks.values())
    assert kinds == ["labor"] * len(plan.stores) + ["signage"] * len(plan.stores)
    await cancel(handle)
    await handle.result()
    assert all(t.state == "CANCELLED" for t in rig.retail.tasks.values())


async def test_many_stores_make_tasks_1000_a_call_and_a_result_under_the_payload_limit(
    fast_promo_rig: FastRig,
) -> None:
    rig = fast_promo_rig
    stores = [f"S{n:04d}" for n in range(1, 1502)]
    plan = rig.plan(prefix="FAST-MANY-TASKS", stores=stores, vendor_deal_id=None)
    rig.retail.facts = ScriptedRetail.for_plan(plan).facts
    handle = await rig.launch(plan, load_policy(**NO_MONITOR))
    await approve_pending(rig, handle)
    scheduled = await rig.wait_state(handle, "SCHEDULED", "FAILED")
    assert scheduled.state.value == "SCHEDULED", scheduled.reasons
    sizes = sorted(len(r.store_ids) for r in rig.retail.task_requests)
    assert sizes == [501, 501, 1000, 1000]  # signage and labor, 1,000 stores a call at most
    assert len(rig.retail.tasks) == 2 * len(stores)
    assert len(scheduled.stores) == len(stores)  # the query lists every store
    await cancel(handle)
    result: PromotionStatus = await handle.result()
    # the result (the last payload in history) lists 1,000 stores and counts them all
    assert result.state.value == "CANCELLED"
    assert len(result.stores) == STORES_IN_RESULT and result.stores_total == len(stores)
    assert sum(result.store_gates.values()) == len(stores)
