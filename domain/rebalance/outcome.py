"""How a plan ends: its final state, and the coverage it reached per store and item."""

from __future__ import annotations

from decimal import Decimal

from domain.rebalance.contract import RebalanceResult, StoreItemOutcome
from domain.rebalance.plan import RebalancePlan, coverage_ratio
from domain.rebalance.status import RebalanceState, Transfer, TransferState, Variance

Key = tuple[str, str]


def final_state(
    *, cancel_requested: bool, variances: list[Variance], transfers: list[Transfer]
) -> RebalanceState:
    """Once every transfer is settled: cancelled, completed, or completed with variances."""
    if cancel_requested:
        return RebalanceState.CANCELLED
    if variances or any(t.state != TransferState.RECEIVED for t in transfers):
        return RebalanceState.COMPLETED_WITH_VARIANCES
    return RebalanceState.COMPLETED


def units_by_store_item(transfers: list[Transfer]) -> tuple[dict[Key, int], dict[Key, int]]:
    """Units planned (cancelled transfers left out) and received, per store and item."""
    planned: dict[Key, int] = {}
    received: dict[Key, int] = {}
    for t in transfers:
        key = (t.dest_id, t.item_id)
        if t.state != TransferState.CANCELLED:
            planned[key] = planned.get(key, 0) + t.units_planned
        received[key] = received.get(key, 0) + (t.units_received or 0)
    return planned, received


def result_from(
    plan_id: str,
    state: RebalanceState,
    plan: RebalancePlan | None,
    transfers: list[Transfer],
    variances: list[Variance],
) -> RebalanceResult:
    """Coverage reached per store and item: stock before + units actually received."""
    planned, received = units_by_store_item(transfers)
    outcomes: list[StoreItemOutcome] = []
    for c in plan.coverage if plan else []:
        key = (c.store_id, c.item_id)
        got = received.get(key, 0)
        if c.excluded_reason is None:
            reached = coverage_ratio(c.available_before + got, c.demand)
            unmet = max(0, c.demand - c.available_before - got)
        else:
            reached = Decimal(0)
            unmet = c.demand
        outcomes.append(
            StoreItemOutcome(
                store_id=c.store_id,
                item_id=c.item_id,
                demand=c.demand,
                coverage=reached,
                units_planned=planned.get(key, 0),
                units_received=got,
                unmet_demand=unmet,
                excluded_reason=c.excluded_reason,
            )
        )
    return RebalanceResult(
        plan_id=plan_id,
        state=state,
        outcomes=outcomes,
        variances=variances,
        excluded=plan.excluded if plan else [],
        total_cost=plan.total_cost if plan else Decimal("0"),
        units_planned=sum(planned.values()),
        units_received=sum(received.values()),
        unmet_demand_before=plan.unmet_demand_before if plan else 0,
        unmet_demand_after=sum(o.unmet_demand for o in outcomes),
    )
