"""The decisions InventoryRebalance takes about its transfers, approvals and outcome, and the
planner's steps one by one (the whole planner: test_rebalance.py, *_properties.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.rebalance.approvals import (
    already_recorded,
    check_role_open,
    decision_words,
    record_of,
    still_awaiting,
)
from domain.rebalance.contract import ApprovalDecision, TransferReadBack
from domain.rebalance.estate import ItemRule, Lane, Position
from domain.rebalance.outcome import final_state
from domain.rebalance.planner import (
    Capacity,
    Scope,
    demand_in_scope,
    move_size,
    need_by_problem,
    needs_demand_read,
    on_time_lanes,
    plan_rebalance,
    rank_deficits,
    size_problem,
    surplus_by_location,
)
from domain.rebalance.screening import (
    ExcludedPosition,
    ExclusionReason,
    account_for_missing,
    distrust,
)
from domain.rebalance.status import (
    RebalanceState,
    Transfer,
    TransferState,
    Variance,
    progress_words,
)
from domain.rebalance.transfers import (
    ReadBack,
    cancel_unreleased,
    check_due_at,
    claim_for,
    declare_lost,
    in_wms_unshipped,
    judge_read_back,
    next_deadline,
    order_for,
    read_back_events,
    split_for_cancel,
)
from domain.rebalance.wms_events import advance
from fakes.rebalance import small_estate
from tests.fixtures.rebalance import approver_of, rebalance_policy, rebalance_request

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def transfer(n: int, state: TransferState, *, shipped_at: datetime | None = None) -> Transfer:
    return Transfer(
        transfer_id=f"T{n}",
        source_id="DC1",
        dest_id=f"S{n}",
        item_id="I1",
        units_planned=10,
        state=state,
        shipped_at=shipped_at,
        arrives_by=NOW,
    )


def read_back(status: str, *, shipped: int = 0, received: int = 0) -> TransferReadBack:
    return TransferReadBack(
        transfer_id="T1", wms_status=status, picked=0, shipped=shipped, received=received
    )


# --------------------------------------------------------------------------- transfers


def test_a_transfer_only_moves_forward() -> None:
    t = transfer(1, TransferState.PICKED)
    advance(t, TransferState.RELEASED)
    assert t.state == TransferState.PICKED
    advance(t, TransferState.SHIPPED)
    assert t.state == TransferState.SHIPPED
    done = transfer(2, TransferState.RECEIVED)
    advance(done, TransferState.SHIPPED)
    assert done.state == TransferState.RECEIVED


def test_cancel_splits_unshipped_moving_and_finished() -> None:
    transfers = [
        transfer(1, TransferState.RELEASED),
        transfer(2, TransferState.SHIPPED),
        transfer(3, TransferState.RECEIVED),
        transfer(4, TransferState.PICKED),
    ]
    split = split_for_cancel(transfers)
    assert (split.to_cancel, split.moving, split.finished) == (["T1", "T4"], ["T2"], ["T3"])


def test_workflow_cancel_reaches_the_wms_only_for_what_it_may_hold() -> None:
    transfers = [
        transfer(1, TransferState.APPROVED),
        transfer(2, TransferState.RELEASED),
        transfer(3, TransferState.SHIPPED),
    ]
    assert in_wms_unshipped(transfers, releasing=False) == ["T2"]
    # mid-release, an approved transfer may already exist in the WMS
    assert in_wms_unshipped(transfers, releasing=True) == ["T1", "T2"]
    cancel_unreleased(transfers)
    assert [t.state for t in transfers] == [
        TransferState.CANCELLED,
        TransferState.RELEASED,
        TransferState.SHIPPED,
    ]


def test_a_transfer_is_checked_after_in_transit_max_from_shipment_or_need_by() -> None:
    shipped = transfer(1, TransferState.SHIPPED, shipped_at=NOW)
    waiting = transfer(2, TransferState.RELEASED)
    need_by = NOW + 3 * DAY
    assert check_due_at(shipped, need_by, 2 * DAY) == NOW + 2 * DAY
    assert check_due_at(waiting, need_by, 2 * DAY) == need_by + 2 * DAY
    assert (
        next_deadline([shipped, waiting], need_by=need_by, in_transit_max=5 * DAY, escalated=False)
        == need_by
    )
    assert (
        next_deadline([shipped, waiting], need_by=need_by, in_transit_max=5 * DAY, escalated=True)
        == NOW + 5 * DAY
    )


def test_read_back_verdicts() -> None:
    assert judge_read_back(read_back("RECEIVED"), shipped=True) == ReadBack.RECEIVED
    assert judge_read_back(read_back("SHIPPED"), shipped=False) == ReadBack.SHIPPED
    assert judge_read_back(read_back("SHIPPED"), shipped=True) == ReadBack.LOST
    assert judge_read_back(read_back("CANCELLED"), shipped=False) == ReadBack.CANCELLED
    assert judge_read_back(read_back("RELEASED"), shipped=False) == ReadBack.NEVER_SHIPPED


def test_a_read_back_stands_for_the_events_that_never_arrived() -> None:
    t = transfer(1, TransferState.RELEASED)
    back = read_back("RECEIVED", shipped=10, received=9)
    events = read_back_events(t, back, ReadBack.RECEIVED)
    assert [(e.event_id, e.step, e.quantity) for e in events] == [
        ("readback-T1-shipped", "shipped", 10),
        ("readback-T1-received", "received", 9),
    ]
    assert [e.step for e in read_back_events(t, back, ReadBack.SHIPPED)] == ["shipped"]
    assert read_back_events(t, back, ReadBack.LOST) == []


def test_a_lost_transfer_claims_what_shipped() -> None:
    t = transfer(1, TransferState.SHIPPED, shipped_at=NOW)
    t.units_shipped = 8
    variance = declare_lost(t, read_back("SHIPPED"), 2 * DAY)
    assert t.state == TransferState.LOST
    assert (variance.kind, variance.units) == ("LOST", 8)
    claim = claim_for("P1", variance, t)
    assert (claim.plan_id, claim.kind, claim.item_id, claim.units) == ("P1", "lost", "I1", 8)


def test_an_order_carries_the_transfer_id_as_its_key() -> None:
    order = order_for(transfer(1, TransferState.APPROVED))
    assert (order.transfer_id, order.source_id, order.dest_id, order.units) == (
        "T1",
        "DC1",
        "S1",
        10,
    )


def test_progress_words_count_states() -> None:
    words = progress_words(
        [transfer(1, TransferState.RECEIVED), transfer(2, TransferState.SHIPPED)], escalated=True
    )
    assert words == (
        "following 1 open transfer(s): 1 received, 1 shipped (need-by missed, escalated)"
    )


# --------------------------------------------------------------------------- approvals & outcome


def test_a_decision_closes_its_role_and_a_repeat_is_not_recorded_twice() -> None:
    policy = rebalance_policy()
    decision = ApprovalDecision(approver=approver_of(policy), role="supply_chain")
    assert still_awaiting(["supply_chain", "finance"], decision) == ["finance"]
    rejection = decision.model_copy(update={"approve": False, "comment": "too dear"})
    assert still_awaiting(["supply_chain"], rejection) == ["supply_chain"]
    assert decision_words(rejection) == ("rejected", "as supply_chain: too dear")
    records = [record_of(decision, NOW)]
    assert already_recorded(decision, records)
    check_role_open(decision, [], records)  # the same person again: answered, not refused
    other = decision.model_copy(update={"approver": "someone.else"})
    with pytest.raises(ValueError, match="has already decided"):
        check_role_open(other, [], records)


def test_final_state_from_cancel_variances_and_receipts() -> None:
    received = [transfer(1, TransferState.RECEIVED)]
    short = Variance(transfer_id="T1", kind="SHORT", units=1, detail="")
    assert final_state(cancel_requested=True, variances=[], transfers=received) == (
        RebalanceState.CANCELLED
    )
    assert final_state(cancel_requested=False, variances=[], transfers=received) == (
        RebalanceState.COMPLETED
    )
    assert final_state(cancel_requested=False, variances=[short], transfers=received) == (
        RebalanceState.COMPLETED_WITH_VARIANCES
    )
    cancelled = [transfer(1, TransferState.CANCELLED)]
    assert final_state(cancel_requested=False, variances=[], transfers=cancelled) == (
        RebalanceState.COMPLETED_WITH_VARIANCES
    )


# --------------------------------------------------------------------------- planner steps


def test_overrides_covering_the_scope_skip_the_demand_read() -> None:
    partial = rebalance_request(
        stores=["S1", "S2"], demand_override=[{"store_id": "S1", "item_id": "I1", "units": 3}]
    )
    assert needs_demand_read(partial)
    full = rebalance_request(
        stores=["S1"], demand_override=[{"store_id": "S1", "item_id": "I1", "units": 3}]
    )
    assert not needs_demand_read(full)
    assert demand_in_scope(full, small_estate(NOW)) == {("S1", "I1"): 3}


def test_plan_checks_in_words() -> None:
    request = rebalance_request(need_by=NOW)
    assert need_by_problem(request, NOW) == f"need-by {NOW.isoformat()} is not in the future"
    assert need_by_problem(request, NOW - DAY) is None
    plan = plan_rebalance(rebalance_request(need_by=NOW + 3 * DAY), small_estate(NOW), NOW)
    assert size_problem(plan, rebalance_policy(max_transfers=2)) is None
    assert "needs 2 transfers, more than the policy's 1" in (
        size_problem(plan, rebalance_policy(max_transfers=1)) or ""
    )


def test_a_store_keeps_its_own_requirement_a_dc_only_its_safety_stock() -> None:
    trusted = {
        ("S1", "I1"): Position(
            location_id="S1", item_id="I1", on_hand=30, safety_stock=5, as_of=NOW
        ),
        ("DC1", "I1"): Position(
            location_id="DC1", item_id="I1", on_hand=30, safety_stock=5, as_of=NOW
        ),
    }
    demand = {("S1", "I1"): 10}
    surplus = surplus_by_location(
        trusted, demand, {"DC1"}, rebalance_policy(target_coverage=Decimal("1.5"))
    )
    assert surplus == {("S1", "I1"): 10, ("DC1", "I1"): 25}


def test_only_on_time_lanes_cheapest_first() -> None:
    lanes = [
        Lane(
            source_id="A", dest_id="S1", lead_time=timedelta(hours=10), cost_per_unit=Decimal("2")
        ),
        Lane(
            source_id="B", dest_id="S1", lead_time=timedelta(hours=10), cost_per_unit=Decimal("1")
        ),
        Lane(
            source_id="C", dest_id="S1", lead_time=timedelta(hours=50), cost_per_unit=Decimal("0")
        ),
        Lane(source_id="D", dest_id="X9", lead_time=timedelta(hours=1), cost_per_unit=Decimal("0")),
    ]
    by_dest, capacity = on_time_lanes(lanes, {"S1"}, NOW, NOW + DAY)
    assert [(i, lane.source_id) for i, lane in by_dest["S1"]] == [(1, "B"), (0, "A")]
    assert capacity == {0: None, 1: None}


def test_deficits_lowest_coverage_first() -> None:
    scope = Scope(stores=["S1", "S2"], items=["I1"], dcs=[])
    trusted = {
        ("S1", "I1"): Position(location_id="S1", item_id="I1", on_hand=5, as_of=NOW),
        ("S2", "I1"): Position(location_id="S2", item_id="I1", on_hand=1, as_of=NOW),
    }
    deficits, available = rank_deficits(
        scope, trusted, {("S1", "I1"): 10, ("S2", "I1"): 10}, Decimal(1)
    )
    assert [(d.store, d.need) for d in deficits] == [("S2", 9), ("S1", 5)]
    assert available == {("S1", "I1"): 5, ("S2", "I1"): 1}


def test_a_move_is_whole_packs_within_every_capacity() -> None:
    lane = Lane(
        source_id="DC1", dest_id="S1", lead_time=DAY, cost_per_unit=Decimal(1), capacity_units=20
    )
    capacity = Capacity(
        surplus={("DC1", "I1"): 50}, outbound={"DC1": 14}, lanes_by_dest={}, lane_left={0: 20}
    )
    packs = ItemRule(item_id="I1", pack_size=6, min_move=6)
    assert move_size(9, packs, capacity, 0, lane, "I1") == 12  # 2 packs, under the DC's 14
    assert move_size(9, packs.model_copy(update={"min_move": 18}), capacity, 0, lane, "I1") is None
    capacity.surplus[("DC1", "I1")] = 0
    assert move_size(9, packs, capacity, 0, lane, "I1") is None


def test_missing_positions_count_as_empty_or_are_excluded() -> None:
    trusted: dict[tuple[str, str], Position] = {}
    excluded: list[ExcludedPosition] = []
    reasons = account_for_missing(
        trusted, excluded, stores=["S1"], items=["I1"], rule="zero", planned_at=NOW
    )
    assert reasons == {} and trusted[("S1", "I1")].on_hand == 0
    reasons = account_for_missing(
        {}, excluded, stores=["S1"], items=["I1"], rule="exclude", planned_at=NOW
    )
    assert reasons == {("S1", "I1"): ExclusionReason.MISSING}


def test_a_feed_row_is_distrusted_for_one_reason_in_words() -> None:
    def verdict(position: Position, reference: int = 0) -> ExclusionReason | None:
        found = distrust(
            position,
            planned_at=NOW,
            max_age=DAY,
            implausible_multiple=Decimal(10),
            reference=reference,
        )
        return found[0] if found else None

    fresh = Position(location_id="S1", item_id="I1", on_hand=5, as_of=NOW)
    assert verdict(fresh) is None
    assert verdict(fresh.model_copy(update={"in_transit": -1})) == ExclusionReason.NEGATIVE
    assert verdict(fresh.model_copy(update={"as_of": NOW - 2 * DAY})) == ExclusionReason.STALE
    assert verdict(fresh.model_copy(update={"on_hand": 500}), reference=3) == (
        ExclusionReason.IMPLAUSIBLE
    )


def test_a_new_plan_is_audited_with_its_totals_then_each_position_left_out() -> None:
    from domain.rebalance.plan import RebalancePlan, plan_audit

    plan = RebalancePlan.model_validate(
        {
            "plan_id": "P1",
            "planned_at": "2026-12-01T10:00:00Z",
            "moves": [],
            "shortfalls": [],
            "coverage": [],
            "short_of_target_before": 0,
            "short_of_target_after": 0,
            "total_units": 0,
            "total_cost": "0.00",
            "unmet_demand_before": 5,
            "unmet_demand_after": 5,
            "excluded": [
                {
                    "location_id": "S001",
                    "item_id": "I1",
                    "reason": "STALE",
                    "detail": "reported before transfer T9",
                }
            ],
        }
    )
    lines = plan_audit(plan)
    assert lines[0][0] == "planned" and "unmet demand 5 -> 5" in lines[0][1]
    assert lines[1] == ("position excluded", "S001/I1: STALE (reported before transfer T9)")
