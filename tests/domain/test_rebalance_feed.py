"""The stock feed checked against the product's own movements and against sales.

The reported incident: a feed frozen for minutes passed `feed_max_age` (24 h), so the next
plan repeated the same moves and DC stock went negative; an inflated feed was not flagged
and its plan ran below the approval thresholds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

from domain.rebalance.approvals import approval_reasons
from domain.rebalance.contract import RebalanceRequest
from domain.rebalance.estate import Estate, Movement, Position
from domain.rebalance.planner import plan_rebalance, stock_problem
from domain.rebalance.screening import ExclusionReason
from fakes.rebalance import small_estate
from tests.fixtures.rebalance import rebalance_request

MovementStatus = Literal["RELEASED", "PICKED", "SHIPPED", "RECEIVED"]
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def request() -> RebalanceRequest:
    return rebalance_request(need_by=NOW + timedelta(days=3), plan_id="feed-1")


def with_movements(estate: Estate, *movements: Movement) -> Estate:
    return estate.model_copy(update={"movements": list(movements)})


def moved(status: MovementStatus, units: int, *, at: datetime, dest: str = "S1") -> Movement:
    return Movement(
        transfer_id=f"earlier-T-{dest}",
        source_id="DC1",
        dest_id=dest,
        item_id="I1",
        units=units,
        status=status,
        at=at,
    )


def test_a_feed_older_than_the_products_own_shipment_is_stale_whatever_its_age() -> None:
    """Reported 1 h ago (well within 24 h), but DC1 shipped 8 units 10 minutes ago."""
    estate = with_movements(small_estate(NOW), moved("SHIPPED", 8, at=NOW - timedelta(minutes=10)))
    plan = plan_rebalance(request(), estate, NOW)
    stale = {(e.location_id, e.item_id): e for e in plan.excluded}
    assert stale[("DC1", "I1")].reason == ExclusionReason.STALE
    assert "earlier-T-S1" in stale[("DC1", "I1")].detail
    assert stale[("S1", "I1")].reason == ExclusionReason.STALE
    assert not any(m.source_id == "DC1" for m in plan.moves)  # no repeat of the same moves


def test_a_feed_newer_than_the_movements_is_trusted() -> None:
    estate = with_movements(small_estate(NOW), moved("SHIPPED", 8, at=NOW - timedelta(hours=2)))
    plan = plan_rebalance(request(), estate, NOW)
    assert plan.excluded == [] and plan.moves


def test_released_transfers_not_shipped_yet_count_at_both_ends() -> None:
    """DC1 holds 500 (safety 20) but 470 are on a released transfer to S3: only 10 left to
    give; S1's 8 units coming on another released transfer cover it."""
    estate = with_movements(
        small_estate(NOW),
        moved("RELEASED", 470, at=NOW - timedelta(hours=2), dest="S3"),
        moved("RELEASED", 8, at=NOW - timedelta(hours=2), dest="S1"),
    )
    plan = plan_rebalance(request(), estate, NOW)
    assert not any(m.dest_id == "S1" for m in plan.moves)
    assert sum(m.units for m in plan.moves if m.source_id == "DC1") <= 500 - 478 - 20
    assert stock_problem(plan, estate) is None


def test_a_plan_that_would_drive_a_position_negative_is_refused_with_the_reason() -> None:
    """The plan made on the feed alone, checked against the released transfers it ignored."""
    blind = plan_rebalance(request(), small_estate(NOW), NOW)
    assert sum(m.units for m in blind.moves) == 15
    estate = with_movements(
        small_estate(NOW), moved("RELEASED", 495, at=NOW - timedelta(hours=2), dest="S3")
    )
    problem = stock_problem(blind, estate)
    assert problem is not None
    assert "DC1/I1 would go to -10" in problem and "495 on released transfers" in problem


def inflated(estate: Estate, factor: int) -> Estate:
    return estate.model_copy(
        update={
            "positions": [
                Position(
                    location_id=p.location_id,
                    item_id=p.item_id,
                    on_hand=p.on_hand * factor + 100,
                    safety_stock=p.safety_stock,
                    as_of=p.as_of,
                )
                for p in estate.positions
            ]
        }
    )


def test_an_inflated_feed_is_doubtful_and_its_small_plan_goes_to_approval() -> None:
    """Every figure inflated (S1 and S2 hold 13x and 14x their demand with nothing received
    lately): the plan is small, below every threshold, yet it waits for approval."""
    every = inflated(small_estate(NOW), 1)  # S1 102, S2 103 units against demand 8 each
    every = every.model_copy(
        update={"demand": [d.model_copy(update={"units": 8}) for d in every.demand]}
    )
    plan = plan_rebalance(request(), every, NOW)
    assert plan.feed_doubt is not None and "2 of 2 store position(s)" in plan.feed_doubt
    honest = plan_rebalance(request(), small_estate(NOW), NOW)
    assert honest.feed_doubt is None and approval_reasons(honest, request().policy) == []
    doubtful = honest.model_copy(update={"feed_doubt": plan.feed_doubt})
    assert honest.total_units < 1000 and honest.total_cost < Decimal("1000")
    assert [r for r in approval_reasons(doubtful, request().policy) if "doubtful" in r]


def test_recent_receipts_explain_a_high_store_figure() -> None:
    """S1 and S2 just received 100 units each from the product's own transfers."""
    every = inflated(small_estate(NOW), 1)
    every = every.model_copy(
        update={"demand": [d.model_copy(update={"units": 8}) for d in every.demand]}
    )
    long_ago = NOW - timedelta(hours=3)
    explained = with_movements(
        every,
        moved("RECEIVED", 100, at=long_ago, dest="S1"),
        moved("RECEIVED", 100, at=long_ago, dest="S2"),
    )
    assert plan_rebalance(request(), explained, NOW).feed_doubt is None
