"""PromotionLaunch, PREPARING: accrue vendor funding, gate every store on its inventory
coverage (pre-positioning stock through an InventoryRebalance child), create store tasks
and watch their SLAs."""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from domain.activity_options import task_priority
    from domain.promotion import contract as c
    from domain.promotion.gates import (
        StoreCoverage,
        StoreGateState,
        stock_by_store,
        store_coverage,
    )
    from domain.promotion.publishing import group_by
    from domain.rebalance.contract import PRIORITY as REBALANCE_PRIORITY
    from domain.rebalance.contract import (
        DemandOverride,
        RebalanceRequest,
        RebalanceResult,
        RebalanceScope,
    )
    from domain.rebalance.contract import workflow_id as rebalance_workflow_id

from workflows.activity_calls import call
from workflows.inventory_rebalance import InventoryRebalance
from workflows.promotion_run import LaunchRun, words

CONCURRENT_TASKS = "concurrent-store-tasks"
"""Patch: the store task calls (signage, labor) run side by side, not one after the other."""
COVERAGE_SUMMARIES = "coverage-summaries"
"""Patch: gates judged beside the WMS read (one summary a store), not from raw positions."""


async def accrue(run: LaunchRun) -> None:
    """Accrue the vendor funding the plan counts on (ERP), once per promotion."""
    s = run.s
    if not s.plan.vendor_deal_id or s.metrics is None:
        s.funding.reconciliation = "no vendor funding"
        return
    amount = s.metrics.vendor_funding
    funded_items = set(s.deal.items) if s.deal else set()
    units = sum(
        i.forecast_units_per_store * s.metrics.store_count
        for i in s.plan.items
        if i.item_id in funded_items
    )
    accrual = await call(
        c.ACCRUE_FUNDING,
        c.AccrueInput(
            promotion_id=run.promotion_id,
            deal_id=s.plan.vendor_deal_id,
            units=units,
            amount=amount,
        ),
        summary=f"accrue {amount} of vendor funding on deal {s.plan.vendor_deal_id}",
    )
    s.funding.accrual_id = accrual.accrual_id
    s.funding.accrued = accrual.amount
    run.audit("workflow", "funding accrued", f"{accrual.amount} ({accrual.accrual_id})")


async def read_coverage(run: LaunchRun, store_ids: list[str]) -> None:
    """Judge the inventory gate of `store_ids` (batches side by side) and set each gate."""
    s = run.s
    assert s.facts is not None
    size = c.COVERAGE_BATCH
    batches = [store_ids[i : i + size] for i in range(0, len(store_ids), size)]
    if workflow.patched(COVERAGE_SUMMARIES):
        results = await asyncio.gather(
            *[
                call(
                    c.STORE_COVERAGE,
                    c.StoreCoverageInput(
                        plan=s.plan,
                        policy=s.policy,
                        stores=[s.facts.stores[st] for st in batch],
                    ),
                    summary=f"judge the stock of {len(batch)} stores (batch {n + 1})",
                )
                for n, batch in enumerate(batches)
            ]
        )
        coverage = [cov for r in results for cov in r.coverage]
    else:  # runs recorded before: raw positions, judged here
        read = await asyncio.gather(
            *[
                call(
                    c.READ_COVERAGE,
                    c.CoverageInput(store_ids=batch, item_ids=[i.item_id for i in s.plan.items]),
                    summary=f"read stock of {len(batch)} stores from WMS (batch {n + 1})",
                )
                for n, batch in enumerate(batches)
            ]
        )
        positions = stock_by_store([p for r in read for p in r.positions])
        coverage = [
            store_coverage(s.facts.stores[st], s.plan, positions, s.policy) for st in store_ids
        ]
    for cov in coverage:
        set_gate(run, cov)


def set_gate(run: LaunchRun, cov: StoreCoverage) -> None:
    """A store's gate from its coverage (an overridden store stays released)."""
    status = run.s.stores[cov.store_id]
    status.coverage = cov.coverage
    status.threshold = cov.threshold
    if status.overridden_by:
        return
    if cov.below:
        status.gate = StoreGateState.HELD
        more = cov.short_count - len(cov.short_items)
        status.note = (
            f"coverage {cov.coverage} below {cov.threshold} (class {cov.store_class}); "
            f"short: {', '.join(f'{k} {v}' for k, v in sorted(cov.short_items.items()))}"
            + (f" and {more} more item(s)" if more > 0 else "")
        )
    else:
        status.gate = StoreGateState.READY
        status.note = ""


async def gates(run: LaunchRun) -> None:
    """Gate every store; short stores get stock pre-positioned, then are read again."""
    s = run.s
    store_ids = list(s.stores)
    await read_coverage(run, store_ids)
    short = s.stores_in(StoreGateState.HELD)
    if short and s.policy.rebalance is not None:
        await preposition(run, short)
        await read_coverage(run, short)
    held = s.stores_in(StoreGateState.HELD)
    for store_id in held[: c.AUDITED_STORES]:
        run.audit("workflow", "store held", f"{store_id}: {s.stores[store_id].note}")
    if len(held) > c.AUDITED_STORES:
        run.audit(
            "workflow",
            "store held",
            f"and {len(held) - c.AUDITED_STORES} more store(s) (see the stores in status)",
        )
    run.audit(
        "workflow",
        "inventory gates",
        f"{len(store_ids) - len(held)} stores ready, {len(held)} held",
    )
    run.refresh_search()


async def preposition(run: LaunchRun, short: list[str]) -> None:
    """Run an InventoryRebalance child for the short stores until the need-by time."""
    s = run.s
    assert s.policy.rebalance is not None
    plan_id = c.preposition_plan_id(run.promotion_id, s.approval_round)
    now = workflow.now()
    need_by = s.first_start - s.policy.rebalance_lead
    if need_by <= now:
        need_by = s.first_start
    request = RebalanceRequest(
        plan_id=plan_id,
        reason="promotion_preposition",
        scope=RebalanceScope(stores=short, items=[i.item_id for i in s.plan.items]),
        need_by=s.first_start,
        policy=s.policy.rebalance,
        demand_override=[
            DemandOverride(store_id=st, item_id=i.item_id, units=i.forecast_units_per_store)
            for st in short
            for i in s.plan.items
        ],
        parent_promotion_id=run.promotion_id,
        requested_by=workflow.info().workflow_id,
    )
    child_id = rebalance_workflow_id(plan_id)
    s.rebalance = f"{child_id}: pre-positioning stock for {len(short)} store(s)"
    run.set_state(
        s.state,
        f"waiting for rebalance {child_id} to pre-position stock in {len(short)} store(s) "
        f"until {need_by.isoformat()}",
    )
    handle = await workflow.start_child_workflow(
        InventoryRebalance.run,
        request,
        id=child_id,
        parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,  # a business key runs once
        static_summary=f"pre-position stock for promotion {run.promotion_id}",
        priority=task_priority(REBALANCE_PRIORITY),
    )
    run.rebalance_handle = handle
    run.audit("workflow", "rebalance started", f"{child_id} for {', '.join(short[:10])}")
    try:
        await workflow.wait_condition(
            lambda: handle.done() or s.cancel is not None,
            timeout=max((need_by - now).total_seconds(), c.REBALANCE_WAIT_FLOOR.total_seconds()),
            timeout_summary="rebalance need-by time",
        )
    except TimeoutError:
        s.rebalance = f"{child_id}: not finished by the need-by time {need_by.isoformat()}"
        run.audit("workflow", "rebalance late", s.rebalance)
        return
    run.check_cancel()
    try:
        result: RebalanceResult = await handle
    except ChildWorkflowError as err:
        s.rebalance = f"{child_id}: failed ({words(err)})"
        run.audit("workflow", "rebalance failed", s.rebalance)
        return
    s.rebalance = (
        f"{child_id}: {result.state.value.lower()}, {result.units_received} of "
        f"{result.units_planned} units received"
    )
    run.audit("workflow", "rebalance finished", s.rebalance)


async def create_tasks(run: LaunchRun) -> None:
    """Store tasks per template for the ready stores, due before each store's go-live."""
    s = run.s
    ready = s.stores_in(StoreGateState.READY)
    if not ready or not s.policy.tasks:
        return
    by_start: dict[datetime, list[str]] = group_by(ready, lambda st: s.window(st)[0])
    callback = workflow.info().workflow_id if len(ready) <= c.TASK_CALLBACK_LIMIT else None

    def calls(size: int) -> list[tuple[c.CreateTasksInput, str]]:
        """One call per template, go-live and `size` stores."""
        out = []
        for template in s.policy.tasks:
            for start, group in by_start.items():
                due = start - template.due_before_start
                for i in range(0, len(group), size):
                    stores = group[i : i + size]
                    request = c.CreateTasksInput(
                        promotion_id=run.promotion_id,
                        store_ids=stores,
                        kind=template.kind,
                        description=template.description,
                        due_at=due,
                        callback_workflow_id=callback,
                        grouped=True,
                    )
                    words = (
                        f"create {template.kind} tasks in {len(stores)} stores due "
                        f"{due.isoformat()}"
                    )
                    out.append((request, words))
        return out

    if workflow.patched(CONCURRENT_TASKS):
        # signage and labor (each go-live, each batch of stores) are independent: their
        # calls side by side, none with a result near the payload limit
        results = await asyncio.gather(
            *(call(c.CREATE_TASKS, i, summary=w) for i, w in calls(c.TASK_BATCH))
        )
    else:  # runs recorded before: one after the other, every store of a group at once
        results = [await call(c.CREATE_TASKS, i, summary=w) for i, w in calls(max(len(ready), 1))]
    for result in results:
        for task in result.all_tasks():
            s.tasks.setdefault(task.task_id, task)
    run.audit("workflow", "store tasks created", f"{len(s.tasks)} tasks")
    run.sla_task = asyncio.create_task(watch_slas(run))


async def watch_slas(run: LaunchRun) -> None:
    """At each task deadline, alert for the tasks still open (a missed SLA)."""
    s = run.s
    deadlines = sorted({t.due_at for t in s.tasks.values()})
    for due in deadlines:
        delay = (due - workflow.now()).total_seconds()
        if delay > 0:
            await workflow.sleep(delay, summary="store task SLA")
        late = [t for t in s.tasks.values() if t.due_at <= due and t.state == "OPEN"]
        if not late:
            continue
        try:
            states = await call(
                c.TASK_STATES,
                c.TaskStatesInput(promotion_id=run.promotion_id),
                summary="read store task states",
            )
            for t in states.tasks:
                known = s.tasks.get(t.task_id)
                if known is not None and known.state == "OPEN" and t.state != "OPEN":
                    known.state = t.state
        except ActivityError as err:
            run.audit("workflow", "task states unreadable", words(err))
        late = [t for t in late if t.state == "OPEN"]
        for t in late:
            t.state = "LATE"
        if late:
            stores = sorted({t.store_id for t in late})
            message = (
                f"{len(late)} store task(s) missed their SLA ({due.isoformat()}) in "
                f"{len(stores)} store(s): {', '.join(stores[:10])}"
            )
            run.audit("workflow", "SLA missed", message)
            await run.alert("warning", "store_operations", message)
