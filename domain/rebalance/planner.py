"""The pure planner: move stock from surplus to deficit, cheapest on-time lane first.

Deterministic: the same estate, request and planning time give the same plan, byte for
byte, so the workflow calls it directly. `plan_rebalance` reads as its steps: the demand
in scope, the positions it trusts, what each location can spare, the lanes that arrive in
time, the deficits lowest coverage first, the moves that fill them, the coverage reached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from domain.money import cents
from domain.rebalance.contract import RebalanceRequest
from domain.rebalance.estate import Estate, ItemRule, Lane, Position
from domain.rebalance.feed import (
    Commitments,
    commitments,
    doubtful_feed,
    last_movements,
    negative_problem,
    received_recently,
)
from domain.rebalance.plan import (
    PlannedMove,
    RebalancePlan,
    Shortfall,
    StoreItemCoverage,
    coverage_ratio,
)
from domain.rebalance.policy import RebalancePolicy
from domain.rebalance.screening import (
    ExcludedPosition,
    ExclusionReason,
    Key,
    account_for_missing,
    newest_reports,
    screen_positions,
)

NO_DEMAND_RANK = 10**15
"""Deficit rank of a store/item without demand (safety stock only): served last."""


@dataclass(frozen=True)
class Scope:
    """The stores and items of a request, and the distribution centres of the estate."""

    stores: list[str]
    items: list[str]
    dcs: list[str]

    @classmethod
    def of(cls, request: RebalanceRequest, estate: Estate) -> Scope:
        dcs = sorted(loc.location_id for loc in estate.locations if loc.kind == "dc")
        return cls(stores=list(request.scope.stores), items=list(request.scope.items), dcs=dcs)


@dataclass(frozen=True)
class Screened:
    trusted: dict[Key, Position]
    excluded: list[ExcludedPosition]
    reasons: dict[Key, ExclusionReason]
    committed: Commitments = field(default_factory=Commitments)


@dataclass(frozen=True)
class Deficit:
    rank: int
    store: str
    item: str
    need: int


@dataclass
class Capacity:
    """What is left to give as moves are planned: surplus, outbound and lane capacity."""

    surplus: dict[Key, int]
    outbound: dict[str, int | None]
    lanes_by_dest: dict[str, list[tuple[int, Lane]]]
    lane_left: dict[int, int | None]


@dataclass
class Filled:
    moves: list[PlannedMove] = field(default_factory=list)
    inbound: dict[Key, int] = field(default_factory=dict)
    shortfalls: list[Shortfall] = field(default_factory=list)


def plan_rebalance(
    request: RebalanceRequest, estate: Estate, planned_at: datetime
) -> RebalancePlan:
    """Move stock from surplus to deficit, cheapest on-time lane first.

    Invariants (tests/domain/test_rebalance_properties.py):
    - a source never goes below its safety stock plus its own requirement (demand x target);
    - every move is a whole number of packs and at least the item's minimum move;
    - a source's outbound capacity and a lane's capacity are never exceeded;
    - only lanes arriving by `need_by` are used; among them the lowest unit cost first;
    - what could not be covered is reported per store and item;
    - a position older than the last movement of its location and item is STALE; released
      transfers not shipped yet count at their source (held) and destination (coming);
    - a feed most of whose store figures sales and receipts do not explain is doubtful.
    """
    policy = request.policy
    scope = Scope.of(request, estate)
    demand = demand_in_scope(request, estate)
    screened = screen_scope(scope, estate, demand, policy, planned_at)
    dispatch = planned_at + policy.handling_time
    capacity = Capacity(
        surplus=surplus_by_location(
            screened.trusted, demand, set(scope.dcs), policy, screened.committed.outbound
        ),
        outbound={loc.location_id: loc.outbound_capacity for loc in estate.locations},
        lanes_by_dest={},
        lane_left={},
    )
    capacity.lanes_by_dest, capacity.lane_left = on_time_lanes(
        estate.lanes, set(scope.stores), dispatch, request.need_by
    )
    deficits, available = rank_deficits(
        scope, screened.trusted, demand, policy.target_coverage, screened.committed.inbound
    )
    rules = {r.item_id: r for r in estate.items}
    filled = fill_deficits(deficits, capacity, rules, dispatch)
    coverage, unmet_before, unmet_after = coverage_rows(
        scope, demand, available, filled.inbound, screened.reasons
    )
    moves = sorted(filled.moves, key=lambda m: (m.source_id, m.dest_id, m.item_id))
    shortfalls = sorted(filled.shortfalls, key=lambda s: (s.store_id, s.item_id))
    excluded = sorted(screened.excluded, key=lambda e: (e.location_id, e.item_id))
    return RebalancePlan(
        plan_id=request.plan_id,
        planned_at=planned_at,
        moves=moves,
        shortfalls=shortfalls,
        excluded=excluded,
        coverage=coverage,
        total_units=sum(m.units for m in moves),
        total_cost=sum((m.cost for m in moves), Decimal("0")),
        unmet_demand_before=unmet_before,
        unmet_demand_after=unmet_after,
        short_of_target_before=sum(d.need for d in deficits),
        short_of_target_after=sum(s.units for s in shortfalls),
        feed_doubt=doubtful_feed(
            screened.trusted,
            demand,
            received_recently(estate.movements),
            stores=scope.stores,
            multiple=policy.doubtful_multiple,
            share=policy.doubtful_share,
        ),
    )


# --------------------------------------------------------------------------- the steps


def target_units(demand: int, target: Decimal) -> int:
    """Units that cover `target` x demand, rounded up to a whole unit."""
    return int((target * demand).to_integral_value(rounding="ROUND_CEILING"))


def demand_in_scope(request: RebalanceRequest, estate: Estate) -> dict[Key, int]:
    """Forecast demand per store and item in scope; the request's overrides win."""
    stores, items = set(request.scope.stores), set(request.scope.items)
    demand: dict[Key, int] = {}
    for d in estate.demand:
        if d.store_id in stores and d.item_id in items:
            demand[(d.store_id, d.item_id)] = d.units
    for o in request.demand_override:
        demand[(o.store_id, o.item_id)] = o.units
    return demand


def reference_demand(demand: dict[Key, int], scope: Scope) -> dict[Key, int]:
    """What stock is judged against: a store's own demand, a DC's the scope's total per item."""
    item_total: dict[str, int] = {}
    for (_, item), units in demand.items():
        item_total[item] = item_total.get(item, 0) + units
    reference = dict(demand)
    for dc in scope.dcs:
        for item in scope.items:
            reference[(dc, item)] = item_total.get(item, 0)
    return reference


def screen_scope(
    scope: Scope,
    estate: Estate,
    demand: dict[Key, int],
    policy: RebalancePolicy,
    planned_at: datetime,
) -> Screened:
    """The positions of the scope's stores and DCs the planner trusts, and the excluded ones."""
    items, locations = set(scope.items), set(scope.stores) | set(scope.dcs)
    relevant = [p for p in estate.positions if p.item_id in items and p.location_id in locations]
    trusted, excluded = screen_positions(
        relevant,
        planned_at=planned_at,
        max_age=policy.feed_max_age,
        implausible_multiple=policy.implausible_multiple,
        reference_demand=reference_demand(demand, scope),
        last_moves=last_movements(estate.movements),
    )
    reasons = account_for_missing(
        trusted,
        excluded,
        stores=scope.stores,
        items=scope.items,
        rule=policy.missing_position,
        planned_at=planned_at,
    )
    return Screened(
        trusted=trusted,
        excluded=excluded,
        reasons=reasons,
        committed=commitments(estate.movements),
    )


def surplus_by_location(
    trusted: dict[Key, Position],
    demand: dict[Key, int],
    dcs: set[str],
    policy: RebalancePolicy,
    held: dict[Key, int] | None = None,
) -> dict[Key, int]:
    """What a location can give: on hand, less what released transfers still hold there,
    above its safety stock plus its own requirement."""
    held = held or {}
    target = policy.target_coverage
    surplus: dict[Key, int] = {}
    for key, pos in trusted.items():
        location, _item = key
        if location in dcs:
            own = target_units(demand.get(key, 0), target) if key in demand else 0
        else:
            own = max(demand.get(key, 0), target_units(demand.get(key, 0), target))
        spare = pos.on_hand - held.get(key, 0) - pos.safety_stock - own
        if spare > 0:
            surplus[key] = spare
    return surplus


def on_time_lanes(
    lanes: list[Lane], stores: set[str], dispatch: datetime, need_by: datetime
) -> tuple[dict[str, list[tuple[int, Lane]]], dict[int, int | None]]:
    """Lanes into a store in scope that arrive by `need_by`, cheapest first; their capacity.

    Lanes are known by their index in the estate (two lanes may join the same places)."""
    by_dest: dict[str, list[tuple[int, Lane]]] = {}
    capacity: dict[int, int | None] = {}
    for index, lane in enumerate(lanes):
        if lane.source_id == lane.dest_id or lane.dest_id not in stores:
            continue
        if dispatch + lane.lead_time > need_by:
            continue
        by_dest.setdefault(lane.dest_id, []).append((index, lane))
        capacity[index] = lane.capacity_units
    for candidates in by_dest.values():
        candidates.sort(
            key=lambda c: (
                c[1].cost_per_unit,
                c[1].cost_per_shipment,
                c[1].lead_time,
                c[1].source_id,
            )
        )
    return by_dest, capacity


def rank_deficits(
    scope: Scope,
    trusted: dict[Key, Position],
    demand: dict[Key, int],
    target: Decimal,
    coming: dict[Key, int] | None = None,
) -> tuple[list[Deficit], dict[Key, int]]:
    """Store/items short of target plus safety stock, lowest coverage first; stock per key
    (on hand, in transit, and released transfers on their way: `coming`).

    The rank is an integer (stock per million units of demand): deterministic and fast."""
    ranked: list[tuple[int, str, str, int, int]] = []
    available: dict[Key, int] = {}
    for store in scope.stores:
        for item in scope.items:
            key = (store, item)
            found = trusted.get(key)
            if found is None:
                continue
            have = found.on_hand + found.in_transit + (coming or {}).get(key, 0)
            available[key] = have
            units = demand.get(key, 0)
            need = target_units(units, target) + found.safety_stock - have
            if need > 0:
                rank = (have * 1_000_000) // units if units > 0 else NO_DEMAND_RANK
                ranked.append((rank, store, item, need, have))
    ranked.sort()
    return [Deficit(rank, store, item, need) for rank, store, item, need, _ in ranked], available


def fill_deficits(
    deficits: list[Deficit], capacity: Capacity, rules: dict[str, ItemRule], dispatch: datetime
) -> Filled:
    """Plan moves for each deficit in turn; what stays uncovered is a shortfall with a reason.

    Result rows are built with model_construct: every value is computed here from validated
    inputs, and validating a million rows again would double the planning time."""
    filled = Filled()
    for deficit in deficits:
        rule = rules.get(deficit.item) or ItemRule(item_id=deficit.item)
        candidates = capacity.lanes_by_dest.get(deficit.store, [])
        remaining = deficit.need
        for index, lane in candidates:
            if remaining <= 0:
                break
            qty = move_size(remaining, rule, capacity, index, lane, deficit.item)
            if qty is None:
                continue
            take(capacity, index, lane, deficit.item, qty)
            remaining -= qty
            key = (deficit.store, deficit.item)
            filled.inbound[key] = filled.inbound.get(key, 0) + qty
            filled.moves.append(planned_move(lane, deficit, qty, dispatch))
        if remaining > 0:
            filled.shortfalls.append(
                Shortfall.model_construct(
                    store_id=deficit.store,
                    item_id=deficit.item,
                    units=remaining,
                    reason=shortfall_reason(bool(candidates)),
                )
            )
    return filled


def move_size(
    remaining: int, rule: ItemRule, capacity: Capacity, index: int, lane: Lane, item: str
) -> int | None:
    """Whole packs covering `remaining`, within surplus and capacity; None if under min move."""
    spare = capacity.surplus.get((lane.source_id, item), 0)
    if spare <= 0:
        return None
    cap = spare
    source_left = capacity.outbound.get(lane.source_id)
    if source_left is not None:
        cap = min(cap, source_left)
    lane_left = capacity.lane_left[index]
    if lane_left is not None:
        cap = min(cap, lane_left)
    pack = rule.pack_size
    qty = min(-(-remaining // pack) * pack, (cap // pack) * pack)
    if qty <= 0 or qty < rule.min_move:
        return None
    return qty


def take(capacity: Capacity, index: int, lane: Lane, item: str, qty: int) -> None:
    """Book a move against the source's surplus, its outbound capacity and the lane's."""
    key = (lane.source_id, item)
    capacity.surplus[key] = capacity.surplus.get(key, 0) - qty
    source_left = capacity.outbound.get(lane.source_id)
    if source_left is not None:
        capacity.outbound[lane.source_id] = source_left - qty
    lane_left = capacity.lane_left[index]
    if lane_left is not None:
        capacity.lane_left[index] = lane_left - qty


def planned_move(lane: Lane, deficit: Deficit, qty: int, dispatch: datetime) -> PlannedMove:
    return PlannedMove.model_construct(
        source_id=lane.source_id,
        dest_id=deficit.store,
        item_id=deficit.item,
        units=qty,
        lead_time=lane.lead_time,
        cost=cents(lane.cost_per_unit * qty + lane.cost_per_shipment),
        arrives_by=dispatch + lane.lead_time,
    )


def shortfall_reason(has_lane: bool) -> str:
    if not has_lane:
        return "no lane reaches this store before the need-by time"
    return "not enough surplus within pack, minimum-move and capacity rules"


def coverage_rows(
    scope: Scope,
    demand: dict[Key, int],
    available: dict[Key, int],
    inbound: dict[Key, int],
    excluded: dict[Key, ExclusionReason],
) -> tuple[list[StoreItemCoverage], int, int]:
    """Coverage before and as planned per store and item; unmet demand before and after.

    An excluded store/item counts all its demand as unmet, and its coverage as zero."""
    rows: list[StoreItemCoverage] = []
    unmet_before = unmet_after = 0
    for store in scope.stores:
        for item in scope.items:
            key = (store, item)
            units = demand.get(key, 0)
            have = available.get(key, 0)
            extra = inbound.get(key, 0)
            reason = excluded.get(key)
            if reason is None:
                unmet_before += max(0, units - have)
                unmet_after += max(0, units - have - extra)
            else:
                unmet_before += units
                unmet_after += units
            rows.append(
                StoreItemCoverage.model_construct(
                    store_id=store,
                    item_id=item,
                    demand=units,
                    available_before=have,
                    planned_inbound=extra,
                    coverage_before=coverage_ratio(have, units) if reason is None else Decimal(0),
                    coverage_planned=(
                        coverage_ratio(have + extra, units) if reason is None else Decimal(0)
                    ),
                    excluded_reason=reason,
                )
            )
    return rows, unmet_before, unmet_after


# --------------------------------------------------------------------------- checks on a plan


def needs_demand_read(request: RebalanceRequest) -> bool:
    """False when the request's overrides give demand for every store and item in scope."""
    covered = {(o.store_id, o.item_id) for o in request.demand_override}
    return not all((s, i) in covered for s in request.scope.stores for i in request.scope.items)


def need_by_problem(request: RebalanceRequest, now: datetime) -> str | None:
    """Why a plan cannot start now (need-by not in the future), in words; None: it can."""
    if request.need_by <= now:
        return f"need-by {request.need_by.isoformat()} is not in the future"
    return None


def stock_problem(plan: RebalancePlan, estate: Estate) -> str | None:
    """Why the plan would drive a position negative, in words; None: it would not."""
    return negative_problem(plan, newest_reports(estate.positions), commitments(estate.movements))


def size_problem(plan: RebalancePlan, policy: RebalancePolicy) -> str | None:
    """Why a plan is too large for one workflow, in words; None: it is not."""
    if len(plan.moves) > policy.max_transfers:
        return (
            f"the plan needs {len(plan.moves)} transfers, more than the policy's "
            f"{policy.max_transfers}; split the scope"
        )
    return None


def plan_refusal(
    plan: RebalancePlan, estate: Estate, policy: RebalancePolicy
) -> tuple[str, str] | None:
    """(error type, words) when a plan must not run: too large, or driving stock negative."""
    too_large = size_problem(plan, policy)
    if too_large:
        return "plan_too_large", too_large
    negative = stock_problem(plan, estate)
    if negative:
        return "plan_drives_negative", negative
    return None
