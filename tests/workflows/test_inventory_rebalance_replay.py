"""The recorded InventoryRebalance history replays against the current workflow code.

Re-record (after an intended, patched change) with:

    RECORD_HISTORIES=1 .venv/bin/python -m pytest tests/workflows/test_inventory_rebalance_replay.py

The recorded run: approval required (a wrong role refused first), two transfers, duplicate
and out-of-order WMS events, one short receipt with its ERP claim, one full receipt.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from common.temporal import data_converter
from domain.rebalance.contract import ApprovalDecision, workflow_id
from domain.rebalance.status import RebalanceState
from fakes.rebalance import FakeInventory
from tests.fixtures.rebalance import (
    approver_of,
    event,
    rebalance_policy,
    rebalance_request,
    wait_for_status,
)
from workflows.inventory_rebalance import InventoryRebalance

HISTORY = Path(__file__).resolve().parent.parent / "histories" / "inventory_rebalance.json"
RECORD = os.environ.get("RECORD_HISTORIES") == "1"


@pytest.mark.skipif(not RECORD, reason="set RECORD_HISTORIES=1 to re-record the history")
async def test_record_history(
    env: WorkflowEnvironment, task_queue: str, fake_inventory: FakeInventory
) -> None:
    policy = rebalance_policy(cost_threshold="10")
    request = rebalance_request(plan_id="recorded-1", policy=policy)
    # Any: the SDK's `workflow.update(name=...)` overload types an async handler's result
    # as a coroutine, so a typed handle's `execute_update` would read as never awaited
    handle: Any
    with env.with_time_skipping_disabled():
        handle = await env.client.start_workflow(
            InventoryRebalance.run,
            request,
            id=workflow_id(request.plan_id),
            task_queue=task_queue,
        )
    await wait_for_status(handle, lambda s: s.state == RebalanceState.AWAITING_APPROVAL)
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(
            InventoryRebalance.approve,
            ApprovalDecision(approver=approver_of(policy), role="finance"),
        )
    await handle.execute_update(
        InventoryRebalance.approve,
        ApprovalDecision(approver=approver_of(policy), role="supply_chain"),
    )
    await wait_for_status(handle, lambda s: s.state == RebalanceState.IN_PROGRESS)
    t1, t2 = f"{request.plan_id}-T0001", f"{request.plan_id}-T0002"
    shipped = event(t1, "shipped", 8, event_id="e-t1-shipped")
    for e in (
        shipped,
        event(t1, "picked", 8, event_id="e-t1-picked"),
        shipped,
        event(t1, "received", 6, event_id="e-t1-received"),
        event(t2, "picked", 7, event_id="e-t2-picked"),
        event(t2, "shipped", 7, event_id="e-t2-shipped"),
        event(t2, "received", 7, event_id="e-t2-received"),
    ):
        await handle.signal(InventoryRebalance.wms_event, e)
    result = await handle.result()
    assert result.state == RebalanceState.COMPLETED_WITH_VARIANCES
    history = await handle.fetch_history()
    HISTORY.parent.mkdir(parents=True, exist_ok=True)
    HISTORY.write_text(history.to_json())


async def test_recorded_history_replays() -> None:
    if not HISTORY.exists():
        pytest.fail(f"{HISTORY.name} is missing: record it with RECORD_HISTORIES=1")
    history = WorkflowHistory.from_json(workflow_id("recorded-1"), HISTORY.read_text())
    replayer = Replayer(workflows=[InventoryRebalance], data_converter=data_converter())
    await replayer.replay_workflow(history)
