"""InventoryRebalance, PLANNING and AWAITING_APPROVAL: read the estate, plan with the pure
planner, and wait for `approve` when the plan passes a policy threshold (or for the need-by
time, which withdraws it)."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from common.search_attributes import (
        AMOUNT_AT_RISK,
        PROMOTION_ID,
        RETAIL_KIND,
        STORE_COUNT,
    )
    from domain.rebalance import transfers
    from domain.rebalance.contract import (
        READ_ESTATE,
        CancelReport,
        EstateQuery,
        RebalanceRequest,
        RebalanceResult,
    )
    from domain.rebalance.plan import RebalancePlan, plan_audit
    from domain.rebalance.planner import (
        need_by_problem,
        needs_demand_read,
        plan_rebalance,
        plan_refusal,
    )
    from domain.rebalance.status import RebalanceState

from workflows.activity_calls import call
from workflows.rebalance_run import WORKFLOW, RebalanceRun


def announce(run: RebalanceRun, request: RebalanceRequest) -> None:
    pairs: list[SearchAttributeUpdate[Any]] = [
        RETAIL_KIND.value_set("rebalance"),
        STORE_COUNT.value_set(len(request.scope.stores)),
    ]
    if request.parent_promotion_id:
        pairs.append(PROMOTION_ID.value_set(request.parent_promotion_id))
    workflow.upsert_search_attributes(pairs)
    run.set_state(RebalanceState.PLANNING, "reading positions and demand")
    run.log(
        "plan requested",
        f"({request.reason}) for {len(request.scope.stores)} store(s)"
        f" x {len(request.scope.items)} item(s), need by {request.need_by.isoformat()}",
        request.requested_by or WORKFLOW,
    )


async def plan_moves(run: RebalanceRun, request: RebalanceRequest) -> RebalancePlan:
    now = workflow.now()
    problem = need_by_problem(request, now)
    if problem:
        raise ApplicationError(problem, type="need_by_in_past", non_retryable=True)
    estate = await call(
        READ_ESTATE,
        EstateQuery(
            plan_id=request.plan_id,
            stores=request.scope.stores,
            items=request.scope.items,
            planned_at=now,
            need_by=request.need_by,
            read_demand=needs_demand_read(request),
        ),
        summary=f"read positions and demand for {len(request.scope.stores)} store(s)",
    )
    plan = plan_rebalance(request, estate, workflow.now())
    run.plan = plan
    for transfer in transfers.transfers_for(plan):
        run.transfers[transfer.transfer_id] = transfer
        run.order.append(transfer.transfer_id)
    for event in run.early_events:
        run.apply(event)
    run.early_events.clear()
    for action, detail in plan_audit(plan):
        run.log(action, detail)
    workflow.upsert_search_attributes([AMOUNT_AT_RISK.value_set(float(plan.total_cost))])
    refused = plan_refusal(plan, estate, request.policy)
    if refused:
        raise ApplicationError(refused[1], type=refused[0], non_retryable=True)
    return plan


async def await_approval(run: RebalanceRun, request: RebalanceRequest) -> RebalanceResult | None:
    """None once approved; the result when the plan is rejected, cancelled or withdrawn."""
    roles = list(request.policy.approval.roles)
    run.awaiting = roles
    run.log("approval needed", "; ".join(run.approval_reasons))
    run.set_state(
        RebalanceState.AWAITING_APPROVAL,
        f"waiting for approval by {', '.join(roles)}: " + "; ".join(run.approval_reasons),
    )
    try:
        await workflow.wait_condition(
            lambda: run.rejected or not run.awaiting or run.cancel_request is not None,
            timeout=request.need_by - workflow.now(),
        )
    except TimeoutError:
        run.awaiting = []
        run.log("plan withdrawn", "no approval before the need-by time")
        run.cancel_report = CancelReport(cancelled=list(run.order), already_moving=[], finished=[])
        transfers.cancel_all(run.all())
        return await run.finish(RebalanceState.CANCELLED, "approval never came")
    run.awaiting = []
    if run.cancel_request is not None:
        return await cancel_before_release(run)
    if run.rejected:
        transfers.cancel_all(run.all())
        return await run.finish(RebalanceState.REJECTED, "plan rejected")
    run.log("plan approved")
    return None


async def cancel_before_release(run: RebalanceRun) -> RebalanceResult:
    assert run.cancel_request is not None
    transfers.cancel_all(run.all())
    run.cancel_report = CancelReport(cancelled=list(run.order), already_moving=[], finished=[])
    run.log(
        "cancelled before release",
        run.cancel_request.reason,
        run.cancel_request.requested_by,
    )
    return await run.finish(RebalanceState.CANCELLED, "cancelled before release")
