"""What the planner decides: moves, shortfalls and coverage per store and item."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel

from domain.rebalance.screening import ExcludedPosition, ExclusionReason

COVERAGE_CAP = Decimal("99.99")
"""Coverage reported for a store/item without demand (nothing to cover)."""

COVERAGE_STEP = Decimal("0.01")


class PlannedMove(BaseModel):
    source_id: str
    dest_id: str
    item_id: str
    units: int
    lead_time: timedelta
    cost: Decimal
    arrives_by: datetime


class Shortfall(BaseModel):
    store_id: str
    item_id: str
    units: int
    reason: str


class StoreItemCoverage(BaseModel):
    store_id: str
    item_id: str
    demand: int
    available_before: int
    planned_inbound: int
    coverage_before: Decimal
    coverage_planned: Decimal
    excluded_reason: ExclusionReason | None = None


class RebalancePlan(BaseModel):
    plan_id: str
    planned_at: datetime
    moves: list[PlannedMove]
    shortfalls: list[Shortfall]
    excluded: list[ExcludedPosition]
    coverage: list[StoreItemCoverage]
    total_units: int
    total_cost: Decimal
    unmet_demand_before: int
    unmet_demand_after: int
    short_of_target_before: int
    short_of_target_after: int
    feed_doubt: str | None = None
    """Why the stock feed looks wrong against recent sales and movements (None: it does
    not); a plan on a doubtful feed waits for approval whatever its size."""


def coverage_ratio(available: int, demand: int) -> Decimal:
    """(on hand + in transit + inbound) / demand, two decimals, capped."""
    if demand <= 0:
        return COVERAGE_CAP
    value = (Decimal(available) / Decimal(demand)).quantize(COVERAGE_STEP, ROUND_HALF_UP)
    return min(value, COVERAGE_CAP)


def plan_audit(plan: RebalancePlan) -> list[tuple[str, str]]:
    """The audit lines of a new plan: its totals, then each position it left out and why."""
    return [
        (
            "planned",
            f"{len(plan.moves)} transfer(s), {plan.total_units} units, cost {plan.total_cost}; "
            f"unmet demand {plan.unmet_demand_before} -> {plan.unmet_demand_after}; "
            f"{len(plan.excluded)} position(s) excluded",
        ),
        *[
            (
                "position excluded",
                f"{e.location_id}/{e.item_id}: {e.reason} ({e.detail})",
            )
            for e in plan.excluded
        ],
    ]
