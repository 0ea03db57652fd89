"""Integrity of `InventoryRebalance` runs (fast tier, scripted WMS/ERP edge): a failed run
says FAILED, never the step it left; a business key names one run forever."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

from cli.common import CommandError
from cli.rebalance import plan_command
from common.config import Settings
from domain.rebalance.contract import RebalanceRequest, workflow_id
from domain.rebalance.status import RebalanceState
from fakes.rebalance import FakeInventory, small_estate
from tests.fixtures.rebalance import rebalance_request, wait_for_status
from workflows.inventory_rebalance import InventoryRebalance

RETAIL_STATE = SearchAttributeKey.for_keyword("RetailState")


async def start(env: WorkflowEnvironment, request: RebalanceRequest, task_queue: str) -> Any:
    with env.with_time_skipping_disabled():
        return await env.client.start_workflow(
            InventoryRebalance.run, request, id=workflow_id(request.plan_id), task_queue=task_queue
        )


async def test_a_run_failing_at_release_says_failed_not_releasing(
    env: WorkflowEnvironment, task_queue: str, fake_inventory: FakeInventory
) -> None:
    """The reported bug: a WMS idempotency 409 at release failed the run, whose status and
    RetailState kept saying RELEASING."""
    fake_inventory.release_refusal = "idempotency_conflict"
    handle = await start(env, rebalance_request(), task_queue)
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    status = await handle.query(InventoryRebalance.status)
    assert status.state == RebalanceState.FAILED
    assert status.audit[-1].action == "failed"
    assert "RELEASING failed" in status.audit[-1].detail
    assert "idempotency_conflict" in status.audit[-1].detail
    described = await handle.describe()
    assert described.typed_search_attributes.get(RETAIL_STATE) == "FAILED"


async def test_a_completed_plan_id_is_never_started_again(
    env: WorkflowEnvironment, task_queue: str, fake_inventory: FakeInventory, tmp_path: Any
) -> None:
    """A second `rebalance plan` with the id of a closed plan is refused in one line that
    names the run and its final state; no second run exists."""
    settings = replace(Settings(), task_queue=task_queue)
    request = rebalance_request(
        demand_override=[
            {"store_id": "S1", "item_id": "I1", "units": 0},
            {"store_id": "S2", "item_id": "I1", "units": 0},
        ]
    )
    path = tmp_path / "request.json"
    path.write_text(request.model_dump_json())
    with env.with_time_skipping_disabled():
        wf_id = await plan_command(settings, path, client=env.client, check_master=False)
    handle = env.client.get_workflow_handle(wf_id)
    first = await handle.result()
    assert first["state"] == RebalanceState.NOTHING_TO_MOVE
    run_id = (await handle.describe()).run_id
    with pytest.raises(CommandError) as refused:
        with env.with_time_skipping_disabled():
            await plan_command(settings, path, client=env.client, check_master=False)
    words = str(refused.value)
    assert refused.value.code == 1
    assert "\n" not in words
    assert f"plan {request.plan_id} already ran as workflow {wf_id} (run {run_id})" in words
    assert "COMPLETED" in words and "NOTHING_TO_MOVE" in words
    runs = [w async for w in env.client.list_workflows(f"WorkflowId = '{wf_id}'")]
    assert len(runs) == 1


def inflated_estate(planned_at: Any) -> Any:
    """Every store figure inflated: 102 and 103 units against a demand of 8 each."""
    estate = small_estate(planned_at)
    return estate.model_copy(
        update={
            "positions": [
                p.model_copy(update={"on_hand": p.on_hand + 100}) for p in estate.positions
            ],
            "demand": [d.model_copy(update={"units": 8}) for d in estate.demand],
        }
    )


async def test_a_plan_on_an_inflated_feed_waits_for_approval_below_the_thresholds(
    env: WorkflowEnvironment, task_queue: str, fake_inventory: FakeInventory
) -> None:
    fake_inventory.estate_factory = inflated_estate
    s1_needs = rebalance_request(
        demand_override=[
            {"store_id": "S1", "item_id": "I1", "units": 200},
            {"store_id": "S2", "item_id": "I1", "units": 8},
        ]
    )
    handle = await start(env, s1_needs, task_queue)
    status = await wait_for_status(
        handle, lambda s: s.state == RebalanceState.AWAITING_APPROVAL, what="approval"
    )
    assert status.plan is not None and 0 < status.plan.total_units < 1000
    assert [r for r in status.approval_reasons if "stock feed is doubtful" in r]
    await handle.cancel()
