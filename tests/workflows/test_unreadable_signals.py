"""A signal a workflow cannot read is recorded, never dropped in silence (status or audit,
and `RetailProblem = 'unreadable_signal'`); an event as the ingress sends it is read.

Fast tier: scripted edges. The SDK would drop a payload that does not fit the handler's
type with a log line ("dropping the signal"); the handlers take the raw payload instead."""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

from common.signals import UNREADABLE_SIGNAL
from domain.promotion.contract import STORE_TASK_DONE
from domain.publication.contract import CHANNEL_ACK, Channel
from domain.rebalance.contract import WMS_EVENT, workflow_id
from domain.returns import contract as returns_contract
from domain.returns.status import ReturnState
from fakes.publication import ScriptedChannel
from fakes.rebalance import FakeInventory
from fakes.returns import ScriptedReturnSystems
from tests.fixtures.promotion import FastRig
from tests.fixtures.publication import publication_request
from tests.fixtures.rebalance import rebalance_request, wait_for_status
from tests.fixtures.returns import return_request, start_return, wait_for_state
from workflows.channel_publication import ChannelPublication
from workflows.inventory_rebalance import InventoryRebalance

RETAIL_PROBLEM = SearchAttributeKey.for_keyword("RetailProblem")


async def problem_of(handle: Any) -> str | None:
    return (await handle.describe()).typed_search_attributes.get(RETAIL_PROBLEM)


async def test_an_unreadable_wms_event_is_in_the_status_and_flagged(
    env: WorkflowEnvironment, task_queue: str, fake_inventory: FakeInventory
) -> None:
    request = rebalance_request()
    with env.with_time_skipping_disabled():
        handle = await env.client.start_workflow(
            InventoryRebalance.run, request, id=workflow_id(request.plan_id), task_queue=task_queue
        )
    await wait_for_status(handle, lambda s: bool(s.transfers), what="planned")
    bad = {"event_id": "ev-bad-1", "transfer_id": "T", "step": "teleported", "lines": []}
    await handle.signal(WMS_EVENT, bad)
    status = await wait_for_status(handle, lambda s: bool(s.unreadable_signals), what="record")
    assert status.unreadable_signals[0].startswith("wms_event ev-bad-1: step:")
    assert any(a.action == "signal unreadable" for a in status.audit)
    assert await problem_of(handle) == UNREADABLE_SIGNAL


async def test_an_unreadable_channel_ack_is_in_the_outcome_and_flagged(
    env: WorkflowEnvironment, run_worker: Any, task_queue: str
) -> None:
    channel = ScriptedChannel(env.client, acks_per_send=1)
    request = publication_request(f"P-{uuid.uuid4().hex[:6]}", Channel.ECOMMERCE)
    async with run_worker(env.client, fakes=channel.activities()):
        with env.with_time_skipping_disabled():
            handle = await env.client.start_workflow(
                ChannelPublication.run, request, id=f"pub-{uuid.uuid4().hex}", task_queue=task_queue
            )
            await handle.signal(CHANNEL_ACK, {"event_id": "ack-bad", "status": "perhaps"})
        outcome = await handle.result()
    assert outcome.unreadable_signals and outcome.unreadable_signals[0].startswith(
        "channel_ack ack-bad: "
    )
    assert outcome.confirmed == 1
    assert await problem_of(handle) == UNREADABLE_SIGNAL


async def test_an_ingress_receipt_is_read_and_an_unreadable_one_is_audited(
    env: WorkflowEnvironment,
    run_worker: Any,
    task_queue: str,
    scripted_returns: ScriptedReturnSystems,
) -> None:
    """The reported loss: an `item_received` event from the ingress (it carries the
    delivery's `event_id`) could not be deserialized and was dropped."""
    async with run_worker(env.client, fakes=scripted_returns.activities()):
        with env.with_time_skipping_disabled():
            handle = await start_return(env.client, task_queue, return_request())
            await wait_for_state(handle, ReturnState.AWAITING_ITEM)
            await handle.signal(
                returns_contract.ITEM_RECEIVED, {"event_id": "ev-1", "receipt_id": ""}
            )
            await handle.signal(
                returns_contract.ITEM_RECEIVED,
                {"event_id": "ev-2", "receipt_id": "SCAN-9", "source": "store_scan"},
            )
            status = await wait_for_state(handle, ReturnState.RECEIVED)
    unreadable = [a for a in status.audit if a.action == "signal unreadable"]
    assert len(unreadable) == 1 and "ev-1" in unreadable[0].detail
    assert "receipt_id" in unreadable[0].detail
    assert await problem_of(handle) == UNREADABLE_SIGNAL
    await handle.terminate("test over")


async def test_an_unreadable_store_task_event_is_audited_and_flagged(
    fast_promo_rig: FastRig,
) -> None:
    rig = fast_promo_rig
    handle = await rig.launch(rig.plan(prefix="FAST-UNREADABLE"))
    await rig.wait_state(handle, "AWAITING_APPROVAL")
    await handle.signal(STORE_TASK_DONE, {"event_id": "task-ev-1", "status": "finished"})
    status = await rig.wait_for(
        handle,
        lambda s: any(a.action == "signal unreadable" for a in s.audit),
        what="the unreadable event audited",
    )
    [entry] = [a for a in status.audit if a.action == "signal unreadable"]
    assert "task-ev-1" in entry.detail and "task_id" in entry.detail
    assert await problem_of(handle) == UNREADABLE_SIGNAL
    await handle.terminate("test over")
