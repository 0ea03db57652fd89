"""The planner's invariants hold on random estates (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.rebalance.contract import RebalanceRequest, RebalanceScope
from domain.rebalance.estate import Demand, Estate, ItemRule, Lane, Location, Position
from domain.rebalance.planner import plan_rebalance
from domain.rebalance.policy import ApprovalPolicy, RebalancePolicy

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@st.composite
def estates(draw: st.DrawFn) -> tuple[RebalanceRequest, Estate]:
    n_stores = draw(st.integers(1, 6))
    n_dcs = draw(st.integers(0, 2))
    n_items = draw(st.integers(1, 3))
    stores = [f"S{i}" for i in range(n_stores)]
    dcs = [f"DC{i}" for i in range(n_dcs)]
    items = [f"I{i}" for i in range(n_items)]
    locations = [
        Location(
            location_id=loc,
            kind="dc" if loc.startswith("DC") else "store",
            outbound_capacity=draw(st.one_of(st.none(), st.integers(0, 80))),
        )
        for loc in stores + dcs
    ]
    positions, demand = [], []
    for loc in stores + dcs:
        for item in items:
            if draw(st.integers(0, 9)) == 0:
                continue  # missing from the feed
            positions.append(
                Position(
                    location_id=loc,
                    item_id=item,
                    on_hand=draw(st.integers(-2, 120)),
                    in_transit=draw(st.integers(0, 10)),
                    safety_stock=draw(st.integers(0, 10)),
                    as_of=NOW - timedelta(hours=draw(st.sampled_from([1, 2, 30]))),
                )
            )
    for store in stores:
        for item in items:
            demand.append(Demand(store_id=store, item_id=item, units=draw(st.integers(0, 40))))
    lanes = []
    for src in stores + dcs:
        for dst in stores:
            if src != dst and draw(st.booleans()):
                lanes.append(
                    Lane(
                        source_id=src,
                        dest_id=dst,
                        lead_time=timedelta(hours=draw(st.sampled_from([6, 24, 72, 200]))),
                        cost_per_unit=Decimal(draw(st.integers(1, 50))) / 10,
                        cost_per_shipment=Decimal(draw(st.integers(0, 20))),
                        capacity_units=draw(st.one_of(st.none(), st.integers(0, 60))),
                    )
                )
    rules = [
        ItemRule(item_id=item, pack_size=draw(st.integers(1, 6)), min_move=draw(st.integers(1, 12)))
        for item in items
    ]
    request = RebalanceRequest(
        plan_id="prop",
        reason="periodic",
        scope=RebalanceScope(stores=stores, items=items),
        need_by=NOW + timedelta(days=4),
        policy=RebalancePolicy(
            approval=ApprovalPolicy(approvers={"supply_chain": ["sam"]}),
            target_coverage=Decimal(draw(st.sampled_from(["1", "1.2", "0.8"]))),
            implausible_multiple=Decimal(20),
        ),
    )
    estate = Estate(
        locations=locations, positions=positions, demand=demand, lanes=lanes, items=rules
    )
    return request, estate


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(estates())
def test_planner_invariants(case: tuple[RebalanceRequest, Estate]) -> None:
    request, estate = case
    plan = plan_rebalance(request, estate, NOW)
    policy = request.policy
    excluded = {(e.location_id, e.item_id) for e in plan.excluded}
    positions = {(p.location_id, p.item_id): p for p in estate.positions}
    demand = {(d.store_id, d.item_id): d.units for d in estate.demand}
    rules = {r.item_id: r for r in estate.items}
    lanes = {(lane.source_id, lane.dest_id): lane for lane in estate.lanes}

    out_by_source_item: dict[tuple[str, str], int] = {}
    out_by_source: dict[str, int] = {}
    for move in plan.moves:
        rule = rules[move.item_id]
        # whole packs, minimum move respected
        assert move.units > 0
        assert move.units % rule.pack_size == 0
        assert move.units >= rule.min_move
        # never from or to an untrusted position
        assert (move.source_id, move.item_id) not in excluded
        assert (move.dest_id, move.item_id) not in excluded
        lane = lanes[(move.source_id, move.dest_id)]
        # arrives by need-by
        assert NOW + policy.handling_time + lane.lead_time <= request.need_by
        if lane.capacity_units is not None:
            assert move.units <= lane.capacity_units
        key = (move.source_id, move.item_id)
        out_by_source_item[key] = out_by_source_item.get(key, 0) + move.units
        out_by_source[move.source_id] = out_by_source.get(move.source_id, 0) + move.units

    for (source, item), units in out_by_source_item.items():
        pos = positions[(source, item)]
        own = demand.get((source, item), 0)
        # a source never goes below its own safety stock plus its own demand
        assert pos.on_hand - units >= pos.safety_stock + own
    for loc in estate.locations:
        if loc.outbound_capacity is not None:
            assert out_by_source.get(loc.location_id, 0) <= loc.outbound_capacity

    # no store is both a source and a destination of the same item
    sources = set(out_by_source_item)
    assert not sources & {(m.dest_id, m.item_id) for m in plan.moves}

    # the plan never makes unmet demand worse and reports what it could not cover
    assert plan.unmet_demand_after <= plan.unmet_demand_before
    assert plan.short_of_target_after <= plan.short_of_target_before
    assert plan.total_units == sum(m.units for m in plan.moves)
    for c in plan.coverage:
        if (c.store_id, c.item_id) in excluded:
            assert c.excluded_reason is not None and c.planned_inbound == 0

    # deterministic
    assert plan_rebalance(request, estate, NOW) == plan


@settings(max_examples=120, deadline=None)
@given(estates())
def test_cheapest_on_time_lane_is_preferred(case: tuple[RebalanceRequest, Estate]) -> None:
    """If a store received from a dearer lane, every cheaper on-time lane could not help."""
    request, estate = case
    plan = plan_rebalance(request, estate, NOW)
    for move in plan.moves:
        used = next(
            lane
            for lane in estate.lanes
            if lane.source_id == move.source_id and lane.dest_id == move.dest_id
        )
        for lane in estate.lanes:
            if lane.dest_id != move.dest_id or lane.cost_per_unit >= used.cost_per_unit:
                continue
            if NOW + request.policy.handling_time + lane.lead_time > request.need_by:
                continue
            # a cheaper on-time lane exists: it must have been exhausted or unusable
            rule = next(r for r in estate.items if r.item_id == move.item_id)
            sent = sum(
                m.units
                for m in plan.moves
                if m.source_id == lane.source_id and m.item_id == move.item_id
            )
            pos = next(
                (
                    p
                    for p in estate.positions
                    if p.location_id == lane.source_id and p.item_id == move.item_id
                ),
                None,
            )
            if pos is None or lane.capacity_units is not None:
                continue
            src = next(loc for loc in estate.locations if loc.location_id == lane.source_id)
            if src.outbound_capacity is not None:
                continue
            excluded = {(e.location_id, e.item_id) for e in plan.excluded}
            if (lane.source_id, move.item_id) in excluded:
                continue
            own = next(
                (
                    d.units
                    for d in estate.demand
                    if d.store_id == lane.source_id and d.item_id == move.item_id
                ),
                0,
            )
            own = max(
                own, int((request.policy.target_coverage * own).to_integral_value("ROUND_CEILING"))
            )
            left = pos.on_hand - pos.safety_stock - own - sent
            assert (left // rule.pack_size) * rule.pack_size < rule.min_move
