"""Proven identities on `ReturnToRefund` decisions (fast tier, scripted systems).

A medium-tier return waits for a store supervisor. A signed approval is accepted and
audited with issuer, key id and token id; a forged, expired, misdirected, stale, replayed
or unsigned decision, and one from a person who does not hold the role, are each refused
with the reason in words, and nothing is recorded as decided."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from domain.returns import contract as c
from domain.returns.contract import ApprovalSignal, Decision, InspectionResult, ItemReceived
from domain.returns.disposition import Condition
from domain.returns.status import ReturnState, ReturnStatus
from fakes.identity import INBOX
from fakes.returns import ScriptedReturnSystems
from tests.fixtures.returns import (
    MEDIUM_SCORE,
    SUPERVISOR,
    return_request,
    signed,
    start_return,
    wait_for_state,
)
from workflows.return_to_refund import ReturnToRefund

SAM = Decision(approver="sam", role=SUPERVISOR)


async def awaiting(env: WorkflowEnvironment, task_queue: str) -> Any:
    with env.with_time_skipping_disabled():
        handle = await start_return(env.client, task_queue, return_request())
    await handle.signal(ReturnToRefund.item_received, ItemReceived(receipt_id="SCAN-1"))
    await handle.signal(
        ReturnToRefund.inspection_result,
        InspectionResult(inspector="ines", condition=Condition.DEFECTIVE),
    )
    await wait_for_state(handle, ReturnState.AWAITING_APPROVAL)
    return handle


async def refused(handle: Any, decision: Decision, words: str, update: Any = None) -> None:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(update or ReturnToRefund.approve, decision)
    assert words in str(err.value.cause), err.value.cause


async def nothing_decided(handle: Any) -> None:
    status: ReturnStatus = await handle.query(ReturnToRefund.status)
    assert status.state is ReturnState.AWAITING_APPROVAL and status.approval is None
    assert not any(a.action in ("approved", "rejected") for a in status.audit)
    history = await handle.fetch_history()
    assert not any(
        e.HasField("workflow_execution_update_accepted_event_attributes") for e in history.events
    )


async def test_signed_approval_accepted_audited_and_every_attack_refused(
    env: WorkflowEnvironment,
    run_worker: Any,
    task_queue: str,
    scripted_returns: ScriptedReturnSystems,
) -> None:
    scripted_returns.score = MEDIUM_SCORE + 10
    async with run_worker(env.client, fakes=scripted_returns.activities()):
        handle = await awaiting(env, task_queue)
        await refused(handle, await signed(handle, SAM, True, signer=INBOX.forger()), "forged")
        long_ago = datetime.now(UTC) - timedelta(hours=3)
        expired = await signed(handle, SAM, True, issued_at=long_ago, ttl=timedelta(minutes=15))
        await refused(handle, expired, "expired at")
        other = await signed(handle, SAM, True, workflow_id="return-RMA-someone-else")
        await refused(handle, other, "decides workflow 'return-RMA-someone-else'")
        await refused(handle, await signed(handle, SAM, True, step="cancel"), "step 'cancel'")
        stale = await signed(handle, SAM, True, subject={"rma_id": "x", "quote": None})
        await refused(handle, stale, "not what is current")
        await refused(handle, await signed(handle, SAM, False), "says 'reject'")
        mallory = Decision(approver="mallory", role=SUPERVISOR)
        await refused(handle, await signed(handle, mallory, True), "'mallory' does not hold")
        await refused(handle, SAM, "unsigned and this policy accepts only signed")
        await nothing_decided(handle)

        token = await signed(handle, SAM, True)
        status: ReturnStatus = await handle.execute_update(ReturnToRefund.approve, token)
        entry = next(a for a in status.audit if a.action == "approved")
        assert (entry.actor, entry.issuer, entry.kid) == ("sam", "test-inbox", "test-inbox-1")
        assert entry.token_id and f"token {entry.token_id}" in entry.detail
        assert status.approval is not None and status.approval.approver == "sam"
        # the same token again: refused, nothing recorded twice
        try:
            await handle.execute_update(ReturnToRefund.approve, token)
        except WorkflowUpdateFailedError as err:
            assert "already approved" in str(err.cause)
        except RPCError as err:  # it finished meanwhile
            assert "already completed" in str(err)
        else:
            pytest.fail("the replayed token was taken")
        final = await handle.result()
    assert final.state is ReturnState.CLOSED
    assert [a.action for a in final.audit].count("approved") == 1


async def test_a_refused_approval_signal_is_audited_and_decides_nothing(
    env: WorkflowEnvironment,
    run_worker: Any,
    task_queue: str,
    scripted_returns: ScriptedReturnSystems,
) -> None:
    scripted_returns.score = MEDIUM_SCORE + 10
    async with run_worker(env.client, fakes=scripted_returns.activities()):
        handle = await awaiting(env, task_queue)
        reject = ApprovalSignal(verdict=c.REJECT, approver="sam", role=SUPERVISOR)
        await handle.signal(ReturnToRefund.approval, reject)  # unsigned
        forged = await signed(handle, reject, False, signer=INBOX.forger())
        await handle.signal(ReturnToRefund.approval, forged)
        status: ReturnStatus = await handle.query(ReturnToRefund.status)
        refusals = [a.detail for a in status.audit if a.action == f"{c.REJECT} refused"]
        assert len(refusals) == 2, status.audit
        assert "unsigned" in refusals[0] and "forged or altered" in refusals[1]
        assert status.state is ReturnState.AWAITING_APPROVAL and status.approval is None
        await handle.signal(ReturnToRefund.approval, await signed(handle, reject, False))
        final = await handle.result()
    assert final.state is ReturnState.REJECTED
    entry = next(a for a in final.audit if a.action == "rejected")
    assert entry.issuer == "test-inbox" and entry.token_id


def test_validator_refusals_are_typed_and_not_retryable() -> None:
    """A refusal reaches clients (the stock CLI too) as a non-retryable error with a type."""
    from temporalio.exceptions import ApplicationError

    from workflows.refusals import DECISION_REFUSED, refusing

    with pytest.raises(ApplicationError) as err:
        with refusing():
            raise ValueError("lena does not hold the role store_supervisor")
    assert err.value.non_retryable and err.value.type == DECISION_REFUSED
    assert err.value.message == "lena does not hold the role store_supervisor"
