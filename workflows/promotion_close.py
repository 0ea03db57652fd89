"""PromotionLaunch after go-live: the sell-through monitor, the end (revert, verify, read
actuals, claim funding, KPIs) and the rollback saga of a cancelled or failed launch."""

from __future__ import annotations

from decimal import Decimal

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from domain.activity_options import task_priority
    from domain.money import cents
    from domain.promotion import contract as c
    from domain.promotion.gates import StoreGateState
    from domain.promotion.kpis import compute_kpis
    from domain.promotion.monitoring import monitor_input, stores_by_region
    from domain.promotion.status import PromotionState
    from domain.promotion.targeting import store_weighted_lines
    from domain.publication.contract import ALL_TARGETS, Channel, PublicationAction
    from domain.sellthrough.contract import PRIORITY as MONITOR_PRIORITY
    from domain.sellthrough.contract import workflow_id as monitor_workflow_id

from workflows.activity_calls import call
from workflows.promotion_publish import fan_out, requests_for
from workflows.promotion_run import LaunchRun, words
from workflows.sell_through_monitor import SellThroughMonitor

SETTLE_AT_END = "settle-accrual-at-end"
"""Patch: launches that ended before it claimed funding but left the accrual open."""

# ---------------------------------------------------------------------------- live


async def start_monitor(run: LaunchRun) -> None:
    """Start SellThroughMonitor over the stores that went live."""
    s = run.s
    live = s.live_stores()
    if not live:
        s.monitor = "no store is live: nothing to monitor"
        return
    monitor_id = monitor_workflow_id(run.promotion_id)
    run.monitor_handle = await workflow.start_child_workflow(
        SellThroughMonitor.run,
        monitor_input(
            s.plan, s.lines, stores_by_region(s.stores, live), (s.first_start, s.last_end), s.policy
        ),
        id=monitor_id,
        parent_close_policy=workflow.ParentClosePolicy.REQUEST_CANCEL,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,  # a business key runs once
        static_summary=f"sell-through monitor of promotion {run.promotion_id}",
        priority=task_priority(MONITOR_PRIORITY),
    )
    s.monitor = f"{monitor_id}: running"


async def wrap_up_monitor(run: LaunchRun) -> None:
    """After the end: let the monitor finish its last check, or cancel it."""
    handle = run.monitor_handle
    if handle is None:
        return
    s = run.s
    monitor_id = monitor_workflow_id(run.promotion_id)
    try:
        await workflow.wait_condition(
            handle.done,
            timeout=c.MONITOR_WRAP_UP,
            timeout_summary="monitor wrap-up",
        )
        summary = await handle
        s.monitor = (
            f"{monitor_id}: finished ({summary.checks} check(s), "
            f"{len(summary.recommendations)} recommendation(s))"
        )
    except TimeoutError:
        handle.cancel()
        s.monitor = f"{monitor_id}: cancelled at the end"
    except ChildWorkflowError as err:
        s.monitor = f"{monitor_id}: {words(err)}"


# ---------------------------------------------------------------------------- end


async def end(run: LaunchRun) -> None:
    """Revert every channel, verify regular prices, close tasks, claim funding, KPIs."""
    s = run.s
    run.set_state(PromotionState.ENDING, "reverting prices on every channel")
    requests = []
    for channel_value, targets in s.published.items():
        if targets:
            requests += requests_for(
                run,
                Channel(channel_value),
                PublicationAction.REVERT,
                list(targets),
                "promotion ended",
            )
    for outcome in await fan_out(run, requests):
        status = s.channels[outcome.channel.value]
        status.state = "REVERTED" if not outcome.failed else "FAILED"
        status.detail = (
            f"revert v{outcome.version}: {outcome.confirmed} confirmed, {outcome.failed} failed"
        )
    run.set_state(s.state, "verifying the regular prices are back")
    await verify_regular_prices(run)
    run.set_state(s.state, "closing store tasks, reading actual units")
    await cancel_tasks(run, "promotion ended")
    live = s.live_stores()
    actuals = await call(
        c.READ_ACTUALS,
        c.ActualsInput(
            promotion_id=run.promotion_id,
            item_ids=[i.item_id for i in s.plan.items],
            store_ids=live,
            since=s.first_start,
            until=s.last_end,
        ),
        summary=f"read units sold in {len(live)} stores during the window",
    )
    await claim(run, actuals)
    if workflow.patched(SETTLE_AT_END):
        await settle(run)
    assert s.metrics is not None and s.facts is not None
    s.kpis = compute_kpis(
        # per item, the prices of the live stores (zones and group offers weighed by stores)
        lines=store_weighted_lines(s.price_sets, live, s.lines),
        items=s.facts.items,
        metrics=s.metrics,
        deal=s.deal,
        targets_planned=s.targets_planned,
        targets_confirmed_on_time=s.targets_on_time,
        channel_confirmed={
            ch: (len(s.published.get(ch, [])), len(s.attempted.get(ch, []))) for ch in s.channels
        },
        stores_total=len(s.stores),
        stores_live=len(live),
        stores_stocked_out=len(actuals.stores_stocked_out),
        actual_units=actuals.units_by_item,
        accrued=s.funding.accrued,
        claimed=s.funding.claimed,
        released=s.funding.released,
    )
    run.audit("workflow", "KPIs", "; ".join(f"{k}: {v}" for k, v in s.kpis.rows()))


async def verify_regular_prices(run: LaunchRun) -> None:
    """Read every published channel back; a price not back to regular is an alert."""
    s = run.s
    for channel_value, targets in s.published.items():
        if not targets:
            continue
        result = await call(
            c.VERIFY_PRICES,
            c.VerifyInput(
                promotion_id=run.promotion_id,
                channel=Channel(channel_value),
                store_ids=[t for t in targets if t != ALL_TARGETS],
                lines=list(s.lines),
                expect="regular",
            ),
            summary=f"read {channel_value} back: regular prices expected",
        )
        if result.mismatches:
            message = (
                f"{channel_value}: {len(result.mismatches)} price(s) not regular after "
                f"revert: {'; '.join(result.mismatches[:5])}"
            )
            s.reasons.append(message)
            run.audit("workflow", "verify failed", message)
            await run.alert("critical", "pricing_analyst", message)
        else:
            run.audit("workflow", "verified", f"{channel_value}: {result.checked} price(s) regular")
            s.channels[channel_value].detail += f"; verified regular ({result.checked})"


async def claim(run: LaunchRun, actuals: c.ActualsResult) -> None:
    """Claim vendor funding on the units actually sold of the funded items."""
    s = run.s
    if not s.plan.vendor_deal_id or not s.funding.accrual_id:
        return
    funded = set(s.deal.items) if s.deal else set()
    units = sum(n for item, n in actuals.units_by_item.items() if item in funded)
    result = await call(
        c.CLAIM_FUNDING,
        c.ClaimInput(promotion_id=run.promotion_id, deal_id=s.plan.vendor_deal_id, units=units),
        summary=f"claim vendor funding on {units} units sold",
    )
    f = s.funding
    f.claim_id = result.claim_id
    f.claimed = result.amount
    f.claim_capped = result.capped
    expected = f.funding_per_unit * units
    f.reconciliation = (
        f"claimed {result.amount} on {units} units against {f.accrued} accrued "
        f"({'capped by the deal, ' if result.capped else ''}"
        f"expected {cents(expected)}; accrual variance "
        f"{(result.amount - f.accrued).quantize(Decimal('0.01'))})"
    )
    run.audit("workflow", "funding claimed", f.reconciliation)


async def settle(run: LaunchRun) -> None:
    """Close the accrual against the claim: nothing stays open in the ERP after the end."""
    f = run.s.funding
    if not f.accrual_id or f.settled:
        return
    result = await call(
        c.SETTLE_ACCRUAL,
        c.SettleInput(
            promotion_id=run.promotion_id, accrual_id=f.accrual_id, reason="promotion ended"
        ),
        summary=f"settle accrual {f.accrual_id}: release what was not claimed",
    )
    f.released = result.released
    f.settled = True
    f.reconciliation += f"; accrual settled: {result.claimed} claimed, {result.released} released"
    run.audit(
        "workflow",
        "accrual settled",
        f"{result.accrual_id}: {result.accrued} accrued, {result.claimed} claimed, "
        f"{result.released} released",
    )


# ---------------------------------------------------------------------------- rollback


async def compensate(run: LaunchRun, why: str) -> None:
    """The saga: undo in reverse order, each step on its own so one failure does not stop
    the others; every step is in the audit trail."""
    s = run.s
    run.set_state(s.state, f"rolling back: {why}")
    run.audit("workflow", "rollback started", why)
    if run.monitor_handle is not None and not run.monitor_handle.done():
        run.monitor_handle.cancel()
        s.monitor += " (cancelled)"
    if run.rebalance_handle is not None and not run.rebalance_handle.done():
        run.rebalance_handle.cancel()
        s.rebalance += " (cancelled: open transfers cancelled by the rebalance)"
        run.audit("workflow", "rebalance cancelled", s.rebalance)
    await retract(run, why)
    held = s.stores_in(StoreGateState.HELD)
    for store_id in held:
        s.stores[store_id].gate = StoreGateState.NOT_READY
        s.stores[store_id].note = "hold released by rollback"
    if held:
        run.audit("workflow", "holds released", f"{len(held)} store(s)")
    if s.tasks:
        await cancel_tasks(run, why)
    if s.funding.accrual_id and s.funding.reversed == 0:
        await reverse_accrual(run, why)
    run.audit("workflow", "rollback finished", why)


async def retract(run: LaunchRun, why: str) -> None:
    """Take the promotion out of every target ever sent (confirmed or not)."""
    s = run.s
    requests = []
    for channel_value, targets in s.attempted.items():
        if targets:
            requests += requests_for(
                run, Channel(channel_value), PublicationAction.RETRACT, list(targets), why[:400]
            )
    if not requests:
        return
    try:
        for outcome in await fan_out(run, requests):
            status = s.channels[outcome.channel.value]
            status.state = "RETRACTED" if not outcome.failed else "FAILED"
            status.detail = f"retract: {outcome.confirmed} retracted, {outcome.failed} failed"
            if not outcome.failed:
                s.published[outcome.channel.value] = []
                for o in outcome.outcomes:
                    if o.target in s.stores:
                        s.stores[o.target].published = False
        run.audit(
            "workflow",
            "retracted",
            "; ".join(f"{ch.channel}: {ch.detail}" for ch in s.channels.values()),
        )
    except (ActivityError, ChildWorkflowError, ApplicationError) as err:
        s.reasons.append(f"retract failed: {words(err)}")
        run.audit("workflow", "retract failed", words(err))


async def reverse_accrual(run: LaunchRun, why: str) -> None:
    s = run.s
    assert s.funding.accrual_id is not None
    try:
        reversal = await call(
            c.REVERSE_ACCRUAL,
            c.ReverseInput(
                promotion_id=run.promotion_id, accrual_id=s.funding.accrual_id, reason=why[:400]
            ),
            summary=f"reverse accrual {s.funding.accrual_id}",
        )
    except ActivityError as err:
        s.reasons.append(f"accrual reversal failed: {words(err)}")
        run.audit("workflow", "accrual reversal failed", words(err))
        return
    s.funding.reversed = reversal.amount
    s.funding.settled = True
    s.funding.reconciliation = f"accrual {s.funding.accrual_id} reversed"
    run.audit("workflow", "accrual reversed", f"{reversal.amount}")


async def cancel_tasks(run: LaunchRun, why: str) -> None:
    """Cancel the open and late store tasks."""
    s = run.s
    open_tasks = [t for t in s.tasks.values() if t.state in ("OPEN", "LATE")]
    if not open_tasks:
        return
    try:
        result = await call(
            c.CANCEL_TASKS,
            c.CancelTasksInput(promotion_id=run.promotion_id, reason=why[:400]),
            summary=f"cancel {len(open_tasks)} open store task(s)",
        )
    except ActivityError as err:
        run.audit("workflow", "task cancel failed", words(err))
        return
    for t in open_tasks:
        t.state = "CANCELLED"
    run.audit("workflow", "tasks closed", f"{result.cancelled} open task(s) cancelled")
