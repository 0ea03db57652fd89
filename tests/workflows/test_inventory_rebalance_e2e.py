"""InventoryRebalance end to end: real activities, real HTTP to the live backoffice, WMS events
through the backoffice ingress as `wms_event` signals (time-skipping `env`).

Deterministic by construction: the workflow starts with time skipping off; WMS progress is
either the backoffice's own (`auto`, for the happy path) or pushed by the test through the
WMS `advance` call (`manual`); aging is reached with `env.fast_forward` on the one workflow.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from domain.rebalance.contract import (
    ApprovalDecision,
    CancelRequest,
    DemandOverride,
    RebalanceRequest,
    RebalanceResult,
    workflow_id,
)
from domain.rebalance.screening import ExclusionReason
from domain.rebalance.status import RebalanceState, TransferState
from tests.fixtures.backoffice import LiveBackoffice
from tests.fixtures.rebalance import (
    approver_of,
    backoffice_settings,
    rebalance_policy,
    rebalance_request,
    signed,
    wait_for_status,
)
from wire.common import QuantityLine
from workflows.inventory_rebalance import InventoryRebalance

ITEMS = ["I0001", "I0003"]
# Each test plans for its own pair of east-region stores (served by DC-EAST): the session's
# backoffice keeps the stock every earlier test moved.
DEMAND = ((20, 120), (150, 60))


def e2e_request(stores: list[str], **changes: Any) -> RebalanceRequest:
    overrides = [
        DemandOverride(store_id=store, item_id=item, units=DEMAND[n][m])
        for n, store in enumerate(stores)
        for m, item in enumerate(ITEMS)
    ]
    return rebalance_request(stores, ITEMS, demand_override=overrides, **changes)


async def start(env: WorkflowEnvironment, request: RebalanceRequest, task_queue: str) -> Any:
    with env.with_time_skipping_disabled():
        return await env.client.start_workflow(
            InventoryRebalance.run,
            request,
            id=workflow_id(request.plan_id),
            task_queue=task_queue,
        )


async def test_happy_path_against_the_backoffice(
    env: WorkflowEnvironment, run_worker: Any, task_queue: str, backoffice: LiveBackoffice
) -> None:
    policy = rebalance_policy(cost_threshold="1", units_threshold=10_000)
    sam = approver_of(policy)
    request = e2e_request(["S001", "S004"], policy=policy, wms_progress="auto")
    async with run_worker(env.client, settings=backoffice_settings(backoffice)):
        handle = await start(env, request, task_queue)
        status = await wait_for_status(
            handle, lambda s: s.state == RebalanceState.AWAITING_APPROVAL, what="approval"
        )
        assert status.plan is not None and status.plan.moves
        with pytest.raises(WorkflowUpdateFailedError, match="failed"):
            await handle.execute_update(
                InventoryRebalance.approve,
                await signed(handle, ApprovalDecision(approver=sam, role="finance")),
            )
        await handle.execute_update(
            InventoryRebalance.approve,
            await signed(handle, ApprovalDecision(approver=sam, role="supply_chain")),
        )
        result: RebalanceResult = await handle.result()
        final = await handle.query(InventoryRebalance.status)
    assert result.state == RebalanceState.COMPLETED, final.audit
    assert result.units_received == result.units_planned > 0
    assert all(t.state == TransferState.RECEIVED for t in final.transfers)
    for outcome in result.outcomes:
        assert outcome.unmet_demand == 0, outcome
    async with backoffice.adapters() as bo:
        for transfer in final.transfers:
            wms = await bo.wms.get_transfer(transfer.transfer_id)
            assert wms.status == "RECEIVED"
            assert wms.reference == request.plan_id


async def _released(env: WorkflowEnvironment, request: RebalanceRequest, task_queue: str) -> Any:
    handle = await start(env, request, task_queue)
    await wait_for_status(
        handle,
        lambda s: (
            s.state == RebalanceState.IN_PROGRESS
            and all(t.state == TransferState.RELEASED for t in s.transfers)
        ),
        what="transfers released",
    )
    return handle


async def test_partial_receipt_becomes_an_erp_claim(
    env: WorkflowEnvironment, run_worker: Any, task_queue: str, backoffice: LiveBackoffice
) -> None:
    request = e2e_request(["S007", "S010"], wms_progress="manual")
    async with (
        run_worker(env.client, settings=backoffice_settings(backoffice)),
        backoffice.adapters() as bo,
    ):
        handle = await _released(env, request, task_queue)
        status = await handle.query(InventoryRebalance.status)
        first, *others = status.transfers
        await bo.wms.advance(first.transfer_id, "pick")
        await bo.wms.advance(first.transfer_id, "ship")
        short = first.units_planned - 1
        await bo.wms.advance(
            first.transfer_id, "receive", [QuantityLine(item_id=first.item_id, quantity=short)]
        )
        for transfer in others:
            for step in ("pick", "ship", "receive"):
                await bo.wms.advance(transfer.transfer_id, step)
        result = await handle.result()
        claims = await bo.erp.list_transfer_claims(transfer_id=first.transfer_id)
    assert result.state == RebalanceState.COMPLETED_WITH_VARIANCES
    assert [(v.transfer_id, v.kind, v.units) for v in result.variances] == [
        (first.transfer_id, "SHORT", 1)
    ]
    assert len(claims) == 1 and claims[0].kind == "short"
    assert result.variances[0].claim_id == claims[0].claim_id


async def test_lost_shipment_after_aging_is_claimed(
    env: WorkflowEnvironment, run_worker: Any, task_queue: str, backoffice: LiveBackoffice
) -> None:
    request = rebalance_request(
        ["S013"],
        ["I0001"],
        demand_override=[DemandOverride(store_id="S013", item_id="I0001", units=150)],
        wms_progress="manual",
        policy=rebalance_policy(in_transit_max=timedelta(days=2)),
    )
    async with (
        run_worker(env.client, settings=backoffice_settings(backoffice)),
        backoffice.adapters() as bo,
    ):
        handle = await _released(env, request, task_queue)
        status = await handle.query(InventoryRebalance.status)
        for transfer in status.transfers:
            await bo.wms.advance(transfer.transfer_id, "pick")
            await bo.wms.advance(transfer.transfer_id, "ship")
        await wait_for_status(
            handle,
            lambda s: all(t.state == TransferState.SHIPPED for t in s.transfers),
            what="shipped events through the ingress",
        )
        await env.fast_forward(handle, timedelta(days=5))
        result = await handle.result()
        claims = [
            c
            for t in status.transfers
            for c in await bo.erp.list_transfer_claims(transfer_id=t.transfer_id)
        ]
    assert {v.kind for v in result.variances} == {"LOST"}
    assert {c.kind for c in claims} == {"lost"} and len(claims) == len(status.transfers)
    assert result.outcomes[0].units_received == 0


async def test_cancel_mid_flight_cancels_unshipped_in_the_wms(
    env: WorkflowEnvironment, run_worker: Any, task_queue: str, backoffice: LiveBackoffice
) -> None:
    request = e2e_request(["S016", "S019"], wms_progress="manual")
    async with (
        run_worker(env.client, settings=backoffice_settings(backoffice)),
        backoffice.adapters() as bo,
    ):
        handle = await _released(env, request, task_queue)
        status = await handle.query(InventoryRebalance.status)
        assert len(status.transfers) >= 2
        moving, *rest = status.transfers
        await bo.wms.advance(moving.transfer_id, "pick")
        await bo.wms.advance(moving.transfer_id, "ship")
        await wait_for_status(
            handle, lambda s: s.transfers[0].state == TransferState.SHIPPED, what="shipped"
        )
        report = await handle.execute_update(
            InventoryRebalance.cancel,
            await signed(
                handle,
                CancelRequest(requested_by=approver_of(request.policy), reason="promo moved"),
            ),
        )
        assert report.already_moving == [moving.transfer_id]
        assert sorted(report.cancelled) == sorted(t.transfer_id for t in rest)
        for transfer in rest:
            assert (await bo.wms.get_transfer(transfer.transfer_id)).status == "CANCELLED"
        await bo.wms.advance(moving.transfer_id, "receive")
        result = await handle.result()
    assert result.state == RebalanceState.CANCELLED
    assert result.units_received == moving.units_planned


async def test_stale_stock_feed_is_excluded_and_reported(
    env: WorkflowEnvironment, run_worker: Any, task_queue: str, backoffice: LiveBackoffice
) -> None:
    # The fault freezes WMS figures as of the moment it is set; any age counts as stale
    # for this policy, so every position read after it is excluded (and nothing moves).
    request = e2e_request(
        ["S022", "S025"], policy=rebalance_policy(feed_max_age=timedelta(microseconds=1))
    )
    async with run_worker(env.client, settings=backoffice_settings(backoffice)):
        async with backoffice.fault("wms", "positions", stale_stock=True):
            handle = await start(env, request, task_queue)
            result = await handle.result()
        status = await handle.query(InventoryRebalance.status)
    stores = {(e.location_id, e.reason) for e in result.excluded}
    assert {("S022", ExclusionReason.STALE), ("S025", ExclusionReason.STALE)} <= stores
    assert result.state == RebalanceState.NOTHING_TO_MOVE
    assert all(
        o.excluded_reason == ExclusionReason.STALE
        for o in result.outcomes
        if (o.store_id, o.item_id) in {(e.location_id, e.item_id) for e in result.excluded}
    )
    assert any(
        a.action == "position excluded" and a.detail.startswith("S022/") and "STALE" in a.detail
        for a in status.audit
    )


async def test_unknown_store_refused_by_the_cli_and_nothing_started(
    env: WorkflowEnvironment, backoffice: LiveBackoffice, tmp_path: Any
) -> None:
    import json
    from dataclasses import replace

    from cli.common import InputError
    from cli.rebalance import plan_command
    from common.config import Settings

    request = e2e_request(["S001"], plan_id="cli-unknown-store")
    data = json.loads(request.model_dump_json())
    data["scope"]["stores"] = ["S001", "S999"]
    data["demand_override"] = []
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data))
    settings = replace(Settings(), backoffice_url=backoffice.url)
    with pytest.raises(InputError) as refused:
        await plan_command(settings, path, client=env.client)
    assert "scope.stores.1" in str(refused.value) and "'S999'" in str(refused.value)
    from temporalio.service import RPCError

    with pytest.raises(RPCError):
        await env.client.get_workflow_handle(workflow_id("cli-unknown-store")).describe()


async def test_duplicate_wms_deliveries_through_the_ingress_count_once(
    env: WorkflowEnvironment, run_worker: Any, task_queue: str, backoffice: LiveBackoffice
) -> None:
    request = e2e_request(["S028", "S031"], wms_progress="auto")
    async with run_worker(env.client, settings=backoffice_settings(backoffice)):
        async with backoffice.fault("wms", "events", duplicate_rate=1.0, duplicate_count=2):
            handle = await start(env, request, task_queue)
            result = await handle.result()
            faults = await backoffice.faults()
        status = await handle.query(InventoryRebalance.status)
    injected = sum(sum(f.injected.values()) for f in faults if f.spec.system == "wms")
    assert injected > 0, faults  # the ingress really delivered duplicates
    assert result.state == RebalanceState.COMPLETED, status.audit
    assert result.units_received == result.units_planned > 0
    for transfer in status.transfers:
        # one audit line per real step, whatever the number of deliveries
        steps = [
            a.detail
            for a in status.audit
            if a.action == "wms event" and a.detail.startswith(f"{transfer.transfer_id}: ")
        ]
        assert len(steps) == 3, steps


async def test_a_frozen_stock_feed_is_stale_after_the_products_own_transfers(
    env: WorkflowEnvironment, run_worker: Any, task_queue: str, backoffice: LiveBackoffice
) -> None:
    """The WMS feed freezes (fault `stale_stock`: figures and `as_of` stay at the moment it
    was set, minutes ago, well within `feed_max_age`). A first plan moves stock; the next
    plan must not repeat those moves on figures that do not show them."""
    stores = ["S034", "S037"]
    async with (
        run_worker(env.client, settings=backoffice_settings(backoffice)),
        backoffice.fault("wms", "positions", stale_stock=True),
    ):
        first = e2e_request(stores, wms_progress="auto")
        done: RebalanceResult = await (await start(env, first, task_queue)).result()
        assert done.state == RebalanceState.COMPLETED and done.units_planned > 0
        second = e2e_request(stores, wms_progress="auto")
        handle = await start(env, second, task_queue)
        result: RebalanceResult = await handle.result()
        status = await handle.query(InventoryRebalance.status)
    assert status.plan is not None
    stale = {
        (e.location_id, e.item_id): e.detail
        for e in status.plan.excluded
        if e.reason == ExclusionReason.STALE
    }
    moved_items = {o.item_id for o in done.outcomes if o.units_planned > 0}
    for item in moved_items:
        assert ("DC-EAST", item) in stale, status.plan.excluded
        assert first.plan_id in stale[("DC-EAST", item)]
    assert not [m for m in status.plan.moves if m.item_id in moved_items]
    assert result.state == RebalanceState.NOTHING_TO_MOVE
