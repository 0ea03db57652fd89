"""Proven identities on `InventoryRebalance` decisions (fast tier, scripted WMS/ERP).

A signed approval is accepted and audited with its issuer, key id and token id; a forged,
expired, replayed, misdirected or unsigned decision, and one from a person without the
role, are each refused with the reason in words and nothing is recorded as decided (no
update enters history; a refused `approval` signal is audited as refused, not decided)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from domain.rebalance.contract import WORKFLOW_TYPE, ApprovalDecision, CancelRequest, workflow_id
from domain.rebalance.policy import ApprovalPolicy
from domain.rebalance.status import RebalanceState, RebalanceStatus
from fakes.identity import INBOX
from fakes.rebalance import FakeInventory
from tests.fixtures.rebalance import (
    rebalance_policy,
    rebalance_request,
    signed,
    wait_for_status,
)
from tests.fixtures.temporal import send_update
from workflows.inventory_rebalance import InventoryRebalance

SAM, FRANK = "sam.supply", "frank"
TWO_ROLES = ApprovalPolicy(
    cost_threshold=0,
    units_threshold=0,
    roles=["supply_chain", "finance"],
    approvers={"supply_chain": [SAM], "finance": [FRANK]},
)


async def awaiting(env: WorkflowEnvironment, task_queue: str, **policy: Any) -> Any:
    request = rebalance_request(
        policy=rebalance_policy(cost_threshold="0", units_threshold=0, **policy)
    )
    with env.with_time_skipping_disabled():
        handle = await env.client.start_workflow(
            InventoryRebalance.run,
            request,
            id=workflow_id(request.plan_id),
            task_queue=task_queue,
        )
    await wait_for_status(handle, lambda s: s.state == RebalanceState.AWAITING_APPROVAL)
    return handle


async def refused(handle: Any, update: Any, decision: Any, words: str) -> None:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await send_update(handle, update, decision)
    assert words in str(err.value.cause), err.value.cause


async def nothing_decided(handle: Any) -> RebalanceStatus:
    status: RebalanceStatus = await handle.query(InventoryRebalance.status)
    assert status.approvals == [] and status.state == RebalanceState.AWAITING_APPROVAL
    history = await handle.fetch_history()
    accepted = [
        e
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    assert accepted == [], "a refused decision entered history"
    return status


def sam(**changes: Any) -> ApprovalDecision:
    return ApprovalDecision(approver=SAM, role="supply_chain", **changes)


async def test_a_signed_approval_is_accepted_and_audited_with_issuer_kid_and_token_id(
    env: WorkflowEnvironment, task_queue: str, fake_inventory: FakeInventory
) -> None:
    handle = await awaiting(env, task_queue)
    decision = await signed(handle, sam(comment="fine"))
    status: RebalanceStatus = await send_update(handle, InventoryRebalance.approve, decision)
    assert status.approvals[0].approver == SAM
    entry = next(a for a in status.audit if a.action == "approved")
    assert (entry.actor, entry.issuer, entry.kid) == (SAM, "test-inbox", "test-inbox-1")
    assert entry.token_id and entry.token_id in entry.detail
    assert "signed by test-inbox" in entry.detail
    cancel = await signed(handle, CancelRequest(requested_by=SAM, reason="test over"))
    await send_update(handle, InventoryRebalance.cancel, cancel)
    result = await handle.result()
    assert result.state == RebalanceState.CANCELLED
    final: RebalanceStatus = await handle.query(InventoryRebalance.status)
    cancelled = next(a for a in final.audit if a.action == "cancel accepted")
    assert cancelled.issuer == "test-inbox" and cancelled.token_id


async def test_forged_expired_misdirected_unsigned_and_roleless_decisions_are_refused(
    env: WorkflowEnvironment, task_queue: str, fake_inventory: FakeInventory
) -> None:
    handle = await awaiting(env, task_queue)
    approve = InventoryRebalance.approve
    await refused(
        handle, approve, await signed(handle, sam(), signer=INBOX.forger()), "forged or altered"
    )
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    await refused(
        handle,
        approve,
        await signed(handle, sam(), issued_at=long_ago, ttl=timedelta(minutes=15)),
        "expired at",
    )
    await refused(
        handle,
        approve,
        await signed(handle, sam(), workflow_id="rebalance-another-plan"),
        "not 'rebalance-",
    )
    await refused(handle, approve, await signed(handle, sam(), step="cancel"), "step 'cancel'")
    await refused(
        handle,
        approve,
        await signed(handle, sam(), subject={"plan_id": "x", "moves": []}),
        "not what is current",
    )
    await refused(
        handle,
        approve,
        await signed(handle, sam(), decision="reject"),
        "the token says 'reject', the request says 'approve'",
    )
    mallory = ApprovalDecision(approver="mallory", role="supply_chain")
    await refused(handle, approve, await signed(handle, mallory), "does not hold the role")
    await refused(
        handle, approve, await signed(handle, sam(), person="mallory"), "signed for 'mallory'"
    )
    await refused(handle, approve, sam(), "unsigned and this policy accepts only signed")
    await nothing_decided(handle)
    await handle.cancel()


async def test_a_replayed_token_is_refused(
    env: WorkflowEnvironment, task_queue: str, fake_inventory: FakeInventory
) -> None:
    request = rebalance_request(
        policy=rebalance_policy(cost_threshold="0", units_threshold=0).model_copy(
            update={"approval": TWO_ROLES}
        )
    )
    with env.with_time_skipping_disabled():
        handle = await env.client.start_workflow(
            InventoryRebalance.run, request, id=workflow_id(request.plan_id), task_queue=task_queue
        )
    await wait_for_status(handle, lambda s: s.state == RebalanceState.AWAITING_APPROVAL)
    decision = await signed(handle, sam())
    await send_update(handle, InventoryRebalance.approve, decision)
    await refused(handle, InventoryRebalance.approve, decision, "already used")
    status: RebalanceStatus = await handle.query(InventoryRebalance.status)
    assert len(status.approvals) == 1 and status.awaiting_roles == ["finance"]
    await handle.cancel()


async def test_a_refused_signal_is_audited_and_decides_nothing(
    env: WorkflowEnvironment, task_queue: str, fake_inventory: FakeInventory
) -> None:
    handle = await awaiting(env, task_queue)
    forged = await signed(handle, sam(), signer=INBOX.forger())
    await handle.signal(InventoryRebalance.approval, forged)
    await handle.signal(InventoryRebalance.approval, sam())  # unsigned
    status = await wait_for_status(
        handle, lambda s: sum(a.action == "decision refused" for a in s.audit) == 2
    )
    details = [a.detail for a in status.audit if a.action == "decision refused"]
    assert "forged or altered" in details[0] and "unsigned" in details[1]
    assert status.approvals == [] and status.state == RebalanceState.AWAITING_APPROVAL
    await handle.signal(InventoryRebalance.approval, await signed(handle, sam()))
    status = await wait_for_status(handle, lambda s: bool(s.approvals))
    assert next(a for a in status.audit if a.action == "approved").issuer == "test-inbox"
    await handle.cancel()


async def test_cancel_needs_a_signed_request_from_a_role_that_cancels(
    env: WorkflowEnvironment, task_queue: str, fake_inventory: FakeInventory
) -> None:
    handle = await awaiting(env, task_queue)
    unsigned = CancelRequest(requested_by=SAM, reason="no", role="supply_chain")
    await refused(handle, InventoryRebalance.cancel, unsigned, "only signed decisions")
    finance = CancelRequest(requested_by=SAM, reason="no", role="finance")
    await refused(
        handle, InventoryRebalance.cancel, await signed(handle, finance), "needs supply_chain"
    )
    await nothing_decided(handle)
    report = await send_update(
        handle,
        InventoryRebalance.cancel,
        await signed(handle, CancelRequest(requested_by=SAM, reason="ok")),
    )
    assert report.cancelled
    assert (await handle.result()).state == RebalanceState.CANCELLED


async def test_a_policy_that_accepts_unsigned_decisions_takes_them_and_says_so(
    env: WorkflowEnvironment, task_queue: str, fake_inventory: FakeInventory
) -> None:
    handle = await awaiting(env, task_queue, trust=INBOX.trust(accept_unsigned=True))
    status: RebalanceStatus = await send_update(handle, InventoryRebalance.approve, sam())
    entry = next(a for a in status.audit if a.action == "approved")
    assert entry.issuer is None and "unsigned (the policy accepts" in entry.detail
    await handle.cancel()


async def test_an_input_without_a_trust_section_refuses_every_decision(
    env: WorkflowEnvironment, task_queue: str, fake_inventory: FakeInventory
) -> None:
    """A new run whose input lacks `trust` (a client that predates it, a hand-written JSON)
    fails closed; only runs recorded before proven identities keep the old rules (see
    test_inventory_rebalance_replay: that history has no trust section and replays)."""
    request = rebalance_request(policy=rebalance_policy(cost_threshold="0", units_threshold=0))
    raw = request.model_dump(mode="json", exclude={"policy": {"trust"}})
    with env.with_time_skipping_disabled():
        handle = await env.client.start_workflow(
            WORKFLOW_TYPE, raw, id=workflow_id(request.plan_id), task_queue=task_queue
        )
    await wait_for_status(handle, lambda s: s.state == RebalanceState.AWAITING_APPROVAL)
    await refused(handle, InventoryRebalance.approve, sam(), "accepts only signed decisions")
    await refused(handle, InventoryRebalance.approve, await signed(handle, sam()), "is not trusted")
    await nothing_decided(handle)
    await handle.cancel()
