"""SellThroughMonitor against the live backoffice's POS (sales and price book), and its
races against scripted fakes.

The POS sales figures are the backoffice's deterministic baseline; the tests choose the
forecast so a region sells far below it (markdown) or far above it (transfer). The race
tests (end of the module) script the sales (`fakes/sellthrough.py`) and hold a POS
publication (`fakes/publication.py`) while a decision arrives.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.testing import WorkflowEnvironment

from domain.publication.contract import Channel
from domain.publication.prices import PriceLine
from domain.rebalance.contract import WORKFLOW_TYPE as REBALANCE_WORKFLOW_TYPE
from domain.rebalance.policy import ApprovalPolicy, RebalancePolicy
from domain.sellthrough.contract import Decision, MonitorInput, MonitorSummary, workflow_id
from domain.sellthrough.policy import MonitorPolicy
from domain.sellthrough.status import Recommendation, RecommendationKind, RecommendationStatus
from fakes.publication import ScriptedChannel
from fakes.sellthrough import ScriptedSales
from tests.fixtures.publication import ChannelRig, wait_until
from workflows.sell_through_monitor import SellThroughMonitor

ITEM = "I0002"
WEST = ["S003", "S006", "S009"]
EAST = ["S001", "S004", "S007"]


async def _item(rig: ChannelRig) -> PriceLine:
    async with rig.backoffice.adapters() as bo:
        item = await bo.erp.get_item(ITEM)
    promo = (item.regular_price * Decimal("0.8")).quantize(Decimal("0.01"))
    return PriceLine(
        item_id=ITEM, regular_price=item.regular_price, promo_price=promo, offer="20% off"
    )


async def _decide(handle: WorkflowHandle[Any, Any], decision: Decision) -> Recommendation:
    """`decide` by typed reference (the SDK types a named async update's result as the
    coroutine, so the result is cast back)."""
    result: Any = await handle.execute_update(SellThroughMonitor.decide, decision)
    return cast(Recommendation, result)


def _input(
    item: PriceLine,
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
    async with run_worker(local_env.client, settings=channel_rig.settings):
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
    async with run_worker(client, settings=channel_rig.settings):
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
            await _decide(handle, decision)
        assert "role 'store_ops' may not decide" in str(refused.value.cause)

        approved = await _decide(
            handle,
            decision.model_copy(update={"by": "carla", "role": "category_manager"}),
        )
        assert approved.status is RecommendationStatus.APPLIED
        assert approved.decided_by == "carla"
        assert await _west_prices(channel_rig, data.promotion_id) == {approved.new_price}

        with pytest.raises(WorkflowUpdateFailedError) as closed:
            await _decide(
                handle,
                decision.model_copy(update={"role": "category_manager"}),
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
    async with run_worker(env.client, settings=monitor_rig.settings):
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
    async with run_worker(env.client, settings=monitor_rig.settings):
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
    assert (await child.describe()).workflow_type == REBALANCE_WORKFLOW_TYPE
    await child.terminate("test over")


RACE_STORES = ["S1", "S2"]
RACE_SALES = {"west": {"A": 60, "B": 10}}
"""A third of the window gone, 100 of each item expected: A sold 60 (a 20% markdown), B
sold 10 (40%, the cap)."""


def _race_input(auto_markdown_max_pct: str) -> MonitorInput:
    now = datetime.now(UTC)
    return MonitorInput(
        promotion_id=f"ST-{uuid.uuid4().hex[:8]}",
        items=[
            PriceLine(
                item_id=i,
                regular_price=Decimal("10.00"),
                promo_price=Decimal("8.00"),
                offer="20% off",
            )
            for i in ("A", "B")
        ],
        stores_by_region={"west": RACE_STORES},
        forecast_units={"west": {"A": 300, "B": 300}},
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=2),
        policy=MonitorPolicy(
            check_interval=timedelta(hours=1),
            auto_markdown_max_pct=Decimal(auto_markdown_max_pct),
            max_markdown_pct=Decimal("40"),
            authorized_roles=["category_manager"],
        ),
    )


async def test_a_decision_waits_for_the_markdown_the_check_is_applying(
    local_env: WorkflowEnvironment, run_worker, task_queue: str
) -> None:
    """The race of issue 10, played out with scripted sales and a held POS publication.

    One check recommends a markdown of item A in west (inside the bounds: the loop applies
    it) and one of item B (outside: it awaits a decision). While A's publication is held,
    the category manager approves B. B's publication must wait for A's and carry A's new
    price: otherwise the last price book published to west puts A back at its promo price
    (a lost markdown), and each recommendation is published exactly once."""
    data = _race_input(auto_markdown_max_pct="20")
    sales = ScriptedSales([RACE_SALES])
    hold = asyncio.Event()
    channel = ScriptedChannel(local_env.client, acks_per_send=0, confirm_on_send=True, hold=hold)
    client = local_env.client
    async with run_worker(client, fakes=[*channel.activities(), *sales.activities()]):
        handle = await _start(client, data, task_queue)
        await wait_until(lambda: channel.held == 1, what="A's publication to be held")
        status = await _status(handle)
        [rec_a, rec_b] = status.recommendations
        assert (rec_a.item_id, rec_a.automatic, rec_a.status) == (
            "A",
            True,
            RecommendationStatus.APPLYING,
        )
        assert (rec_b.item_id, rec_b.status) == ("B", RecommendationStatus.AWAITING_DECISION)

        decision = Decision(
            recommendation_id=rec_b.id, approve=True, by="carla", role="category_manager"
        )
        update = await handle.start_update(
            SellThroughMonitor.decide, decision, wait_for_stage=WorkflowUpdateStage.ACCEPTED
        )
        # accepted and claimed, but not applied while A's publication is in flight
        claimed = await _status(handle)
        assert [r.status for r in claimed.recommendations] == [RecommendationStatus.APPLYING] * 2
        assert len(channel.requests) == 1
        with pytest.raises(WorkflowUpdateFailedError) as twice:
            await _decide(handle, decision)
        assert "is closed (APPLYING)" in str(twice.value.cause)

        hold.set()
        applied = cast(Recommendation, await update.result())
        status = await _status(handle)
        await handle.terminate("test over")

    assert applied.status is RecommendationStatus.APPLIED
    assert [r.status for r in status.recommendations] == [RecommendationStatus.APPLIED] * 2
    # one publication per recommendation, in order, each to the region's stores
    assert [(r.channel, r.targets, r.version) for r in channel.requests] == [
        (Channel.POS, RACE_STORES, 1001),
        (Channel.POS, RACE_STORES, 1002),
    ]
    prices = [{line.item_id: line.promo_price for line in r.lines} for r in channel.requests]
    assert prices == [
        {"A": Decimal("6.40"), "B": Decimal("8.00")},
        {"A": Decimal("6.40"), "B": Decimal("4.80")},  # A's markdown kept
    ]
    assert [(a.actor, a.action) for a in status.audit if a.action == "applied"] == [
        ("sell-through monitor", "applied"),
        ("carla (category_manager)", "applied"),
    ]
    assert sales.queries and len(sales.queries) == 1


async def test_an_automatic_recommendation_waiting_its_turn_cannot_be_decided_too(
    local_env: WorkflowEnvironment, run_worker, task_queue: str
) -> None:
    """Both markdowns are automatic: the loop applies A, then B. A decision on B while A's
    publication is held is refused (B is claimed by the loop), so B is published once."""
    data = _race_input(auto_markdown_max_pct="40")
    sales = ScriptedSales([RACE_SALES])
    hold = asyncio.Event()
    channel = ScriptedChannel(local_env.client, acks_per_send=0, confirm_on_send=True, hold=hold)
    client = local_env.client
    async with run_worker(client, fakes=[*channel.activities(), *sales.activities()]):
        handle = await _start(client, data, task_queue)
        await wait_until(lambda: channel.held == 1, what="A's publication to be held")
        [_, rec_b] = (await _status(handle)).recommendations
        assert rec_b.automatic and rec_b.status is RecommendationStatus.APPLYING
        decision = Decision(
            recommendation_id=rec_b.id, approve=True, by="carla", role="category_manager"
        )
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await _decide(handle, decision)
        assert "is closed (APPLYING)" in str(refused.value.cause)
        hold.set()

        async def both_applied() -> MonitorSummary | None:
            status = await _status(handle)
            done = all(r.status is RecommendationStatus.APPLIED for r in status.recommendations)
            return status if done else None

        status = await wait_until(both_applied, what="both markdowns applied")
        await handle.terminate("test over")
    assert [r.version for r in channel.requests] == [1001, 1002]
    assert [a.actor for a in status.audit if a.action == "applied"] == [
        "sell-through monitor",
        "sell-through monitor",
    ]
    assert not [a for a in status.audit if a.action == "approved"]
