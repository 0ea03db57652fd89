"""ReturnToRefund orchestration against a scripted edge: declines, deadlines, receipts, roles.

The systems behind the activities are scripted here (`ScriptedReturnSystems`) because these
tests are about the workflow's decisions; tests/workflows/test_return_to_refund_e2e.py
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

from domain.returns import (
    ApprovalSignal,
    Condition,
    Decision,
    DeclineReason,
    InspectionResult,
    ItemReceived,
    NotificationKind,
    ReturnState,
    Role,
    TenderType,
)
from tests.fixtures.returns import (
    ScriptedReturnSystems,
    return_input,
    return_request,
    wait_for_state,
)
from workflows.return_to_refund import ReturnToRefund


async def start(env: WorkflowEnvironment, task_queue: str, skip_time: bool = False, **kw: Any):
    request = return_request(**kw)
    if skip_time:
        return await env.client.start_workflow(
            ReturnToRefund.run,
            return_input(request),
            id=request.workflow_id,
            task_queue=task_queue,
        )
    with env.with_time_skipping_disabled():
        return await env.client.start_workflow(
            ReturnToRefund.run,
            return_input(request),
            id=request.workflow_id,
            task_queue=task_queue,
        )


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
        ({"order_id": "MISSING"}, DeclineReason.OTHER),
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
    async with run_worker(
        env.client, workflows=[ReturnToRefund], activities=scripted_returns.activities()
    ):
        handle = await start(env, task_queue, skip_time=True, **kwargs)
        status = await handle.result()
    assert status.state is ReturnState.DECLINED
    assert [d.reason for d in status.declines] == [reason]
    notices = scripted_returns.called("notify_customer")
    assert [n.kind for n in notices] == [NotificationKind.DECLINED]
    assert not scripted_returns.called("refund_tender")


async def test_return_period_ended_is_declined(
    env: WorkflowEnvironment,
    run_worker: Any,
    task_queue: str,
    scripted_returns: ScriptedReturnSystems,
) -> None:
    scripted_returns.purchased_days_ago = 20  # electronics: 15 days
    async with run_worker(
        env.client, workflows=[ReturnToRefund], activities=scripted_returns.activities()
    ):
        status = await (await start(env, task_queue, skip_time=True)).result()
    assert [d.reason for d in status.declines] == [DeclineReason.RETURN_PERIOD_ENDED]


async def test_item_never_arrives_expires_and_customer_is_told(
    env: WorkflowEnvironment,
    run_worker: Any,
    task_queue: str,
    scripted_returns: ScriptedReturnSystems,
) -> None:
    async with run_worker(
        env.client, workflows=[ReturnToRefund], activities=scripted_returns.activities()
    ):
        handle = await start(env, task_queue, skip_time=True)  # the 2-day deadline is skipped
        status = await handle.result()
    assert status.state is ReturnState.EXPIRED
    assert [n.kind for n in scripted_returns.called("notify_customer")] == [
        NotificationKind.AUTHORIZED,
        NotificationKind.EXPIRED,
    ]
    assert not scripted_returns.called("refund_tender")


async def test_duplicate_receipt_is_dropped(
    env: WorkflowEnvironment,
    run_worker: Any,
    task_queue: str,
    scripted_returns: ScriptedReturnSystems,
) -> None:
    async with run_worker(
        env.client, workflows=[ReturnToRefund], activities=scripted_returns.activities()
    ):
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
    assert len(scripted_returns.called("follow_up")) == 1  # restocked once


async def test_medium_tier_needs_a_supervisor_and_refuses_other_roles(
    env: WorkflowEnvironment,
    run_worker: Any,
    task_queue: str,
    scripted_returns: ScriptedReturnSystems,
) -> None:
    scripted_returns.score = 55
    async with run_worker(
        env.client, workflows=[ReturnToRefund], activities=scripted_returns.activities()
    ):
        handle = await start(env, task_queue)
        with pytest.raises(WorkflowUpdateFailedError) as early:
            await handle.execute_update(
                ReturnToRefund.approve, Decision(approver="sam", role=Role.STORE_SUPERVISOR)
            )
        assert "not awaiting approval" in str(early.value.cause)
        await receive_and_inspect(handle)
        waiting = await wait_for_state(handle, ReturnState.AWAITING_APPROVAL)
        assert waiting.awaiting_role == [Role.STORE_SUPERVISOR]
        assert not scripted_returns.called("refund_tender")
        with pytest.raises(WorkflowUpdateFailedError) as wrong:
            await handle.execute_update(
                ReturnToRefund.approve, Decision(approver="lee", role=Role.LOSS_PREVENTION)
            )
        assert "needs store_supervisor" in str(wrong.value.cause)
        done = await handle.execute_update(
            ReturnToRefund.approve, Decision(approver="sam", role=Role.STORE_SUPERVISOR)
        )
        assert done.state is not ReturnState.AWAITING_APPROVAL
        status = await handle.result()
        with pytest.raises(RPCError, match="already completed"):
            await handle.execute_update(
                ReturnToRefund.reject, Decision(approver="sam", role=Role.STORE_SUPERVISOR)
            )
    assert status.state is ReturnState.CLOSED
    assert status.approval is not None and status.approval.approver == "sam"
    assert status.refunded_total == Decimal("100.00")


async def test_medium_tier_escalates_to_loss_prevention_past_its_sla(
    env: WorkflowEnvironment,
    run_worker: Any,
    task_queue: str,
    scripted_returns: ScriptedReturnSystems,
) -> None:
    scripted_returns.score = 45
    async with run_worker(
        env.client, workflows=[ReturnToRefund], activities=scripted_returns.activities()
    ):
        handle = await start(env, task_queue)
        await receive_and_inspect(handle)
        await wait_for_state(handle, ReturnState.AWAITING_APPROVAL)
        await env.fast_forward(handle, timedelta(hours=25))
        status = await handle.query(ReturnToRefund.status)
        assert status.escalated
        assert [e.kind for e in scripted_returns.called("open_exception")] == ["approval_overdue"]
        await handle.execute_update(
            ReturnToRefund.approve, Decision(approver="lee", role=Role.LOSS_PREVENTION)
        )
        status = await handle.result()
    assert status.state is ReturnState.CLOSED
    assert status.refund_sla_met is True


async def test_high_tier_holds_the_refund_until_loss_prevention_rejects(
    env: WorkflowEnvironment,
    run_worker: Any,
    task_queue: str,
    scripted_returns: ScriptedReturnSystems,
) -> None:
    scripted_returns.score, scripted_returns.reasons = 20, ["STOLEN_CARD"]
    async with run_worker(
        env.client, workflows=[ReturnToRefund], activities=scripted_returns.activities()
    ):
        handle = await start(env, task_queue)
        await receive_and_inspect(handle)
        waiting = await wait_for_state(handle, ReturnState.AWAITING_APPROVAL)
        assert waiting.fraud is not None and waiting.fraud.holds_refund
        assert waiting.fraud.reasons == ["STOLEN_CARD"]
        with pytest.raises(WorkflowUpdateFailedError) as wrong:
            await handle.execute_update(
                ReturnToRefund.reject, Decision(approver="sam", role=Role.STORE_SUPERVISOR)
            )
        assert "needs loss_prevention" in str(wrong.value.cause)
        await handle.execute_update(
            ReturnToRefund.reject,
            Decision(approver="lee", role=Role.LOSS_PREVENTION, note="card reported stolen"),
        )
        status = await handle.result()
    assert status.state is ReturnState.REJECTED
    assert not scripted_returns.called("refund_tender")
    assert scripted_returns.called("notify_customer")[-1].kind is NotificationKind.REJECTED


async def test_store_credit_fallback_when_card_fails_for_good(
    env: WorkflowEnvironment,
    run_worker: Any,
    task_queue: str,
    scripted_returns: ScriptedReturnSystems,
) -> None:
    scripted_returns.declined_methods = {TenderType.CARD}
    async with run_worker(
        env.client, workflows=[ReturnToRefund], activities=scripted_returns.activities()
    ):
        handle = await start(env, task_queue)
        await receive_and_inspect(handle)
        status = await handle.result()
    assert status.state is ReturnState.CLOSED and status.refunded_total == Decimal("100.00")
    (leg,) = status.tenders
    assert leg.state.value == "FELL_BACK_TO_STORE_CREDIT" and "tender_declined" in (
        leg.failure or ""
    )
    kinds = [n.kind for n in scripted_returns.called("notify_customer")]
    assert NotificationKind.STORE_CREDIT_FALLBACK in kinds


async def test_approval_signal_runs_the_same_checks_and_records_refusals(
    env: WorkflowEnvironment,
    run_worker: Any,
    task_queue: str,
    scripted_returns: ScriptedReturnSystems,
) -> None:
    scripted_returns.score = 50
    async with run_worker(
        env.client, workflows=[ReturnToRefund], activities=scripted_returns.activities()
    ):
        handle = await start(env, task_queue)
        await receive_and_inspect(handle)
        await wait_for_state(handle, ReturnState.AWAITING_APPROVAL)
        await handle.signal(
            ReturnToRefund.approval,
            ApprovalSignal(verdict="approve", approver="bot", role=Role.LOSS_PREVENTION),
        )
        await handle.signal(
            ReturnToRefund.approval,
            ApprovalSignal(verdict="reject", approver="sam", role=Role.STORE_SUPERVISOR),
        )
        status = await handle.result()
    assert status.state is ReturnState.REJECTED
    refused = [a for a in status.audit if a.action == "approve refused"]
    assert len(refused) == 1 and "needs store_supervisor" in refused[0].detail
