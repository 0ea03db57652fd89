"""Planner and transfer rules on hand-made cases (the invariants are in *_properties.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from domain.rebalance.approvals import approval_reasons, check_decision
from domain.rebalance.contract import ApprovalDecision, RebalanceRequest, WmsEvent
from domain.rebalance.estate import (
    Demand,
    Estate,
    ItemRule,
    Lane,
    Location,
    Position,
    Site,
    demand_from_sales,
    derive_lanes,
)
from domain.rebalance.planner import plan_rebalance
from domain.rebalance.screening import ExclusionReason
from domain.rebalance.status import RebalanceState, Transfer, TransferState
from domain.rebalance.wms_events import apply_wms_event
from fakes.rebalance import small_estate
from tests.fixtures.rebalance import approver_of, rebalance_policy, rebalance_request

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def request(**changes: Any) -> RebalanceRequest:
    changes.setdefault("need_by", NOW + timedelta(days=3))
    return rebalance_request(plan_id="t", **changes)


def test_small_estate_plan_covers_both_stores_cheapest_first() -> None:
    plan = plan_rebalance(request(), small_estate(NOW), NOW)
    assert [(m.source_id, m.dest_id, m.units, m.cost) for m in plan.moves] == [
        ("DC1", "S1", 8, Decimal("12.00")),
        ("DC1", "S2", 7, Decimal("14.00")),
    ]
    assert (plan.unmet_demand_before, plan.unmet_demand_after) == (15, 0)
    assert plan.total_cost == Decimal("26.00")
    assert [c.coverage_planned for c in plan.coverage] == [Decimal("1.00"), Decimal("1.00")]


def test_late_lane_is_not_used_and_the_shortfall_says_why() -> None:
    plan = plan_rebalance(request(need_by=NOW + timedelta(hours=26)), small_estate(NOW), NOW)
    assert [m.dest_id for m in plan.moves] == ["S1"]  # DC1->S2 takes 30 h + 4 h handling
    assert [(s.store_id, s.units) for s in plan.shortfalls] == [("S2", 7)]
    assert "no lane reaches this store" in plan.shortfalls[0].reason


def test_bad_feed_rows_are_excluded_with_reasons() -> None:
    estate = small_estate(NOW)
    estate.positions[0] = Position(location_id="S1", item_id="I1", on_hand=-3, as_of=NOW)
    estate.positions[1] = Position(
        location_id="S2", item_id="I1", on_hand=5, as_of=NOW - timedelta(days=2)
    )
    plan = plan_rebalance(request(), estate, NOW)
    reasons = {(e.location_id, e.reason) for e in plan.excluded}
    assert reasons == {("S1", ExclusionReason.NEGATIVE), ("S2", ExclusionReason.STALE)}
    assert plan.moves == []
    assert all(c.coverage_planned == 0 and c.excluded_reason for c in plan.coverage)
    assert "older than the policy's 24.0 h" in next(
        e.detail for e in plan.excluded if e.reason == ExclusionReason.STALE
    )


def test_implausible_position_and_missing_position() -> None:
    estate = small_estate(NOW)
    estate.positions[0] = Position(location_id="S1", item_id="I1", on_hand=5000, as_of=NOW)
    del estate.positions[1]
    strict = request(policy=rebalance_policy(missing_position="exclude"))
    plan = plan_rebalance(strict, estate, NOW)
    reasons = {(e.location_id, e.reason) for e in plan.excluded}
    assert reasons == {("S1", ExclusionReason.IMPLAUSIBLE), ("S2", ExclusionReason.MISSING)}
    # the implausible store is not used as a source either
    assert plan.moves == []
    # by default a missing row counts as nothing on hand (WMS convention)
    plan = plan_rebalance(request(), estate, NOW)
    assert [(m.dest_id, m.units) for m in plan.moves] == [("S2", 10)]


def test_store_surplus_moves_to_a_neighbour_within_its_own_needs() -> None:
    estate = Estate(
        locations=[Location(location_id="A"), Location(location_id="B")],
        positions=[
            Position(location_id="A", item_id="I1", on_hand=40, safety_stock=5, as_of=NOW),
            Position(location_id="B", item_id="I1", on_hand=0, as_of=NOW),
        ],
        demand=[
            Demand(store_id="A", item_id="I1", units=10),
            Demand(store_id="B", item_id="I1", units=50),
        ],
        lanes=[
            Lane(
                source_id="A",
                dest_id="B",
                lead_time=timedelta(hours=5),
                cost_per_unit=Decimal("0.5"),
            )
        ],
        items=[ItemRule(item_id="I1", pack_size=6, min_move=12)],
    )
    plan = plan_rebalance(request(stores=["A", "B"]), estate, NOW)
    # A keeps 5 safety + 10 demand = 15; 25 spare -> 4 packs of 6 = 24
    assert [(m.source_id, m.units) for m in plan.moves] == [("A", 24)]
    assert plan.shortfalls[0].units == 26


def test_approval_reasons_and_decisions() -> None:
    plan = plan_rebalance(request(), small_estate(NOW), NOW)
    policy = rebalance_policy(cost_threshold="10", units_threshold=10)
    sam = approver_of(policy)
    assert len(approval_reasons(plan, policy)) == 2
    check_decision(
        ApprovalDecision(approver=sam, role="supply_chain"),
        policy,
        RebalanceState.AWAITING_APPROVAL,
    )
    with pytest.raises(ValueError, match="does not hold the role"):
        check_decision(
            ApprovalDecision(approver="x", role="supply_chain"),
            policy,
            RebalanceState.AWAITING_APPROVAL,
        )
    with pytest.raises(ValueError, match="not awaiting approval"):
        check_decision(
            ApprovalDecision(approver=sam, role="supply_chain"),
            policy,
            RebalanceState.IN_PROGRESS,
        )


def test_request_validation_names_the_problem() -> None:
    with pytest.raises(ValidationError, match="same id twice"):
        rebalance_request(stores=["S1", "S1"])
    with pytest.raises(ValidationError, match="outside the scope"):
        rebalance_request(demand_override=[{"store_id": "S9", "item_id": "I1", "units": 3}])
    with pytest.raises(ValidationError, match="timezone-aware"):
        rebalance_request(need_by=datetime(2030, 1, 1))


def _transfer() -> Transfer:
    return Transfer(
        transfer_id="T1",
        source_id="DC1",
        dest_id="S1",
        item_id="I1",
        units_planned=10,
        state=TransferState.RELEASED,
        arrives_by=NOW,
    )


def _ev(step: str, qty: int) -> WmsEvent:
    return WmsEvent(
        event_id=f"{step}{qty}",
        transfer_id="T1",
        step=step,
        lines=[{"item_id": "I1", "quantity": qty}],
    )


def test_events_never_regress_and_receipts_settle_variances() -> None:
    t = _transfer()
    assert apply_wms_event(t, _ev("shipped", 10), NOW) is None
    assert apply_wms_event(t, _ev("picked", 10), NOW) is None
    assert t.state == TransferState.SHIPPED
    variance = apply_wms_event(t, _ev("received", 7), NOW)
    assert t.state == TransferState.PARTIALLY_RECEIVED
    assert variance is not None and (variance.kind, variance.units) == ("SHORT", 3)
    over = _transfer()
    variance = apply_wms_event(over, _ev("received", 12), NOW)  # receipt before shipment
    assert over.state == TransferState.RECEIVED
    assert variance is not None and (variance.kind, variance.units) == ("OVER", 2)
    tolerant = _transfer()
    assert apply_wms_event(tolerant, _ev("received", 9), NOW, tolerance=1) is None


def test_demand_from_sales_and_lanes_from_geography() -> None:
    demand = demand_from_sales(
        [("S1", "I1", 28), ("S1", "I1", 14)],
        history=timedelta(days=28),
        window=timedelta(days=3),
        stores=["S1", "S2"],
        items=["I1"],
    )
    assert [(d.store_id, d.units) for d in demand] == [("S1", 5), ("S2", 0)]
    sites = [
        Site(location_id="DC", kind="dc", region="east", latitude=40.0, longitude=-75.0),
        Site(location_id="S1", kind="store", region="east", latitude=40.5, longitude=-75.0),
        Site(location_id="S2", kind="store", region="east", latitude=41.0, longitude=-75.0),
        Site(location_id="S3", kind="store", region="west", latitude=34.0, longitude=-118.0),
    ]
    lanes = derive_lanes(sites, ["S1"])
    assert sorted(lane.source_id for lane in lanes) == ["DC", "S2"]
    assert all(lane.lead_time > timedelta(hours=12) for lane in lanes)
