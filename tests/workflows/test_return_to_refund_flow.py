"""ReturnToRefund orchestration against a scripted edge: declines, deadlines, receipts, roles.

The systems behind the activities are scripted here (`fakes.returns.ScriptedReturnSystems`
in place of the registry's real activities) because these tests are about the workflow's
decisions; tests/workflows/test_return_to_refund_e2e.py
runs the same workflow against the live backoffice.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities import activity_name, build_activities
from common.config import Settings
from domain.activity_options import specs_of
from domain.returns import contract as c
from domain.returns.contract import (
    ApprovalSignal,
    Decision,
    InspectionResult,
    ItemReceived,
    NotificationKind,
)
from domain.returns.disposition import Condition
from domain.returns.eligibility import DeclineReason
from domain.returns.request import TenderType
from domain.returns.status import LegState, ReturnState
from fakes.returns import MISSING_ORDER, ScriptedReturnSystems
from tests.fixtures.returns import (
    ESCALATION,
    HIGH_REASON,
    LOSS_PREVENTION,
    MEDIUM_SCORE,
    SUPERVISOR,
    decide,
    return_request,
    signal_decision,
    start_return,
    wait_for_state,
)
from workflows.return_to_refund import ReturnToRefund


def test_every_returns_activity_is_registered_and_scripted() -> None:
    """The worker registers each activity the contract names; the fakes replace each one."""
    registered = {activity_name(fn) for fn in build_activities(Settings())}
    names = {spec.name for spec in specs_of(c)}
    assert names <= registered
    assert {activity_name(fn) for fn in ScriptedReturnSystems().activities()} == names


async def start(env: WorkflowEnvironment, task_queue: str, skip_time: bool = False, **kw: Any):
    request = return_request(**kw)
    if skip_time:
        return await start_return(env.client, task_queue, request)
    with env.with_time_skipping_disabled():
        return await start_return(env.client, task_queue, request)


async def receive_and_inspect(handle: Any, condition: Condition = Condition.DEFECTIVE) -> None:
    await handle.signal(ReturnToRefund.item_received, ItemReceived(receipt_id="SCAN-1"))
    await handle.signal(
        ReturnToRefund.inspection_result, InspectionResult(inspector="ines", condition=condition)
    )


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"lines": [("SHIRT", 1)]}, DeclineReason.FINAL_SALE),
        ({"lines": [("TV", 2)]}, DeclineReason.QUANTITY_EXCEEDED),
        ({"has_receipt": False}, DeclineReason.NO_RECEIPT_LIMIT),
        ({"order_id": MISSING_ORDER}, DeclineReason.OTHER),
    ],
)
async def test_declined_with_reason_and_customer_told(
    env: WorkflowEnvironment,
    run_worker: Any,
    task_queue: str,
    scripted_returns: ScriptedReturnSystems,
    kwargs: dict[str, Any],
    reason: DeclineReason,
) -> None:
    async with run_worker(env.client, fakes=scripted_returns.activities()):
        handle = await start(env, task_queue, skip_time=True, **kwargs)
        status = await handle.result()
    assert status.state is ReturnState.DECLINED
    assert [d.reason for d in status.declines] == [reason]
    notices = scripted_returns.called(c.NOTIFY_CUSTOMER)
    assert [n.kind for n in notices] == [NotificationKind.DECLINED]
    assert not scripted_returns.called(c.REFUND_TENDER)


async def test_return_period_ended_is_declined(
    env: WorkflowEnvironment,
    run_worker: Any,
    task_queue: str,
    scripted_returns: ScriptedReturnSystems,
) -> None:
    scripted_returns.purchased_days_ago = 20  # electronics: 15 days
    async with run_worker(env.client, fakes=scripted_returns.activities()):
        status = await (await start(env, task_queue, skip_time=True)).result()
    assert [d.reason for d in status.declines] == [DeclineReason.RETURN_PERIOD_ENDED]


async def test_item_never_arrives_expires_and_customer_is_told(
    env: WorkflowEnvironment,
    run_worker: Any,
    task_queue: str,
    scripted_returns: ScriptedReturnSystems,
) -> None:
    async with run_worker(env.client, fakes=scripted_returns.activities()):
        handle = await start(env, task_queue, skip_time=True)  # the 2-day deadline is skipped
        status = await handle.result()
    assert status.state is ReturnState.EXPIRED
    assert [n.kind for n in scripted_returns.called(c.NOTIFY_CUSTOMER)] == [
        NotificationKind.AUTHORIZED,
        NotificationKind.EXPIRED,
    ]
    assert not scripted_returns.called(c.REFUND_TENDER)


async def test_duplicate_receipt_is_dropped(
    env: WorkflowEnvironment,
    run_worker: Any,
    task_queue: str,
    scripted_returns: ScriptedReturnSystems,
) -> None:
    async with run_worker(env.client, fakes=scripted_returns.activities()):
        handle = await start(env, task_queue)
        await wait_for_state(handle, ReturnState.AWAITING_ITEM)
        await handle.signal(ReturnToRefund.item_received, ItemReceived(receipt_id="SCAN-1"))
        await handle.signal(ReturnToRefund.item_received, ItemReceived(receipt_id="SCAN-1"))
        await handle.signal(
            ReturnToRefund.item_received,
            ItemReceived(receipt_id="DC-9", source="warehouse_receipt"),
        )
        await handle.signal(
            ReturnToRefund.inspection_result,
            InspectionResult(inspector="ines", condition=Condition.UNOPENED),
        )
        status = await handle.result()
    assert status.state is ReturnState.CLOSED and status.receipt_id == "SCAN-1"
    assert [a.action for a in status.audit].count("item_received dropped") == 2
    assert len(scripted_returns.called(c.FOLLOW_UP)) == 1  # restocked once


async def test_medium_tier_needs_a_supervisor_and_refuses_other_roles(
    env: WorkflowEnvironment,
    run_worker: Any,
    task_queue: str,
    scripted_returns: ScriptedReturnSystems,
) -> None:
    scripted_returns.score = MEDIUM_SCORE + 15
    async with run_worker(env.client, fakes=scripted_returns.activities()):
        handle = await start(env, task_queue)
        with pytest.raises(WorkflowUpdateFailedError) as early:
            await decide(handle, ReturnToRefund.approve, Decision(approver="sam", role=SUPERVISOR))
        assert "not awaiting approval" in str(early.value.cause)
        await receive_and_inspect(handle)
        waiting = await wait_for_state(handle, ReturnState.AWAITING_APPROVAL)
        assert waiting.awaiting_role == [SUPERVISOR]
        assert not scripted_returns.called(c.REFUND_TENDER)
        with pytest.raises(WorkflowUpdateFailedError) as wrong:
            await decide(
                handle, ReturnToRefund.approve, Decision(approver="lee", role=LOSS_PREVENTION)
            )
        assert f"needs {SUPERVISOR.value}" in str(wrong.value.cause)
        done = await decide(
            handle, ReturnToRefund.approve, Decision(approver="sam", role=SUPERVISOR)
        )
        assert done.state is not ReturnState.AWAITING_APPROVAL
        status = await handle.result()
        with pytest.raises(RPCError, match="already completed"):
            await decide(handle, ReturnToRefund.reject, Decision(approver="sam", role=SUPERVISOR))
    assert status.state is ReturnState.CLOSED
    assert status.approval is not None and status.approval.approver == "sam"
    assert status.refunded_total == Decimal("100.00")


async def test_medium_tier_escalates_to_loss_prevention_past_its_sla(
    env: WorkflowEnvironment,
    run_worker: Any,
    task_queue: str,
    scripted_returns: ScriptedReturnSystems,
) -> None:
    scripted_returns.score = MEDIUM_SCORE + 5
    async with run_worker(env.client, fakes=scripted_returns.activities()):
        handle = await start(env, task_queue)
        await receive_and_inspect(handle)
        await wait_for_state(handle, ReturnState.AWAITING_APPROVAL)
        await env.fast_forward(handle, timedelta(hours=25))
        status = await handle.query(ReturnToRefund.status)
        assert status.escalated
        assert [e.kind for e in scripted_returns.called(c.OPEN_EXCEPTION)] == ["approval_overdue"]
        await decide(handle, ReturnToRefund.approve, Decision(approver="lee", role=ESCALATION))
        status = await handle.result()
    assert status.state is ReturnState.CLOSED
    assert status.refund_sla_met is True


async def test_high_tier_holds_the_refund_until_loss_prevention_rejects(
    env: WorkflowEnvironment,
    run_worker: Any,
    task_queue: str,
    scripted_returns: ScriptedReturnSystems,
) -> None:
    scripted_returns.score, scripted_returns.reasons = 20, [HIGH_REASON]
    async with run_worker(env.client, fakes=scripted_returns.activities()):
        handle = await start(env, task_queue)
        await receive_and_inspect(handle)
        waiting = await wait_for_state(handle, ReturnState.AWAITING_APPROVAL)
        assert waiting.fraud is not None and waiting.fraud.holds_refund
        assert waiting.fraud.reasons == [HIGH_REASON]
        with pytest.raises(WorkflowUpdateFailedError) as wrong:
            await decide(handle, ReturnToRefund.reject, Decision(approver="sam", role=SUPERVISOR))
        assert f"needs {LOSS_PREVENTION.value}" in str(wrong.value.cause)
        await decide(
            handle,
            ReturnToRefund.reject,
            Decision(approver="lee", role=LOSS_PREVENTION, note="card reported stolen"),
        )
        status = await handle.result()
    assert status.state is ReturnState.REJECTED
    assert not scripted_returns.called(c.REFUND_TENDER)
    assert scripted_returns.called(c.NOTIFY_CUSTOMER)[-1].kind is NotificationKind.REJECTED


async def test_store_credit_fallback_when_card_fails_for_good(
    env: WorkflowEnvironment,
    run_worker: Any,
    task_queue: str,
    scripted_returns: ScriptedReturnSystems,
) -> None:
    scripted_returns.declined_methods = {TenderType.CARD}
    async with run_worker(env.client, fakes=scripted_returns.activities()):
        handle = await start(env, task_queue)
        await receive_and_inspect(handle)
        status = await handle.result()
    assert status.state is ReturnState.CLOSED and status.refunded_total == Decimal("100.00")
    (leg,) = status.tenders
    assert leg.state is LegState.FELL_BACK_TO_STORE_CREDIT and "tender_declined" in (
        leg.failure or ""
    )
    kinds = [n.kind for n in scripted_returns.called(c.NOTIFY_CUSTOMER)]
    assert NotificationKind.STORE_CREDIT_FALLBACK in kinds


async def test_approval_signal_runs_the_same_checks_and_records_refusals(
    env: WorkflowEnvironment,
    run_worker: Any,
    task_queue: str,
    scripted_returns: ScriptedReturnSystems,
) -> None:
    scripted_returns.score = MEDIUM_SCORE + 10
    async with run_worker(env.client, fakes=scripted_returns.activities()):
        handle = await start(env, task_queue)
        await receive_and_inspect(handle)
        await wait_for_state(handle, ReturnState.AWAITING_APPROVAL)
        await signal_decision(
            handle, ApprovalSignal(verdict=c.APPROVE, approver="bot", role=LOSS_PREVENTION)
        )
        await signal_decision(
            handle, ApprovalSignal(verdict=c.REJECT, approver="sam", role=SUPERVISOR)
        )
        status = await handle.result()
    assert status.state is ReturnState.REJECTED
    refused = [a for a in status.audit if a.action == f"{c.APPROVE} refused"]
    assert len(refused) == 1 and f"needs {SUPERVISOR.value}" in refused[0].detail
