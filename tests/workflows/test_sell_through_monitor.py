"""SellThroughMonitor against the live backoffice's POS (sales and price book).

The POS sales figures are the backoffice's deterministic baseline; the tests choose the
forecast so a region sells far below it (markdown) or far above it (transfer).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from domain.rebalance.policy import ApprovalPolicy, RebalancePolicy
from domain.sellthrough import (
    Decision,
    MonitorInput,
    MonitorItem,
    MonitorPolicy,
    MonitorSummary,
    Recommendation,
    RecommendationKind,
    RecommendationStatus,
)
from tests.fixtures.publication import ChannelRig, wait_until
from workflows.channel_publication import ChannelPublication
from workflows.sell_through_monitor import SellThroughMonitor, workflow_id

ITEM = "I0002"
WEST = ["S003", "S006", "S009"]
EAST = ["S001", "S004", "S007"]


async def _item(rig: ChannelRig) -> MonitorItem:
    async with rig.backoffice.adapters() as bo:
        item = await bo.erp.get_item(ITEM)
    promo = (item.regular_price * Decimal("0.8")).quantize(Decimal("0.01"))
    return MonitorItem(
        item_id=ITEM, regular_price=item.regular_price, promo_price=promo, offer="20% off"
    )


def _input(
    item: MonitorItem,
    *,
    now: datetime,
    auto_markdown_max_pct: str,
    checks_per_run: int = 50,
    window: timedelta = timedelta(hours=6),
    **policy: object,
) -> MonitorInput:
    starts = now - timedelta(hours=1)
    return MonitorInput(
        promotion_id=f"ST-{uuid.uuid4().hex[:8]}",
        items=[item],
        stores_by_region={"west": WEST, "east": EAST},
        # west is forecast to sell a million units: whatever it sells is far too slow
        forecast_units={"west": {ITEM: 1_000_000}},
        starts_at=starts,
        ends_at=starts + window,
        policy=MonitorPolicy(
            check_interval=timedelta(hours=1),
            auto_markdown_max_pct=Decimal(auto_markdown_max_pct),
            max_markdown_pct=Decimal("40"),
            authorized_roles=["category_manager"],
            checks_per_run=checks_per_run,
            ack_timeout=timedelta(seconds=30),
            **policy,
        ),
    )


async def _status(handle: WorkflowHandle) -> MonitorSummary:
    return await handle.query(SellThroughMonitor.status)


async def _west_prices(rig: ChannelRig, promotion_id: str) -> set[Decimal]:
    async with rig.backoffice.adapters() as bo:
        book = await bo.pos.promotion_prices(promotion_id)
    assert sorted(e.store_id for e in book) == WEST
    return {p.price for e in book for p in e.prices}


async def _start(client: Client, data: MonitorInput, task_queue: str) -> WorkflowHandle:
    return await client.start_workflow(
        SellThroughMonitor.run, data, id=workflow_id(data.promotion_id), task_queue=task_queue
    )


async def test_markdown_inside_bounds_is_applied_automatically(
    local_env: WorkflowEnvironment, run_worker, channel_rig: ChannelRig, task_queue: str
) -> None:
    data = _input(await _item(channel_rig), now=datetime.now(UTC), auto_markdown_max_pct="40")
    async with run_worker(
        local_env.client,
        workflows=[SellThroughMonitor, ChannelPublication],
        activities=channel_rig.activities(),
    ):
        handle = await _start(local_env.client, data, task_queue)

        async def applied() -> MonitorSummary | None:
            status = await _status(handle)
            done = [r for r in status.recommendations if r.status is RecommendationStatus.APPLIED]
            return status if done else None

        status = await wait_until(applied, what="the automatic markdown")
        await handle.terminate("test over")
    [rec] = status.recommendations
    assert (rec.kind, rec.region, rec.markdown_pct, rec.automatic) == (
        RecommendationKind.MARKDOWN,
        "west",
        Decimal("40"),
        True,
    )
    assert rec.new_price == (data.items[0].promo_price * Decimal("0.6")).quantize(Decimal("0.01"))
    assert await _west_prices(channel_rig, data.promotion_id) == {rec.new_price}
    actions = [(a.actor, a.action) for a in status.audit]
    assert ("sell-through monitor", "recommended") in actions
    assert ("sell-through monitor", "applied") in actions
    assert "inside policy bounds" in next(
        a.detail for a in status.audit if a.action == "recommended"
    )


async def test_markdown_outside_bounds_waits_for_an_authorized_decision(
    local_env: WorkflowEnvironment, run_worker, channel_rig: ChannelRig, task_queue: str
) -> None:
    data = _input(await _item(channel_rig), now=datetime.now(UTC), auto_markdown_max_pct="10")
    client = local_env.client
    async with run_worker(
        client,
        workflows=[SellThroughMonitor, ChannelPublication],
        activities=channel_rig.activities(),
    ):
        handle = await _start(client, data, task_queue)

        async def awaiting() -> MonitorSummary | None:
            status = await _status(handle)
            return status if status.awaiting else None

        status = await wait_until(awaiting, what="a recommendation awaiting a decision")
        [rec] = status.awaiting
        assert rec.markdown_pct == Decimal("40") and not rec.automatic
        description = await handle.describe()
        assert description.typed_search_attributes is not None

        decision = Decision(recommendation_id=rec.id, approve=True, by="olga", role="store_ops")
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update("decide", decision, result_type=Recommendation)
        assert "role 'store_ops' may not decide" in str(refused.value.cause)

        approved = await handle.execute_update(
            "decide",
            decision.model_copy(update={"by": "carla", "role": "category_manager"}),
            result_type=Recommendation,
        )
        assert approved.status is RecommendationStatus.APPLIED
        assert approved.decided_by == "carla"
        assert await _west_prices(channel_rig, data.promotion_id) == {approved.new_price}

        with pytest.raises(WorkflowUpdateFailedError) as closed:
            await handle.execute_update(
                "decide",
                decision.model_copy(update={"role": "category_manager"}),
                result_type=Recommendation,
            )
        assert "is closed (APPLIED)" in str(closed.value.cause)
        status = await _status(handle)
        await handle.terminate("test over")
    # the refused decisions never entered the history; the audit has the approval
    history = await handle.fetch_history()
    accepted = [
        e
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    assert len(accepted) == 1
    assert [(a.actor, a.action) for a in status.audit if a.action in ("approved", "applied")] == [
        ("carla (category_manager)", "approved"),
        ("carla (category_manager)", "applied"),
    ]


async def test_monitor_continues_as_new_and_keeps_its_state(
    env: WorkflowEnvironment, run_worker, monitor_rig: ChannelRig, task_queue: str
) -> None:
    now = datetime.now(UTC)  # each workflow's virtual clock starts at the real time
    data = _input(
        await _item(monitor_rig),
        now=now,
        auto_markdown_max_pct="40",
        checks_per_run=2,
        window=timedelta(hours=5),
    )
    async with run_worker(
        env.client,
        workflows=[SellThroughMonitor, ChannelPublication],
        activities=monitor_rig.activities(),
    ):
        summary = await env.client.execute_workflow(
            SellThroughMonitor.run, data, id=workflow_id(data.promotion_id), task_queue=task_queue
        )
    assert summary.state == "ENDED"
    # checks at +1 h .. +4 h of the window, two per run
    assert summary.checks == 4 and summary.runs == 3
    # the markdown of the first run is still known (and not repeated) at the end
    [rec] = summary.recommendations
    assert rec.status is RecommendationStatus.APPLIED and rec.id == "rec-1"
    assert sum(1 for a in summary.audit if a.action == "continued") == summary.runs - 1
    assert sum(1 for a in summary.audit if a.action == "checked") == 4
    # each run's history stays small
    history = await env.client.get_workflow_handle(workflow_id(data.promotion_id)).fetch_history()
    assert len(history.events) < 200


async def test_fast_region_gets_a_transfer_through_inventory_rebalance(
    env: WorkflowEnvironment, run_worker, monitor_rig: ChannelRig, task_queue: str
) -> None:
    now = datetime.now(UTC)  # each workflow's virtual clock starts at the real time
    item = await _item(monitor_rig)
    data = _input(
        item,
        now=now,
        auto_markdown_max_pct="40",
        rebalance_policy=RebalancePolicy(
            approval=ApprovalPolicy(approvers={"supply_chain": ["sam"]})
        ),
        auto_transfer_max_units=1_000_000,
    )
    # east sells its baseline against a forecast of 1 unit: far faster than planned
    data.forecast_units["east"] = {ITEM: 1}
    data.policy.min_expected_units = 0
    async with run_worker(
        env.client,
        workflows=[SellThroughMonitor, ChannelPublication],
        activities=monitor_rig.activities(),
    ):
        handle = await _start(env.client, data, task_queue)

        async def transferred() -> MonitorSummary | None:
            status = await _status(handle)
            done = [
                r
                for r in status.recommendations
                if r.kind is RecommendationKind.TRANSFER and r.rebalance_workflow_id
            ]
            return status if done else None

        status = await wait_until(transferred, what="the transfer recommendation")
        await handle.terminate("test over")
    transfer = next(r for r in status.recommendations if r.kind is RecommendationKind.TRANSFER)
    assert (transfer.region, transfer.source_region) == ("east", "west")
    assert transfer.status is RecommendationStatus.APPLIED
    child = env.client.get_workflow_handle(transfer.rebalance_workflow_id or "")
    assert (await child.describe()).workflow_type == "InventoryRebalance"
    await child.terminate("test over")
