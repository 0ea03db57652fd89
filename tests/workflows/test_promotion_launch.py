"""PromotionLaunch against the live backoffice (time-skipping server, explicit fast-forward)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from temporalio.testing import ActivityEnvironment

from activities.promotion import PromotionActivities
from cli import promotion as cli
from cli.common import CommandError
from cli.promotion_sign import signed
from domain.promotion.contract import Decision, LookupRequest, SignalledDecision
from domain.promotion.plan import Offer
from domain.promotion.status import PromotionStatus
from domain.publication.contract import SEND_BATCH
from tests.fixtures.promotion import PromoRig, load_policy
from workflows.promotion_launch import PromotionLaunch


async def test_happy_path_end_to_end_reverts_and_verifies_prices(promo_rig: PromoRig) -> None:
    rig = promo_rig
    plan = rig.plan(prefix="HAPPY", length=timedelta(days=1))
    # few monitor checks: every skipped timer costs real time on the test server
    handle = await rig.launch(plan, load_policy(monitor={"check_interval": "PT12H"}))
    waiting = await rig.wait_state(handle, "AWAITING_APPROVAL")
    assert [a.role for a in waiting.approvals] == ["category_manager", "finance"]
    assert waiting.awaiting_role == "category_manager"
    await rig.approve_all(handle, plan)
    scheduled = await rig.wait_state(handle, "SCHEDULED")
    assert all(c.state == "CONFIRMED" for c in scheduled.channels), scheduled.channels
    assert scheduled.funding.accrued == Decimal("420.00")
    desc = await handle.describe()
    assert desc.typed_search_attributes is not None

    await rig.env.fast_forward(handle)
    result: PromotionStatus = await handle.result()
    assert result.state.value == "ENDED", result.reasons
    assert {c.state for c in result.channels} == {"REVERTED"}
    assert any(e.action == "verified" and e.detail.startswith("pos") for e in result.audit)
    assert result.kpis is not None
    assert result.kpis.launch_accuracy_pct == Decimal("100.0")
    assert result.funding.claim_id and result.funding.reconciliation
    assert result.kpis.rebate_recovery_pct is not None

    async with rig.backoffice.adapters() as bo:
        # the regular price is back in every store (read back, not trusted)
        for store_id in plan.stores:
            prices = await bo.pos.store_prices(store_id, [i.item_id for i in plan.items])
            for p in prices:
                assert p.price == p.regular_price and p.promotion_id != plan.promotion_id
        master = await bo.erp.get_promotion(plan.promotion_id)
        assert master.status != "ACTIVE"
        # nothing left open in the ERP: the accrual is settled against the claim
        funding = await bo.erp.funding(plan.promotion_id)
        assert funding.accrued_amount == 0
        assert funding.settled_amount == result.funding.accrued
        assert result.funding.released == result.funding.accrued - funding.claimed_amount
    # nothing published twice: one price book effect per store, one per digital channel
    published = await rig.backoffice.ledger_count(
        system="pos", operation="publish_prices", subject_prefix=f"pos_price:{plan.promotion_id}:"
    )
    assert published == len(plan.stores)
    assert (
        await rig.backoffice.ledger_count(
            system="ecommerce", operation="publish", subject=f"ecommerce:{plan.promotion_id}"
        )
        == 1
    )


async def test_invalid_plan_is_rejected_with_every_reason(promo_rig: PromoRig) -> None:
    rig = promo_rig
    plan = rig.plan(
        prefix="BAD",
        items=[
            {"item_id": "I0012", "forecast_units_per_store": 10},
            {"item_id": "NOPE-1", "forecast_units_per_store": 10},
        ],
        stores=["S001", "S999"],
    )
    # past the starter's own check: the workflow is the authority and says every reason
    handle = await rig.launch(plan, precheck=False)
    result: PromotionStatus = await handle.result()
    assert result.state.value == "REJECTED"
    assert "items.1.item_id: unknown item NOPE-1" in result.reasons
    assert "stores: unknown store S999" in result.reasons
    assert result.approvals == []


async def test_rejected_by_an_approver(promo_rig: PromoRig) -> None:
    rig = promo_rig
    plan = rig.plan(prefix="REJ")
    handle = await rig.launch(plan)
    await rig.wait_state(handle, "AWAITING_APPROVAL")
    with pytest.raises(CommandError, match="a rejection needs a reason"):
        await cli.decide(
            rig.settings,
            plan.promotion_id,
            "alice",
            approve=False,
            client=rig.client,
            signer=rig.signer,
        )
    await cli.decide(
        rig.settings,
        plan.promotion_id,
        "alice",
        approve=False,
        comment="clashes with the flyer",
        client=rig.client,
        signer=rig.signer,
    )
    result: PromotionStatus = await handle.result()
    assert result.state.value == "REJECTED"
    assert result.reasons == ["rejected by alice (category_manager): clashes with the flyer"]
    assert result.funding.accrual_id is None
    assert not any(c.state != "PENDING" for c in result.channels)


async def test_unauthorized_approver_refused_by_validator_and_absent_from_history(
    promo_rig: PromoRig,
) -> None:
    rig = promo_rig
    plan = rig.plan(prefix="AUTH")
    handle = await rig.launch(plan)
    await rig.wait_state(handle, "AWAITING_APPROVAL")
    with pytest.raises(CommandError, match="mallory is not an approver"):
        await cli.decide(
            rig.settings,
            plan.promotion_id,
            "mallory",
            approve=True,
            client=rig.client,
            signer=rig.signer,
        )
    with pytest.raises(CommandError, match="needs a decision from category_manager, finance"):
        await cli.decide(
            rig.settings,
            plan.promotion_id,
            "lena",
            approve=True,
            client=rig.client,
            signer=rig.signer,
        )
    # a signal-only system gets the same checks; the refusal lands in the audit trail
    await handle.signal(PromotionLaunch.approval, SignalledDecision(approver="eve", approve=True))
    audited = await rig.wait_for(
        handle, lambda s: any(e.action == "decision refused" for e in s.audit), what="audit"
    )
    assert "eve is not an approver" in audited.audit[-1].detail
    # the same decision by signal from someone who holds the role is taken
    alice = await signed(handle, Decision(approver="alice"), rig.signer, load_policy())
    await handle.signal(
        PromotionLaunch.approval,
        SignalledDecision(approver="alice", approve=True, token=alice.token),
    )
    signalled = await rig.wait_for(
        handle, lambda s: s.approvals[0].state.value == "APPROVED", what="signalled approval"
    )
    assert signalled.awaiting_role == "finance"
    assert any(e.action == "approved" and "via signal" in e.detail for e in signalled.audit)
    # a duplicate decision is idempotent
    again = await cli.decide(
        rig.settings, plan.promotion_id, "alice", approve=True, client=rig.client, signer=rig.signer
    )
    assert "nothing changed" in again.message

    history = await handle.fetch_history()
    text = json.dumps(history.to_json_dict())
    assert "mallory" not in text and "lena" not in text
    await cli.cancel(
        rig.settings, plan.promotion_id, "alice", "test over", client=rig.client, signer=rig.signer
    )
    result: PromotionStatus = await handle.result()
    assert result.state.value == "CANCELLED"


async def test_approval_deadline_reminder_then_escalation(promo_rig: PromoRig) -> None:
    rig = promo_rig
    plan = rig.plan(prefix="ESC", start_in=timedelta(days=10))
    handle = await rig.launch(plan)
    await rig.wait_state(handle, "AWAITING_APPROVAL")
    await rig.env.fast_forward(handle, timedelta(hours=13))
    reminded = await rig.wait_for(handle, lambda s: s.approvals[0].reminded, what="the reminder")
    assert reminded.approvals[0].state.value == "PENDING"
    await rig.env.fast_forward(handle, timedelta(hours=12))
    escalated = await rig.wait_for(
        handle, lambda s: s.awaiting_role == "merchandising_director", what="escalation"
    )
    assert [a.role for a in escalated.approvals] == [
        "category_manager",
        "merchandising_director",
        "finance",
    ]
    assert escalated.approvals[0].state.value == "ESCALATED"
    assert any(e.action == "escalated" for e in escalated.audit)
    # the escalated role is closed to its original approvers, open to the director
    with pytest.raises(CommandError, match="escalated to merchandising_director"):
        await cli.decide(
            rig.settings,
            plan.promotion_id,
            "alice",
            approve=True,
            client=rig.client,
            signer=rig.signer,
        )
    await cli.decide(
        rig.settings, plan.promotion_id, "dana", approve=True, client=rig.client, signer=rig.signer
    )
    await cli.decide(
        rig.settings, plan.promotion_id, "frank", approve=True, client=rig.client, signer=rig.signer
    )
    await rig.wait_state(handle, "SCHEDULED")
    await cli.cancel(
        rig.settings, plan.promotion_id, "dana", "test over", client=rig.client, signer=rig.signer
    )
    assert (await handle.result()).state.value == "CANCELLED"


async def test_store_held_then_overridden(promo_rig: PromoRig) -> None:
    rig = promo_rig
    # S010 has too little of I0156 for a class B store and no rebalancing is allowed
    plan = rig.plan(prefix="HELD", stores=["S001", "S004", "S010"])
    handle = await rig.launch(plan, load_policy(rebalance=None))
    await rig.approve_all(handle, plan)
    scheduled = await rig.wait_state(handle, "SCHEDULED")
    held = {s.store_id: s for s in scheduled.stores}
    assert held["S010"].gate.value == "HELD" and not held["S010"].published
    assert held["S001"].published and held["S004"].published
    # what an override is signed over: the one store it names, at its coverage, no store list
    view = await handle.query(PromotionLaunch.decision_view, "S010")
    assert view.store == held["S010"] and view.version == scheduled.version
    assert view.lines == scheduled.lines and view.approvals == scheduled.approvals
    assert (await handle.query(PromotionLaunch.decision_view, "")).store is None
    assert (await handle.query(PromotionLaunch.decision_view, "S999")).store is None
    with pytest.raises(CommandError, match="holds none of the roles"):
        await cli.override_gate(
            rig.settings,
            plan.promotion_id,
            "S010",
            "alice",
            "looks fine",
            client=rig.client,
            signer=rig.signer,
        )
    with pytest.raises(CommandError, match="not held"):
        await cli.override_gate(
            rig.settings,
            plan.promotion_id,
            "S004",
            "olga",
            "why not",
            client=rig.client,
            signer=rig.signer,
        )
    answer = await cli.override_gate(
        rig.settings,
        plan.promotion_id,
        "S010",
        "olga",
        "delivery due tomorrow",
        client=rig.client,
        signer=rig.signer,
    )
    assert "will be published" in answer.message
    released = await rig.wait_for(
        handle,
        lambda s: any(st.store_id == "S010" and st.published for st in s.stores),
        what="S010 published",
    )
    s010 = next(s for s in released.stores if s.store_id == "S010")
    assert s010.gate.value == "READY" and s010.overridden_by == "olga"
    assert any(e.action == "gate overridden" for e in released.audit)
    await cli.cancel(
        rig.settings, plan.promotion_id, "alice", "test over", client=rig.client, signer=rig.signer
    )
    assert (await handle.result()).state.value == "CANCELLED"


async def test_rebalancing_child_raises_coverage(promo_rig: PromoRig) -> None:
    rig = promo_rig
    plan = rig.plan(prefix="REBAL", stores=["S001", "S010"])
    handle = await rig.launch(plan)
    await rig.approve_all(handle, plan)
    scheduled = await rig.wait_state(handle, "SCHEDULED")
    s010 = next(s for s in scheduled.stores if s.store_id == "S010")
    assert s010.gate.value == "READY", (s010.note, scheduled.rebalance)
    assert s010.coverage is not None and s010.coverage >= Decimal("1.0")
    assert scheduled.rebalance.startswith(f"rebalance-{plan.promotion_id}-preposition")
    assert "completed" in scheduled.rebalance
    await cli.cancel(
        rig.settings, plan.promotion_id, "alice", "test over", client=rig.client, signer=rig.signer
    )
    assert (await handle.result()).state.value == "CANCELLED"


async def test_price_change_after_approval_reopens_and_republishes(promo_rig: PromoRig) -> None:
    rig = promo_rig
    plan = rig.plan(prefix="PRICE")
    handle = await rig.launch(plan)
    await rig.approve_all(handle, plan)
    await rig.wait_state(handle, "SCHEDULED")
    with pytest.raises(CommandError, match="margin floor"):
        await cli.change_price(
            rig.settings,
            plan.promotion_id,
            "ana",
            Offer.model_validate({"type": "percent_off", "percent": "70"}),
            "too deep",
            client=rig.client,
            signer=rig.signer,
        )
    answer = await cli.change_price(
        rig.settings,
        plan.promotion_id,
        "ana",
        Offer.model_validate({"type": "percent_off", "percent": "35"}),
        "competitor matched our price",
        client=rig.client,
        signer=rig.signer,
    )
    assert "re-opens category_manager" in answer.message
    reopened = await rig.wait_state(handle, "AWAITING_APPROVAL")
    assert reopened.awaiting_role == "category_manager" and reopened.version == 2
    await cli.decide(
        rig.settings, plan.promotion_id, "alice", approve=True, client=rig.client, signer=rig.signer
    )
    republished = await rig.wait_for(
        handle,
        lambda s: s.state.value == "SCHEDULED" and all(c.version == 2 for c in s.channels),
        what="republished at version 2",
    )
    assert all(c.state == "CONFIRMED" for c in republished.channels)
    async with rig.backoffice.adapters() as bo:
        entries = await bo.pos.promotion_prices(plan.promotion_id)
        # 35 % off each store's zone shelf price (the chain's 6.99 -> 4.54 in zone Z2)
        zone = {st.store_id: st.price_zone for st in await bo.erp.list_stores()}
        shelf = {z.zone_id: z.shelf_price for z in await bo.erp.zone_prices(["I0012"])}
        assert shelf["Z2"] == Decimal("6.99")
        for e in entries:
            [price] = [p.price for p in e.prices if p.item_id == "I0012"]
            assert price == (shelf[zone[e.store_id]] * Decimal("0.65")).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP
            ), e.store_id
    await cli.cancel(
        rig.settings, plan.promotion_id, "alice", "test over", client=rig.client, signer=rig.signer
    )
    assert (await handle.result()).state.value == "CANCELLED"


async def test_cancel_while_publishing_retracts_everything(promo_rig: PromoRig) -> None:
    rig = promo_rig
    plan = rig.plan(prefix="CANCEL")
    # e-commerce confirms late, so the launch sits in PUBLISHING while we cancel
    async with rig.backoffice.fault("ecommerce", "events", late_seconds=3):
        handle = await rig.launch(plan)
        await rig.approve_all(handle, plan)
        await rig.wait_state(handle, "PUBLISHING")
        with pytest.raises(CommandError, match="holds none of the roles"):
            await cli.cancel(
                rig.settings, plan.promotion_id, "olga", "no", client=rig.client, signer=rig.signer
            )
        await cli.cancel(
            rig.settings,
            plan.promotion_id,
            "alice",
            "supplier pulled the deal",
            client=rig.client,
            signer=rig.signer,
        )
        result: PromotionStatus = await handle.result()
    assert result.state.value == "CANCELLED"
    assert {c.state for c in result.channels} == {"RETRACTED"}
    assert result.funding.reversed == result.funding.accrued > 0
    assert not any(s.published for s in result.stores)
    async with rig.backoffice.adapters() as bo:
        entries = await bo.pos.promotion_prices(plan.promotion_id)
        assert entries and {e.status for e in entries} == {"RETRACTED"}
        assert (await bo.ecommerce.read_back(plan.promotion_id)).status == "RETRACTED"
        assert (await bo.marketplace.read_back(plan.promotion_id)).status == "RETRACTED"
        assert (await bo.erp.get_promotion(plan.promotion_id)).status != "ACTIVE"
        tasks = await bo.tasks.list(promotion_id=plan.promotion_id)
        assert tasks and {t.status for t in tasks} == {"CANCELLED"}
    prefix = f"pos_price:{plan.promotion_id}:"
    assert await rig.backoffice.ledger_count(
        system="pos", operation="publish_prices", subject_prefix=prefix
    ) == len(plan.stores)
    assert await rig.backoffice.ledger_count(
        system="pos", operation="retract_prices", subject_prefix=f"pos_retract:{plan.promotion_id}:"
    ) == len(plan.stores)


async def test_cancelling_the_workflow_from_temporal_runs_the_same_rollback(
    promo_rig: PromoRig,
) -> None:
    """Operations cancel from the Temporal UI: the saga still retracts and reverses."""
    rig = promo_rig
    plan = rig.plan(prefix="UICANCEL")
    handle = await rig.launch(plan)
    await rig.approve_all(handle, plan)
    await rig.wait_state(handle, "SCHEDULED")
    await handle.cancel()
    result: PromotionStatus = await handle.result()
    assert result.state.value == "CANCELLED"
    assert any(e.action == "cancel requested" and e.actor == "temporal" for e in result.audit)
    assert {c.state for c in result.channels} == {"RETRACTED"}
    assert result.funding.reversed == result.funding.accrued > 0
    async with rig.backoffice.adapters() as bo:
        entries = await bo.pos.promotion_prices(plan.promotion_id)
        assert entries and {e.status for e in entries} == {"RETRACTED"}
        assert (await bo.erp.get_promotion(plan.promotion_id)).status != "ACTIVE"
        tasks = await bo.tasks.list(promotion_id=plan.promotion_id)
        assert tasks and {t.status for t in tasks} == {"CANCELLED"}


async def test_duplicate_start_is_refused(promo_rig: PromoRig) -> None:
    rig = promo_rig
    plan = rig.plan(prefix="DUP")
    handle = await rig.launch(plan)
    with pytest.raises(CommandError, match=f"promotion {plan.promotion_id} already runs"):
        await rig.launch(plan)
    await rig.wait_state(handle, "AWAITING_APPROVAL")
    await cli.cancel(
        rig.settings, plan.promotion_id, "alice", "test over", client=rig.client, signer=rig.signer
    )
    assert (await handle.result()).state.value == "CANCELLED"
    with pytest.raises(CommandError, match="already ran"):
        await rig.launch(plan)


async def test_permanent_channel_failure_compensates_and_ends_failed(promo_rig: PromoRig) -> None:
    rig = promo_rig
    plan = rig.plan(prefix="FAIL")
    async with rig.backoffice.fault("marketplace", "publish", refusal_rate=1.0):
        handle = await rig.launch(plan)
        await rig.approve_all(handle, plan)
        result: PromotionStatus = await handle.result()
    assert result.state.value == "FAILED"
    assert any("marketplace could not be published" in r for r in result.reasons), result.reasons
    assert result.funding.reversed == result.funding.accrued > 0
    assert next(c for c in result.channels if c.channel == "pos").state == "RETRACTED"
    assert [e.action for e in result.audit][-1] == "rollback finished"
    async with rig.backoffice.adapters() as bo:
        entries = await bo.pos.promotion_prices(plan.promotion_id)
        assert {e.status for e in entries} == {"RETRACTED"}


CENTRAL_STORES = ["S011", "S020", "S026"]  # the sample plan's stores in region "central"


async def test_pos_refusing_one_region_holds_its_stores_within_policy(promo_rig: PromoRig) -> None:
    rig = promo_rig
    plan = rig.plan(prefix="REGION")
    policy = load_policy()
    policy = policy.model_copy(
        update={
            "publication": policy.publication.model_copy(
                update={"on_store_failure": "hold_store", "max_failed_store_pct": Decimal(50)}
            )
        }
    )
    async with rig.backoffice.fault(
        "pos", "publish_prices", refusal_rate=1.0, stores=CENTRAL_STORES
    ):
        handle = await rig.launch(plan, policy)
        await rig.approve_all(handle, plan)
        scheduled = await rig.wait_state(handle, "SCHEDULED")
    gates = {s.store_id: s for s in scheduled.stores}
    for store_id in CENTRAL_STORES:
        assert gates[store_id].gate.value == "HELD" and not gates[store_id].published
    others = [s for s in plan.stores if s not in CENTRAL_STORES]
    assert all(gates[s].published for s in others)
    assert any(e.action == "stores held" for e in scheduled.audit)
    async with rig.backoffice.adapters() as bo:
        live = {e.store_id for e in await bo.pos.promotion_prices(plan.promotion_id)}
    assert live == set(others)
    await cli.cancel(
        rig.settings, plan.promotion_id, "alice", "test over", client=rig.client, signer=rig.signer
    )
    assert (await handle.result()).state.value == "CANCELLED"


async def test_pos_refusing_one_region_beyond_policy_fails_and_rolls_back(
    promo_rig: PromoRig,
) -> None:
    rig = promo_rig
    plan = rig.plan(prefix="REGIONFAIL")
    async with rig.backoffice.fault(
        "pos", "publish_prices", refusal_rate=1.0, stores=CENTRAL_STORES
    ):
        handle = await rig.launch(plan)  # the example policy holds at most 10% of stores
        await rig.approve_all(handle, plan)
        result: PromotionStatus = await handle.result()
    assert result.state.value == "FAILED"
    assert any("could not be published to pos" in r for r in result.reasons), result.reasons
    assert result.funding.reversed == result.funding.accrued > 0
    async with rig.backoffice.adapters() as bo:
        entries = await bo.pos.promotion_prices(plan.promotion_id)
    assert entries and {e.status for e in entries} == {"RETRACTED"}


async def test_window_in_store_time_goes_live_per_time_zone(promo_rig: PromoRig) -> None:
    rig = promo_rig
    plan = rig.plan(prefix="TZ", stores=["S001", "S011", "S021"], window_in_store_time=True)
    handle = await rig.launch(plan)
    await rig.approve_all(handle, plan)
    scheduled = await rig.wait_state(handle, "SCHEDULED")
    pos = next(c for c in scheduled.channels if c.channel == "pos")
    assert pos.confirmed == 3 and pos.state == "CONFIRMED"
    async with rig.backoffice.adapters() as bo:
        entries = {e.store_id: e for e in await bo.pos.promotion_prices(plan.promotion_id)}
    # Los Angeles goes live three hours after New York; the earliest store sets go-live
    assert entries["S021"].start - entries["S001"].start == timedelta(hours=3)
    assert scheduled.starts_at == entries["S001"].start
    # the three time zones' POS requests and the other channels each went out from the
    # launch itself (one call covers each request), all in one round: no batch child, and
    # every send scheduled before the first of them completed
    sends: set[int] = set()
    first_done, children = None, 0
    async for event in handle.fetch_history_events():
        children += event.HasField("start_child_workflow_execution_initiated_event_attributes")
        if event.HasField("activity_task_scheduled_event_attributes"):
            if event.activity_task_scheduled_event_attributes.activity_type.name == SEND_BATCH.name:
                sends.add(event.event_id)
        elif event.HasField("activity_task_completed_event_attributes"):
            done = event.activity_task_completed_event_attributes.scheduled_event_id
            if done in sends and first_done is None:
                first_done = event.event_id
    assert children == 0 and first_done is not None
    assert len([at for at in sends if at < first_done]) == len(plan.channels) + 2  # 3 POS
    await cli.cancel(
        rig.settings, plan.promotion_id, "alice", "test over", client=rig.client, signer=rig.signer
    )
    assert (await handle.result()).state.value == "CANCELLED"


async def test_overlapping_promotion_on_the_same_item_and_store_is_rejected(
    promo_rig: PromoRig,
) -> None:
    rig = promo_rig
    # a window 40 days out that no other test uses: the ERP promotion master is shared
    first = rig.plan(prefix="FIRST", start_in=timedelta(days=40), stores=["S001", "S004"])
    handle = await rig.launch(first)
    try:
        await rig.approve_all(handle, first)
        await rig.wait_state(handle, "SCHEDULED")
        async with rig.backoffice.adapters() as bo:
            assert (await bo.erp.get_promotion(first.promotion_id)).status == "ACTIVE"

        # a republish looks the plan up again: it never conflicts with its own master
        activities = PromotionActivities(rig.settings.backoffice_url)
        try:
            facts = await ActivityEnvironment().run(
                activities.lookup_facts, LookupRequest(plan=first)
            )
        finally:
            await activities.aclose()
        assert first.promotion_id not in {p.promotion_id for p in facts.other_promotions}

        # same items, S004 shared, the window overlapping the first one's second day
        clash = rig.plan(prefix="CLASH", start_in=timedelta(days=41), stores=["S004", "S011"])
        rejected: PromotionStatus = await (await rig.launch(clash)).result()
        assert rejected.state.value == "REJECTED"
        [reason] = rejected.reasons
        assert reason.startswith(
            f"items: conflicts with promotion {first.promotion_id} ({first.name}) on I0012, "
            "I0060, I0156 in 1 store(s) (S004) on "
        )
        assert reason.endswith("(this plan is exclusive)")
        assert rejected.approvals == []

        # the same window in other stores, and the same stores after the first one ends
        elsewhere = rig.plan(prefix="ELSEWHERE", start_in=timedelta(days=41), stores=["S011"])
        later = rig.plan(
            prefix="LATER", start_in=timedelta(days=42, hours=1), stores=["S001", "S004"]
        )
        for plan in (elsewhere, later):
            other = await rig.launch(plan)
            waiting = await rig.wait_state(other, "AWAITING_APPROVAL", "REJECTED")
            assert waiting.state.value == "AWAITING_APPROVAL", waiting.reasons
            await cli.cancel(
                rig.settings,
                plan.promotion_id,
                "alice",
                "test over",
                client=rig.client,
                signer=rig.signer,
            )
            assert (await other.result()).state.value == "CANCELLED"
    finally:
        await cli.cancel(
            rig.settings,
            first.promotion_id,
            "alice",
            "test over",
            client=rig.client,
            signer=rig.signer,
        )
    assert (await handle.result()).state.value == "CANCELLED"
    async with rig.backoffice.adapters() as bo:
        assert (await bo.erp.get_promotion(first.promotion_id)).status != "ACTIVE"
