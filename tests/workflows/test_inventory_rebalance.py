"""InventoryRebalance orchestration against an in-memory WMS/ERP edge (time-skipping env).

Workflows start with time skipping disabled, so nothing moves until the test sends a WMS
event; aging is reached with `env.fast_forward` on that one workflow: deterministic.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from domain.rebalance.contract import (
    ApprovalDecision,
    CancelReport,
    CancelRequest,
    RebalanceRequest,
    RebalanceResult,
    workflow_id,
)
from domain.rebalance.status import RebalanceState, RebalanceStatus, TransferState
from fakes.rebalance import FakeInventory
from tests.fixtures.rebalance import (
    approver_of,
    event,
    rebalance_policy,
    rebalance_request,
    signed,
    wait_for_status,
)
from workflows.inventory_rebalance import InventoryRebalance

T1_SUFFIX = "-T0001"  # DC1 -> S1
T2_SUFFIX = "-T0002"  # DC1 -> S2


async def start(env: WorkflowEnvironment, request: RebalanceRequest, task_queue: str) -> Any:
    with env.with_time_skipping_disabled():
        return await env.client.start_workflow(
            InventoryRebalance.run,
            request,
            id=workflow_id(request.plan_id),
            task_queue=task_queue,
        )


def in_progress(status: RebalanceStatus) -> bool:
    return status.state == RebalanceState.IN_PROGRESS and all(
        t.state == TransferState.RELEASED for t in status.transfers
    )


async def test_happy_path_plans_releases_and_settles(
    env: WorkflowEnvironment, task_queue: str, fake_inventory: FakeInventory
) -> None:
    request = rebalance_request()
    handle = await start(env, request, task_queue)
    status = await wait_for_status(handle, in_progress, what="transfers released")
    assert [t.units_planned for t in status.transfers] == [8, 7]
    assert status.plan is not None and status.plan.unmet_demand_before == 15
    t1, t2 = (request.plan_id + T1_SUFFIX, request.plan_id + T2_SUFFIX)
    for transfer_id, units in ((t1, 8), (t2, 7)):
        for step in ("picked", "shipped", "received"):
            await handle.signal(InventoryRebalance.wms_event, event(transfer_id, step, units))
    result: RebalanceResult = await handle.result()
    assert result.state == RebalanceState.COMPLETED
    assert [
        (o.store_id, o.coverage, o.units_received, o.unmet_demand) for o in result.outcomes
    ] == [
        ("S1", Decimal("1.00"), 8, 0),
        ("S2", Decimal("1.00"), 7, 0),
    ]
    assert result.unmet_demand_after == 0 and not fake_inventory.claims
    description = await handle.describe()
    attrs = description.typed_search_attributes
    assert attrs.get(_key("RetailState")) == "COMPLETED"
    assert attrs.get(_key("RetailKind")) == "rebalance"


def _key(name: str) -> Any:
    from common import search_attributes as sa

    return {k.name: k for k in sa.ALL_KEYS}[name]


async def test_approval_required_and_wrong_role_refused(
    env: WorkflowEnvironment, task_queue: str, fake_inventory: FakeInventory
) -> None:
    policy = rebalance_policy(cost_threshold="5")
    request = rebalance_request(policy=policy)
    sam = approver_of(policy, "supply_chain")
    handle = await start(env, request, task_queue)
    status = await wait_for_status(
        handle, lambda s: s.state == RebalanceState.AWAITING_APPROVAL, what="awaiting approval"
    )
    assert status.awaiting_roles == ["supply_chain"]
    assert "above the threshold" in status.approval_reasons[0]
    desc = await handle.describe()
    assert desc.typed_search_attributes.get(_key("AwaitingRole")) == "supply_chain"

    with pytest.raises(WorkflowUpdateFailedError) as wrong_role:
        await handle.execute_update(
            InventoryRebalance.approve,
            await signed(handle, ApprovalDecision(approver=sam, role="finance")),
        )
    assert "does not approve rebalancing plans" in str(wrong_role.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as impostor:
        await handle.execute_update(
            InventoryRebalance.approve,
            await signed(handle, ApprovalDecision(approver="mallory", role="supply_chain")),
        )
    assert "does not hold the role" in str(impostor.value.cause)
    # refused decisions never entered history
    history = await handle.fetch_history()
    accepted = [
        e
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    assert accepted == []

    after = await handle.execute_update(
        InventoryRebalance.approve,
        await signed(handle, ApprovalDecision(approver=sam, role="supply_chain")),
    )
    assert after.approvals[0].approver == sam
    await wait_for_status(handle, in_progress, what="released after approval")
    # a decision on a plan no longer awaiting approval is refused
    with pytest.raises(WorkflowUpdateFailedError) as closed:
        await handle.execute_update(
            InventoryRebalance.approve,
            await signed(handle, ApprovalDecision(approver=sam, role="supply_chain")),
        )
    assert "not awaiting approval" in str(closed.value.cause)
    cancel: CancelReport = await handle.execute_update(
        InventoryRebalance.cancel,
        await signed(handle, CancelRequest(requested_by=sam, reason="test over")),
    )
    assert len(cancel.cancelled) == 2
    result = await handle.result()
    assert result.state == RebalanceState.CANCELLED


async def test_rejected_plan_releases_nothing(
    env: WorkflowEnvironment, task_queue: str, fake_inventory: FakeInventory
) -> None:
    policy = rebalance_policy(cost_threshold="0", units_threshold=0)
    request = rebalance_request(policy=policy)
    handle = await start(env, request, task_queue)
    await wait_for_status(handle, lambda s: s.state == RebalanceState.AWAITING_APPROVAL)
    await handle.execute_update(
        InventoryRebalance.approve,
        await signed(
            handle,
            ApprovalDecision(
                approver=approver_of(policy),
                role="supply_chain",
                approve=False,
                comment="too expensive",
            ),
        ),
    )
    result = await handle.result()
    assert result.state == RebalanceState.REJECTED
    assert fake_inventory.transfers == {}


async def test_duplicate_and_out_of_order_events(
    env: WorkflowEnvironment, task_queue: str, fake_inventory: FakeInventory
) -> None:
    request = rebalance_request()  # two transfers: T2 keeps the plan open while T1 is probed
    handle = await start(env, request, task_queue)
    await wait_for_status(handle, in_progress)
    t1, t2 = request.plan_id + T1_SUFFIX, request.plan_id + T2_SUFFIX
    picked = event(t1, "picked", 8, event_id="e1")
    shipped = event(t1, "shipped", 8, event_id="e2")
    received = event(t1, "received", 8, event_id="e3")
    # shipped before picked, each twice; the receipt twice too
    for e in (shipped, shipped, picked, picked, received, received):
        await handle.signal(InventoryRebalance.wms_event, e)
    status = await wait_for_status(
        handle,
        lambda s: (
            s.transfers[0].units_picked == 8 and s.transfers[0].state == TransferState.RECEIVED
        ),
        what="all events folded",
    )
    assert sum("shipped 8" in a.detail for a in status.audit) == 1
    assert sum("received 8" in a.detail for a in status.audit) == 1
    assert status.variances == []
    for step in ("picked", "shipped", "received"):
        await handle.signal(InventoryRebalance.wms_event, event(t2, step, 7))
    result = await handle.result()
    assert result.state == RebalanceState.COMPLETED
    assert [o.units_received for o in result.outcomes] == [8, 7]


async def test_partial_receipt_files_a_claim(
    env: WorkflowEnvironment, task_queue: str, fake_inventory: FakeInventory
) -> None:
    request = rebalance_request(stores=["S1"])
    handle = await start(env, request, task_queue)
    await wait_for_status(handle, in_progress)
    t1 = request.plan_id + T1_SUFFIX
    await handle.signal(InventoryRebalance.wms_event, event(t1, "shipped", 8))
    await handle.signal(InventoryRebalance.wms_event, event(t1, "received", 5))
    result = await handle.result()
    assert result.state == RebalanceState.COMPLETED_WITH_VARIANCES
    assert [(v.kind, v.units, v.claim_id) for v in result.variances] == [
        ("SHORT", 3, f"CL-{t1}-short")
    ]
    assert [(c.kind, c.units) for c in fake_inventory.claims] == [("short", 3)]
    assert result.outcomes[0].coverage == Decimal("0.70")
    assert result.outcomes[0].unmet_demand == 3


async def test_lost_shipment_after_aging(
    env: WorkflowEnvironment, task_queue: str, fake_inventory: FakeInventory
) -> None:
    from datetime import UTC, datetime

    request = rebalance_request(
        stores=["S1"],
        need_by=datetime.now(UTC) + timedelta(hours=30),
        policy=rebalance_policy(in_transit_max=timedelta(days=2)),
    )
    handle = await start(env, request, task_queue)
    await wait_for_status(handle, in_progress)
    t1 = request.plan_id + T1_SUFFIX
    fake_inventory.ship(t1, 8)
    await handle.signal(InventoryRebalance.wms_event, event(t1, "shipped", 8))
    await wait_for_status(handle, lambda s: s.transfers[0].state == TransferState.SHIPPED)
    await env.fast_forward(handle, timedelta(days=4))
    result = await handle.result()
    status = await handle.query(InventoryRebalance.status)
    assert result.state == RebalanceState.COMPLETED_WITH_VARIANCES
    assert [(v.kind, v.units) for v in result.variances] == [("LOST", 8)]
    assert [(c.kind, c.transfer_id) for c in fake_inventory.claims] == [("lost", t1)]
    assert status.escalated  # need-by (30 h) passed before the shipment aged out
    assert any(
        a.action == "checked with the WMS" and a.detail == f"{t1}: SHIPPED" for a in status.audit
    )


async def test_cancel_mid_flight_reports_what_is_moving(
    env: WorkflowEnvironment, task_queue: str, fake_inventory: FakeInventory
) -> None:
    request = rebalance_request()
    handle = await start(env, request, task_queue)
    await wait_for_status(handle, in_progress)
    t1, t2 = request.plan_id + T1_SUFFIX, request.plan_id + T2_SUFFIX
    fake_inventory.ship(t1, 8)
    await handle.signal(InventoryRebalance.wms_event, event(t1, "shipped", 8))
    await wait_for_status(handle, lambda s: s.transfers[0].state == TransferState.SHIPPED)
    report = await handle.execute_update(
        InventoryRebalance.cancel,
        await signed(
            handle, CancelRequest(requested_by=approver_of(request.policy), reason="promo off")
        ),
    )
    assert report.cancelled == [t2] and report.already_moving == [t1]
    assert fake_inventory.transfers[t2].status == "CANCELLED"
    await handle.signal(InventoryRebalance.wms_event, event(t1, "received", 8))
    result = await handle.result()
    with pytest.raises(RPCError, match="already completed"):
        await handle.execute_update(
            InventoryRebalance.cancel,
            await signed(
                handle, CancelRequest(requested_by=approver_of(request.policy), reason="again")
            ),
        )
    assert result.state == RebalanceState.CANCELLED
    assert [(o.store_id, o.units_received) for o in result.outcomes] == [("S1", 8), ("S2", 0)]


async def test_need_by_in_the_past_fails_the_workflow(
    env: WorkflowEnvironment, task_queue: str, fake_inventory: FakeInventory
) -> None:
    from datetime import UTC, datetime

    request = rebalance_request(need_by=datetime.now(UTC) - timedelta(hours=1))
    handle = await start(env, request, task_queue)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert "not in the future" in str(failed.value.cause)


async def test_approval_by_signal_runs_the_same_checks(
    env: WorkflowEnvironment, task_queue: str, fake_inventory: FakeInventory
) -> None:
    policy = rebalance_policy(cost_threshold="0", units_threshold=0)
    request = rebalance_request(stores=["S1"], policy=policy)
    handle = await start(env, request, task_queue)
    await wait_for_status(handle, lambda s: s.state == RebalanceState.AWAITING_APPROVAL)
    await handle.signal(
        InventoryRebalance.approval,
        await signed(handle, ApprovalDecision(approver="eve", role="supply_chain")),
    )
    status = await wait_for_status(
        handle, lambda s: any(a.action == "decision refused" for a in s.audit)
    )
    assert status.state == RebalanceState.AWAITING_APPROVAL and status.approvals == []
    await handle.signal(
        InventoryRebalance.approval,
        await signed(handle, ApprovalDecision(approver=approver_of(policy), role="supply_chain")),
    )
    await wait_for_status(handle, in_progress)
    await handle.execute_update(
        InventoryRebalance.cancel,
        await signed(handle, CancelRequest(requested_by=approver_of(policy), reason="done")),
    )
    result = await handle.result()
    assert result.state == RebalanceState.CANCELLED


async def test_workflow_cancellation_compensates_like_the_cancel_update(
    env: WorkflowEnvironment, task_queue: str, fake_inventory: FakeInventory
) -> None:
    """A parent promotion rolling back cancels its child: unshipped transfers are cancelled."""
    from temporalio.exceptions import CancelledError

    request = rebalance_request()
    handle = await start(env, request, task_queue)
    await wait_for_status(handle, in_progress)
    t1, t2 = request.plan_id + T1_SUFFIX, request.plan_id + T2_SUFFIX
    fake_inventory.ship(t1, 8)
    await handle.signal(InventoryRebalance.wms_event, event(t1, "shipped", 8))
    await wait_for_status(handle, lambda s: s.transfers[0].state == TransferState.SHIPPED)
    await handle.cancel()
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert isinstance(failed.value.cause, CancelledError)
    assert fake_inventory.cancel_calls == [t2]
    assert fake_inventory.transfers[t2].status == "CANCELLED"


async def test_transfer_never_shipped_is_cancelled_after_the_deadline(
    env: WorkflowEnvironment, task_queue: str, fake_inventory: FakeInventory
) -> None:
    request = rebalance_request(
        stores=["S1"], policy=rebalance_policy(in_transit_max=timedelta(days=1))
    )
    handle = await start(env, request, task_queue)
    await wait_for_status(handle, in_progress)
    await env.fast_forward(handle, timedelta(days=5))
    result = await handle.result()
    status = await handle.query(InventoryRebalance.status)
    t1 = request.plan_id + T1_SUFFIX
    assert fake_inventory.cancel_calls == [t1]
    assert status.transfers[0].state == TransferState.CANCELLED and status.escalated
    assert result.state == RebalanceState.COMPLETED_WITH_VARIANCES
    assert result.outcomes[0].unmet_demand == 8
