"""Planner benchmark: planning time and unmet demand before/after on large synthetic estates.

    python bench/planner.py              # 500 stores x 1,000 items and 5,000 stores x 200 items
    python bench/planner.py --quick      # small shapes, for a smoke run

The estate is seeded (same figures every run): 8 distribution centres with a lane to every
store, each store with lanes from its 3 neighbours in the same region, pack sizes 1-12,
stale/negative/implausible feed rows sprinkled in. Construction of the input models is timed
separately from planning. `MAX_SCOPE_PAIRS` does not apply here: the bench calls the pure
planner directly (a workflow plans one region or item group at a time).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.rebalance.contract import RebalanceRequest, RebalanceScope
from domain.rebalance.estate import Demand, Estate, ItemRule, Lane, Location, Position
from domain.rebalance.planner import plan_rebalance
from domain.rebalance.policy import ApprovalPolicy, RebalancePolicy

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def build(n_stores: int, n_items: int, seed: int = 7) -> tuple[RebalanceRequest, Estate]:
    rng = random.Random(seed)
    stores = [f"S{i:05d}" for i in range(n_stores)]
    dcs = [f"DC{i}" for i in range(8)]
    items = [f"I{i:05d}" for i in range(n_items)]
    fresh = NOW - timedelta(hours=2)
    stale = NOW - timedelta(days=3)
    locations = [
        Location.model_construct(location_id=s, kind="store", region=None, outbound_capacity=None)
        for s in stores
    ]
    locations += [
        Location.model_construct(
            location_id=d, kind="dc", region=None, outbound_capacity=n_stores * n_items // 4
        )
        for d in dcs
    ]
    positions: list[Position] = []
    demand: list[Demand] = []
    for s in stores:
        for i in items:
            units = rng.randint(0, 30)
            demand.append(Demand.model_construct(store_id=s, item_id=i, units=units))
            on_hand = rng.randint(0, 2 * units + 10)
            roll = rng.random()
            as_of = fresh
            if roll < 0.002:
                on_hand = -rng.randint(1, 5)
            elif roll < 0.004:
                as_of = stale
            elif roll < 0.005:
                on_hand = 60 * units + 100
            positions.append(
                Position.model_construct(
                    location_id=s,
                    item_id=i,
                    on_hand=on_hand,
                    in_transit=rng.randint(0, 3),
                    safety_stock=rng.randint(0, 4),
                    as_of=as_of,
                )
            )
    for d in dcs:
        for i in items:
            positions.append(
                Position.model_construct(
                    location_id=d,
                    item_id=i,
                    on_hand=rng.randint(0, n_stores * 2),
                    in_transit=0,
                    safety_stock=10,
                    as_of=fresh,
                )
            )
    lanes: list[Lane] = []
    for idx, s in enumerate(stores):
        for k, d in enumerate(dcs):
            lanes.append(
                Lane.model_construct(
                    source_id=d,
                    dest_id=s,
                    lead_time=timedelta(hours=24 + 12 * k),
                    cost_per_unit=Decimal("0.40") + Decimal(k) / 10,
                    cost_per_shipment=Decimal("15"),
                    capacity_units=None,
                )
            )
        for step in (1, 2, 3):
            n = stores[(idx + step) % n_stores]
            lanes.append(
                Lane.model_construct(
                    source_id=n,
                    dest_id=s,
                    lead_time=timedelta(hours=8 * step),
                    cost_per_unit=Decimal("0.25") + Decimal(step) / 20,
                    cost_per_shipment=Decimal("5"),
                    capacity_units=200,
                )
            )
    rules = [
        ItemRule.model_construct(
            item_id=i, pack_size=rng.choice([1, 1, 2, 6, 12]), min_move=rng.choice([1, 2, 6])
        )
        for i in items
    ]
    scope = RebalanceScope.model_construct(stores=stores, items=items)
    request = RebalanceRequest.model_construct(
        plan_id="bench",
        reason="periodic",
        scope=scope,
        need_by=NOW + timedelta(days=3),
        policy=RebalancePolicy(approval=ApprovalPolicy(approvers={"supply_chain": ["sam"]})),
        demand_override=[],
        parent_promotion_id=None,
        requested_by=None,
    )
    estate = Estate.model_construct(
        locations=locations, positions=positions, demand=demand, lanes=lanes, items=rules
    )
    return request, estate


def run(n_stores: int, n_items: int) -> None:
    t0 = time.perf_counter()
    request, estate = build(n_stores, n_items)
    t1 = time.perf_counter()
    plan = plan_rebalance(request, estate, NOW)
    t2 = time.perf_counter()
    before, after = plan.unmet_demand_before, plan.unmet_demand_after
    covered = 100 * (before - after) / before if before else 0.0
    print(
        f"{n_stores:>5} stores x {n_items:>5} items ({n_stores * n_items:>9,} pairs): "
        f"build {t1 - t0:6.1f} s, plan {t2 - t1:6.1f} s; moves {len(plan.moves):,}, "
        f"units {plan.total_units:,}, cost {plan.total_cost:,}; excluded {len(plan.excluded):,}; "
        f"unmet demand {before:,} -> {after:,} units ({covered:.1f}% covered)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small shapes only")
    args = parser.parse_args()
    shapes = [(50, 100), (200, 50)] if args.quick else [(500, 1000), (5000, 200)]
    for stores, items in shapes:
        run(stores, items)


if __name__ == "__main__":
    main()
