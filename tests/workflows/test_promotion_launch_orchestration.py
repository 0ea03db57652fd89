"""PromotionLaunch's fast orchestration tier: every system scripted (`fakes.promotion`),
the worker's own registry, time skipped explicitly per workflow.

Covers the branches the live tier reaches slowly or not at all: a price change before and
after approval, a cancel in every state, a rejection at each tier, escalation and expiry,
each failed-store policy. Each test counts the effects the saga left behind."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from cli.promotion_sign import signed
from common.search_attributes import AWAITING_ROLE
from domain.promotion.contract import (
    DECISION_REFUSED,
    READ_COVERAGE,
    VERIFY_PRICES,
    CancelRequest,
    Decision,
    PriceChange,
)
from domain.promotion.plan import Offer
from domain.promotion.status import PromotionState, PromotionStatus
from domain.publication.contract import SEND_BATCH
from fakes.identity import INBOX, TEST_TTL
from tests.fixtures.promotion import FastRig, approver_for, load_policy
from tests.fixtures.temporal import send_update
from workflows.promotion_launch import PromotionLaunch

POLICY = load_policy()
SIGNER = INBOX.signer
"""The fast tier's policy trusts the scripted issuer: every decision here is signed by it."""
FEW_CHECKS = {"monitor": {"check_interval": "P1D"}, "tasks": []}
"""Few timers where a test skips through the live window (every skipped timer costs real
time): one monitor check, no store tasks (their SLAs have tests of their own)."""


async def decide(
    handle: WorkflowHandle[Any, Any], role: str, *, approve: bool = True, comment: str = ""
) -> None:
    update = PromotionLaunch.approve if approve else PromotionLaunch.reject
    decision = Decision(approver=approver_for(POLICY, role), role=role, comment=comment)
    await send_update(
        handle,
        update,
        await signed(handle, decision, SIGNER, POLICY, approve=approve, ttl=TEST_TTL),
    )


async def approve_pending(rig: FastRig, handle: WorkflowHandle[Any, Any]) -> PromotionStatus:
    status = await rig.wait_state(handle, "AWAITING_APPROVAL")
    for approval in status.approvals:
        if approval.state.value == "PENDING":
            await decide(handle, approval.role)
    return status


async def cancel(handle: WorkflowHandle[Any, Any], reason: str = "test over") -> None:
    request = CancelRequest(requested_by=approver_for(POLICY, "category_manager"), reason=reason)
    await send_update(
        handle, PromotionLaunch.cancel, await signed(handle, request, SIGNER, POLICY, ttl=TEST_TTL)
    )


def price_change(percent: str, reason: str) -> PriceChange:
    """A new percent-off offer from the pricing analyst."""
    return PriceChange(
        requested_by=approver_for(POLICY, "pricing_analyst"),
        offer=Offer.model_validate({"type": "percent_off", "percent": percent}),
        reason=reason,
    )


def assert_rolled_back(rig: FastRig, result: PromotionStatus) -> None:
    """Nothing live anywhere, every accrual reversed, no task left open."""
    assert all(not targets for targets in rig.retail.live.values()), rig.retail.live
    assert rig.retail.reversed == rig.retail.accrued
    assert rig.retail.open_accruals() == {}
    assert all(t.state not in ("OPEN", "LATE") for t in rig.retail.tasks.values())
    assert result.funding.reversed == result.funding.accrued


async def test_an_approved_launch_goes_live_ends_and_claims_on_units_sold(
    fast_promo_rig: FastRig,
) -> None:
    rig = fast_promo_rig
    rig.retail.units_sold = {"I0012": 40, "I0060": 25, "I0156": 5}
    plan = rig.plan(prefix="FAST-HAPPY", length=timedelta(days=1))
    handle = await rig.launch(plan, load_policy(**FEW_CHECKS))
    waiting = await approve_pending(rig, handle)
    assert [a.role for a in waiting.approvals] == ["category_manager", "finance"]
    scheduled = await rig.wait_state(handle, "SCHEDULED")
    assert all(ch.state == "CONFIRMED" for ch in scheduled.channels)
    assert rig.retail.accrued == {f"ACR-{plan.promotion_id}": scheduled.funding.accrued}

    await rig.env.fast_forward(handle)
    result: PromotionStatus = await handle.result()
    assert result.state is PromotionState.ENDED, result.reasons
    assert {ch.state for ch in result.channels} == {"REVERTED"}
    assert all(not targets for targets in rig.retail.live.values())
    assert result.funding.claimed == Decimal("105.00")  # 70 units x 1.50
    assert rig.retail.claimed == {plan.promotion_id: Decimal("105.00")}
    # the accrual is settled: the claim consumed, the rest released, nothing left open
    assert rig.retail.open_accruals() == {}
    assert result.funding.settled
    assert result.funding.released == result.funding.accrued - Decimal("105.00")
    assert result.kpis is not None and result.kpis.rebate_recovery_pct == Decimal("100.0")
    assert rig.retail.called(VERIFY_PRICES.name) == len(plan.channels)


async def test_a_promotion_that_sells_nothing_releases_its_whole_accrual(
    fast_promo_rig: FastRig,
) -> None:
    rig = fast_promo_rig
    plan = rig.plan(prefix="FAST-NOTHING-SOLD", length=timedelta(days=1))
    handle = await rig.launch(plan, load_policy(**FEW_CHECKS))
    await approve_pending(rig, handle)
    await rig.wait_state(handle, "SCHEDULED")
    await rig.env.fast_forward(handle)
    result: PromotionStatus = await handle.result()
    assert result.state is PromotionState.ENDED, result.reasons
    assert result.funding.claimed == 0 and result.funding.released == result.funding.accrued > 0
    assert rig.retail.open_accruals() == {}
    assert result.kpis is not None and result.kpis.rebate_recovery_pct is None
    assert dict(result.kpis.rows())["rebate recovery"].startswith("n/a (nothing owed")


async def test_a_price_change_before_approval_publishes_only_the_new_version(
    fast_promo_rig: FastRig,
) -> None:
    rig = fast_promo_rig
    plan = rig.plan(prefix="FAST-PRICE-EARLY")
    handle = await rig.launch(plan)
    await rig.wait_state(handle, "AWAITING_APPROVAL")
    change = price_change("20", "vendor asked for a shallower cut")
    answer = await send_update(
        handle,
        PromotionLaunch.change_price,
        await signed(handle, change, SIGNER, POLICY, ttl=TEST_TTL),
    )
    assert "price version 2" in answer.message
    status = await approve_pending(rig, handle)
    assert status.version == 2
    await rig.wait_state(handle, "SCHEDULED")
    assert {version for *_, version in rig.retail.sends} == {2}
    await cancel(handle)
    assert (await handle.result()).state is PromotionState.CANCELLED


async def test_a_material_price_change_after_approval_reopens_and_republishes(
    fast_promo_rig: FastRig,
) -> None:
    rig = fast_promo_rig
    plan = rig.plan(prefix="FAST-PRICE-LATE")
    handle = await rig.launch(plan)
    await approve_pending(rig, handle)
    await rig.wait_state(handle, "SCHEDULED")
    change = price_change("35", "match a competitor")
    answer = await send_update(
        handle,
        PromotionLaunch.change_price,
        await signed(handle, change, SIGNER, POLICY, ttl=TEST_TTL),
    )
    assert "re-opens category_manager" in answer.message
    reopened = await rig.wait_for(
        handle, lambda s: s.awaiting_role == "category_manager", what="re-approval"
    )
    assert reopened.state is PromotionState.AWAITING_APPROVAL
    await decide(handle, "category_manager")
    republished = await rig.wait_for(
        handle,
        lambda s: s.state is PromotionState.SCHEDULED and s.version == 2,
        what="republished at version 2",
    )
    assert any(e.action == "republished" for e in republished.audit)
    assert {(ch, target) for ch, _, target, v in rig.retail.sends if v == 2} == {
        (ch, target) for ch, _, target, v in rig.retail.sends if v == 1
    }
    await cancel(handle)
    result = await handle.result()
    assert result.state is PromotionState.CANCELLED
    assert_rolled_back(rig, result)


async def reject_a_price_change(rig: FastRig, handle: WorkflowHandle[Any, Any]) -> None:
    """Approve, wait for SCHEDULED, change the price by 5 points, reject the re-approval."""
    await approve_pending(rig, handle)
    await rig.wait_state(handle, "SCHEDULED")
    change = price_change("35", "match a competitor")
    await send_update(
        handle,
        PromotionLaunch.change_price,
        await signed(handle, change, SIGNER, POLICY, ttl=TEST_TTL),
    )
    await rig.wait_for(handle, lambda s: s.awaiting_role == "category_manager", what="re-approval")
    await decide(handle, "category_manager", approve=False, comment="too deep")


async def test_a_rejected_price_change_keeps_the_approved_version_in_force(
    fast_promo_rig: FastRig,
) -> None:
    rig = fast_promo_rig
    handle = await rig.launch(rig.plan(prefix="FAST-PRICE-KEPT"))
    await reject_a_price_change(rig, handle)
    kept = await rig.wait_for(
        handle,
        lambda s: s.state is PromotionState.SCHEDULED and s.version == 1,
        what="v1 back in force",
    )
    assert kept.offer == "30% off" and kept.reasons == []
    assert all(a.state.value == "APPROVED" for a in kept.approvals)
    assert {v for *_, v in rig.retail.sends} == {1}  # the rejected v2 was never published
    rejected = next(e for e in kept.audit if e.action == "price change rejected")
    assert "v2 not applied" in rejected.detail and "v1 stays in force" in rejected.detail
    await cancel(handle)
    assert (await handle.result()).state is PromotionState.CANCELLED


async def test_a_rejected_price_change_ends_the_promotion_when_the_policy_says_so(
    fast_promo_rig: FastRig,
) -> None:
    rig = fast_promo_rig
    policy = load_policy(on_rejected_price_change="end_promotion")
    handle = await rig.launch(rig.plan(prefix="FAST-PRICE-ENDS"), policy)
    await reject_a_price_change(rig, handle)
    result = await handle.result()
    assert result.state is PromotionState.REJECTED
    assert result.offer == "30% off" and result.version == 1  # the offer last approved
    assert any("price change to v2 was rejected" in r for r in result.reasons)
    assert_rolled_back(rig, result)


@pytest.mark.parametrize("role", ["category_manager", "finance"])
async def test_a_rejection_at_each_tier_ends_rejected_with_no_effect(
    fast_promo_rig: FastRig, role: str
) -> None:
    rig = fast_promo_rig
    handle = await rig.launch(rig.plan(prefix="FAST-REJECT"))
    status = await rig.wait_state(handle, "AWAITING_APPROVAL")
    for approval in status.approvals:
        if approval.role == role:
            break
        await decide(handle, approval.role)
    await decide(handle, role, approve=False, comment="not this week")
    result = await handle.result()
    assert result.state is PromotionState.REJECTED
    assert any(f"({role}): not this week" in r for r in result.reasons)
    assert rig.retail.accrued == {} and rig.retail.sends == []


async def test_a_rejection_without_a_reason_is_refused_before_history(
    fast_promo_rig: FastRig,
) -> None:
    rig = fast_promo_rig
    handle = await rig.launch(rig.plan(prefix="FAST-REJECT-WORDS"))
    await rig.wait_state(handle, "AWAITING_APPROVAL")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await decide(handle, "category_manager", approve=False)
    assert "a rejection needs a reason" in str(refused.value.cause)
    await cancel(handle)
    assert (await handle.result()).state is PromotionState.CANCELLED


async def test_a_missed_deadline_escalates_and_the_last_one_expires(
    fast_promo_rig: FastRig,
) -> None:
    rig = fast_promo_rig
    handle = await rig.launch(rig.plan(prefix="FAST-ESCALATE", start_in=timedelta(days=10)))
    await rig.wait_state(handle, "AWAITING_APPROVAL")
    await rig.env.fast_forward(handle, timedelta(days=1, hours=1))
    escalated = await rig.wait_for(
        handle, lambda s: s.awaiting_role == "merchandising_director", what="escalation"
    )
    assert escalated.approvals[0].state.value == "ESCALATED"
    assert any(a.audience == "merchandising_director" for a in rig.retail.alerts)
    await decide(handle, "merchandising_director")
    await rig.wait_for(handle, lambda s: s.awaiting_role == "finance", what="finance's turn")
    # finance (2 days) escalates to the finance director (1 day), who escalates to nobody
    await rig.env.fast_forward(handle, timedelta(days=2, hours=1))
    await rig.wait_for(
        handle, lambda s: s.awaiting_role == "finance_director", what="second escalation"
    )
    await rig.env.fast_forward(handle, timedelta(days=1, hours=1))
    result = await handle.result()
    assert result.state is PromotionState.REJECTED
    assert any("nobody to escalate to" in r for r in result.reasons)
    assert rig.retail.accrued == {}


@pytest.mark.parametrize(
    "state",
    ["AWAITING_APPROVAL", "PREPARING", "PUBLISHING", "SCHEDULED", "LIVE"],
)
async def test_a_cancel_in_any_state_undoes_everything_done_so_far(
    fast_promo_rig: FastRig, state: str
) -> None:
    rig = fast_promo_rig
    blocking = {"PREPARING": READ_COVERAGE.name, "PUBLISHING": SEND_BATCH.name}.get(state)
    held = rig.retail.hold(blocking) if blocking else None
    plan = rig.plan(prefix=f"FAST-CANCEL-{state[:4]}", length=timedelta(days=1))
    handle = await rig.launch(plan, load_policy(**FEW_CHECKS))
    if state != "AWAITING_APPROVAL":
        await approve_pending(rig, handle)
    if state == "LIVE":
        await rig.wait_state(handle, "SCHEDULED")
        await rig.env.fast_forward(handle, timedelta(days=3, hours=1))
    await rig.wait_state(handle, state)
    await cancel(handle, f"cancelled while {state}")
    if held is not None:
        held.set()
    result = await handle.result()
    assert result.state is PromotionState.CANCELLED
    assert any(e.action == "rollback finished" for e in result.audit) == (
        state != "AWAITING_APPROVAL"
    )
    assert_rolled_back(rig, result)
    if state == "AWAITING_APPROVAL":
        assert rig.retail.accrued == {} and rig.retail.sends == []


@pytest.mark.parametrize(
    ("publication", "final"),
    [
        ({"on_store_failure": "hold_store", "max_failed_store_pct": "20"}, "SCHEDULED"),
        ({"on_store_failure": "hold_store", "max_failed_store_pct": "10"}, "FAILED"),
        ({"on_store_failure": "fail_launch"}, "FAILED"),
    ],
)
async def test_a_store_that_cannot_be_published_is_held_or_fails_the_launch_by_policy(
    fast_promo_rig: FastRig, publication: dict[str, str], final: str
) -> None:
    rig = fast_promo_rig
    plan = rig.plan(prefix="FAST-STORE-FAIL")
    refused = plan.stores[2]
    rig.retail.fail_targets["pos"] = {refused}
    handle = await rig.launch(plan, load_policy(publication=publication))
    await approve_pending(rig, handle)
    status = await rig.wait_state(handle, final)
    if final == "SCHEDULED":
        store = next(st for st in status.stores if st.store_id == refused)
        assert store.gate.value == "HELD" and "pos publication failed" in store.note
        assert rig.retail.live["pos"] == set(plan.stores) - {refused}
        await cancel(handle)
        status = await handle.result()
    else:
        assert any("could not be published to pos" in r for r in status.reasons)
    assert_rolled_back(rig, status)


async def test_a_later_role_is_refused_until_its_turn_and_the_awaited_role_is_listed(
    fast_promo_rig: FastRig,
) -> None:
    rig = fast_promo_rig
    handle = await rig.launch(rig.plan(prefix="FAST-ORDER"))
    await rig.wait_state(handle, "AWAITING_APPROVAL")
    with pytest.raises(WorkflowUpdateFailedError) as early:
        await decide(handle, "finance")
    refusal = early.value.cause
    assert isinstance(refusal, ApplicationError)
    assert refusal.type == DECISION_REFUSED and refusal.non_retryable
    assert "finance decides after category_manager" in refusal.message

    async def awaited() -> str | None:
        return (await handle.describe()).typed_search_attributes.get(AWAITING_ROLE)

    assert await awaited() == "category_manager"
    await decide(handle, "category_manager")
    await rig.wait_for(handle, lambda s: s.awaiting_role == "finance", what="finance's turn")
    assert await awaited() == "finance"
    await cancel(handle)
    assert (await handle.result()).state is PromotionState.CANCELLED


async def test_an_approver_who_changes_their_mind_rejects_and_the_change_is_recorded(
    fast_promo_rig: FastRig,
) -> None:
    rig = fast_promo_rig
    handle = await rig.launch(rig.plan(prefix="FAST-MIND"))
    await rig.wait_state(handle, "AWAITING_APPROVAL")
    await decide(handle, "category_manager")
    await rig.wait_for(handle, lambda s: s.awaiting_role == "finance", what="finance's turn")
    await decide(handle, "category_manager", approve=False, comment="vendor pulled the deal")
    result = await handle.result()
    assert result.state is PromotionState.REJECTED
    change = [e for e in result.audit if e.action == "rejected"]
    assert change and "a change of mind after approving" in change[-1].detail
    assert rig.retail.accrued == {} and rig.retail.sends == []


async def test_an_event_with_an_offer_line_per_item_launches_each_items_own_price(
    fast_promo_rig: FastRig,
) -> None:
    rig = fast_promo_rig
    offers = [
        {"type": "percent_off", "percent": "20"},
        {"type": "amount_off", "amount": "1.00"},
        {"type": "fixed_price", "price": "8.50"},
    ]
    sample = rig.plan(prefix="FAST-LINES")
    items = [
        {"item_id": i.item_id, "forecast_units_per_store": 5, "offer": offer}
        for i, offer in zip(sample.items, offers, strict=True)
    ]
    plan = rig.plan(prefix="FAST-LINES", items=items)
    handle = await rig.launch(plan)
    await approve_pending(rig, handle)
    scheduled = await rig.wait_state(handle, "SCHEDULED")
    assert [(line.promo_price, line.offer) for line in scheduled.lines] == [
        (Decimal("8.00"), "20% off"),
        (Decimal("9.00"), "1.00 off"),
        (Decimal("8.50"), "now 8.50"),
    ]
    assert scheduled.offer == "mixed: 20% off (1 item); 1.00 off (1 item); now 8.50 (1 item)"
    await cancel(handle)
    assert_rolled_back(rig, await handle.result())


async def test_decisions_are_proven_unsigned_forged_stale_and_replayed_ones_refused(
    fast_promo_rig: FastRig,
) -> None:
    rig = fast_promo_rig
    handle = await rig.launch(rig.plan(prefix="FAST-PROOF"))
    await rig.wait_state(handle, "AWAITING_APPROVAL")
    alice = approver_for(POLICY, "category_manager")
    unsigned = Decision(approver=alice, role="category_manager")

    async def refusal(decision: Decision) -> str:
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await send_update(handle, PromotionLaunch.approve, decision)
        cause = refused.value.cause
        assert isinstance(cause, ApplicationError) and cause.non_retryable
        return cause.message

    assert "unsigned" in await refusal(unsigned)
    forger = INBOX.forger()
    forged = await signed(handle, unsigned, forger, POLICY, ttl=TEST_TTL)
    assert "signature" in await refusal(forged)
    on_v1 = await signed(handle, unsigned, SIGNER, POLICY, ttl=TEST_TTL)
    await send_update(
        handle,
        PromotionLaunch.change_price,
        await signed(handle, price_change("25", "a shallower cut"), SIGNER, POLICY, ttl=TEST_TTL),
    )
    assert "is not what is current" in await refusal(on_v1)  # signed on v1, the plan is v2
    good = await signed(handle, unsigned, SIGNER, POLICY, ttl=TEST_TTL)
    await send_update(handle, PromotionLaunch.approve, good)
    again = await send_update(handle, PromotionLaunch.approve, good)  # the same token twice
    assert "nothing changed" in again.message
    status = await rig.status(handle)
    [approved] = [e for e in status.audit if e.action == "approved"]
    assert approved.issuer == SIGNER.issuer and approved.kid == SIGNER.kid and approved.token_id
    await cancel(handle)
    assert (await handle.result()).state is PromotionState.CANCELLED
