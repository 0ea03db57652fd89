"""Pure sell-through rules: what is recommended, when it is automatic, who may decide."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.publication.contract import Channel, PublicationAction, PublicationOutcome
from domain.publication.prices import PriceLine
from domain.rebalance.policy import ApprovalPolicy, RebalancePolicy
from domain.sellthrough.contract import Decision, MonitorInput, RegionSales
from domain.sellthrough.decisions import check_decision
from domain.sellthrough.effects import (
    markdown_request,
    markdown_total,
    price_version,
    record_markdown,
    record_throttle,
    throttle_requests,
    transfer_request,
)
from domain.sellthrough.policy import MonitorPolicy
from domain.sellthrough.prices import current_price, marked_down_price
from domain.sellthrough.rules import elapsed_fraction, evaluate
from domain.sellthrough.status import RecommendationKind, RecommendationStatus

START = datetime(2026, 12, 1, tzinfo=UTC)
END = START + timedelta(days=10)
HALFWAY = START + timedelta(days=5)


def monitor(**policy: object) -> MonitorInput:
    return MonitorInput(
        promotion_id="P1",
        items=[
            PriceLine(
                item_id="SKU-1",
                regular_price=Decimal("10.00"),
                promo_price=Decimal("8.00"),
                offer="20% off",
            )
        ],
        stores_by_region={"north": ["S1", "S2"], "south": ["S3"], "west": ["S4"]},
        forecast_units={"north": {"SKU-1": 200}, "south": {"SKU-1": 100}, "west": {"SKU-1": 100}},
        starts_at=START,
        ends_at=END,
        policy=MonitorPolicy.model_validate(policy),
    )


def sales(**units: int) -> RegionSales:
    return RegionSales(
        since=START, until=HALFWAY, units={r: {"SKU-1": n} for r, n in units.items()}
    )


def test_elapsed_fraction_is_clamped_to_the_window() -> None:
    assert elapsed_fraction(START, END, START - timedelta(days=1)) == 0
    assert elapsed_fraction(START, END, HALFWAY) == Decimal("0.5")
    assert elapsed_fraction(START, END, END + timedelta(days=1)) == 1


def test_on_forecast_sales_recommend_nothing() -> None:
    data = monitor()
    assert evaluate(data, sales(north=100, south=50, west=50), HALFWAY) == []
    assert data.state.last_ratios == {
        "north/SKU-1": Decimal("1.00"),
        "south/SKU-1": Decimal("1.00"),
        "west/SKU-1": Decimal("1.00"),
    }


def test_slow_region_gets_a_markdown_automatic_inside_the_bound() -> None:
    data = monitor(auto_markdown_max_pct="10")
    # north expected 100 by halfway, sold 82: ratio 0.82 is above 0.7 -> nothing;
    # south expected 50, sold 30: ratio 0.60 -> gap 40% x 0.5 = 20% -> outside 10% bound
    # west expected 50, sold 34: ratio 0.68 -> 16% -> rounded up to 20%
    recs = evaluate(data, sales(north=82, south=30, west=34), HALFWAY)
    assert [(r.kind, r.region, r.markdown_pct, r.automatic) for r in recs] == [
        (RecommendationKind.MARKDOWN, "south", Decimal("20"), False),
        (RecommendationKind.MARKDOWN, "west", Decimal("20"), False),
    ]
    assert recs[0].new_price == Decimal("6.40")
    assert recs[0].id == "rec-1" and recs[1].id == "rec-2" and data.state.next_seq == 3
    assert "south sold 30 of 50.00 expected (60%)" in recs[0].reason

    data = monitor(auto_markdown_max_pct="20")
    recs = evaluate(data, sales(north=100, south=30, west=50), HALFWAY)
    assert [(r.region, r.automatic) for r in recs] == [("south", True)]


def test_markdown_never_exceeds_the_total_cap() -> None:
    data = monitor(max_markdown_pct="25", auto_markdown_max_pct="10")
    data.state.markdown_pct["south/SKU-1"] = Decimal("20")
    [rec] = evaluate(data, sales(north=100, south=5, west=50), HALFWAY)
    assert rec.markdown_pct == Decimal("5")
    assert rec.new_price == marked_down_price(Decimal("8.00"), Decimal("25")) == Decimal("6.00")


def test_fast_region_gets_a_transfer_from_the_slowest_region_with_surplus() -> None:
    policy = RebalancePolicy(approval=ApprovalPolicy(approvers={"supply_chain": ["sam"]}))
    data = monitor(rebalance_policy=policy.model_dump(), auto_transfer_max_units=50)
    # north sells 150 of 100 expected: projected 300 vs forecast 200 -> short 100
    # south sells 40 of 50 (projected 80 -> surplus 20), west 45 of 50 (surplus 10)
    recs = evaluate(data, sales(north=150, south=40, west=45), HALFWAY)
    [rec] = recs
    assert rec.kind is RecommendationKind.TRANSFER
    assert (rec.region, rec.source_region, rec.transfer_units, rec.automatic) == (
        "north",
        "south",
        20,
        True,
    )


def test_fast_region_without_a_donor_gets_digital_throttling_once() -> None:
    data = monitor(auto_throttle=False)
    recs = evaluate(data, sales(north=150, south=80, west=90), HALFWAY)
    assert [(r.kind, r.region, r.automatic) for r in recs] == [
        (RecommendationKind.DIGITAL_THROTTLE, "north", False),
        # south and west also fast, but one throttle covers every region
    ]


def test_an_open_recommendation_is_not_repeated_and_cooldown_applies() -> None:
    data = monitor()
    first = evaluate(data, sales(north=100, south=30, west=50), HALFWAY)
    data.state.recommendations.extend(first)
    later = HALFWAY + timedelta(hours=4)
    assert evaluate(data, sales(north=100, south=30, west=50), later) == []
    first[0].status = RecommendationStatus.APPLIED
    assert evaluate(data, sales(north=100, south=30, west=50), later) == []
    much_later = HALFWAY + timedelta(days=2)
    assert len(evaluate(data, sales(north=140, south=30, west=70), much_later)) == 1


def test_decisions_need_an_authorized_role_and_an_open_recommendation() -> None:
    data = monitor(authorized_roles=["category_manager"])
    [rec] = evaluate(data, sales(north=100, south=30, west=50), HALFWAY)
    data.state.recommendations.append(rec)
    ok = Decision(recommendation_id=rec.id, approve=True, by="cat", role="category_manager")
    assert check_decision(data, ok) is rec
    with pytest.raises(ValueError, match="role 'store_ops' may not decide"):
        check_decision(data, ok.model_copy(update={"role": "store_ops"}))
    with pytest.raises(ValueError, match="no recommendation 'rec-9'"):
        check_decision(data, ok.model_copy(update={"recommendation_id": "rec-9"}))
    rec.status = RecommendationStatus.REJECTED
    with pytest.raises(ValueError, match="closed"):
        check_decision(data, ok)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"ends_at": START}, "ends_at must be after starts_at"),
        ({"stores_by_region": {}}, "name at least one region"),
        ({"stores_by_region": {"north": []}}, "without stores: north"),
        ({"forecast_units": {"east": {"SKU-1": 1}}}, "unknown region"),
        ({"forecast_units": {"north": {"SKU-9": 1}}}, "not in the promotion: north/SKU-9"),
    ],
)
def test_bad_monitor_input_is_refused_in_words(changes: dict[str, object], words: str) -> None:
    fields = monitor().model_dump()
    fields.update(changes)
    with pytest.raises(ValidationError, match=words):
        MonitorInput.model_validate(fields)


def test_policy_bounds_must_be_consistent() -> None:
    with pytest.raises(ValidationError, match="auto_markdown_max_pct 50 is above"):
        MonitorPolicy(auto_markdown_max_pct=Decimal("50"), max_markdown_pct=Decimal("40"))
    with pytest.raises(ValidationError, match="check_interval"):
        MonitorPolicy(check_interval=timedelta(0))


def _two_items() -> MonitorInput:
    data = monitor(auto_markdown_max_pct="20")
    data.items.append(
        PriceLine(
            item_id="SKU-2",
            regular_price=Decimal("5.00"),
            promo_price=Decimal("4.00"),
            offer="20% off",
        )
    )
    return data


def test_a_markdown_publishes_the_whole_price_book_of_the_region() -> None:
    data = _two_items()
    data.state.markdown_pct["south/SKU-2"] = Decimal("25")
    [rec] = evaluate(data, sales(north=100, south=30, west=50), HALFWAY)
    assert (rec.region, rec.item_id, rec.new_price) == ("south", "SKU-1", Decimal("6.40"))
    request = markdown_request(data, rec)
    assert (request.channel, request.action, request.targets) == (
        Channel.POS,
        PublicationAction.PUBLISH,
        ["S3"],
    )
    assert request.version == price_version(data, rec) == 1001
    # the item marked down earlier keeps its lower price in the same price book
    assert [(line.item_id, line.promo_price, line.offer) for line in request.lines] == [
        ("SKU-1", Decimal("6.40"), "20% off, marked down 20%"),
        ("SKU-2", Decimal("3.00"), "20% off"),
    ]
    assert current_price(data.state, "south", data.items[1]) == Decimal("3.00")


def _outcome(channel: Channel, confirmed: int, failed: list[str]) -> PublicationOutcome:
    return PublicationOutcome.model_validate(
        {
            "channel": channel,
            "action": PublicationAction.PUBLISH,
            "version": 1001,
            "outcomes": [
                {"target": t, "state": "FAILED", "attempts": 1, "reason": "down"} for t in failed
            ],
            "confirmed": confirmed,
            "failed": len(failed),
            "duplicate_acks_dropped": 0,
            "reconciled_by_readback": 0,
            "republished": 0,
        }
    )


def test_a_markdown_counts_once_a_store_took_it() -> None:
    data = _two_items()
    [rec] = evaluate(data, sales(north=100, south=30, west=50), HALFWAY)
    total = markdown_total(data.state, rec)
    ok, words = record_markdown(data.state, rec, _outcome(Channel.POS, 0, ["S3"]), total)
    assert not ok and data.state.markdown_pct == {}
    assert words == "SKU-1 at 6.40 in 0 store(s) of south; 1 store(s) could not be updated: S3"
    ok, _ = record_markdown(data.state, rec, _outcome(Channel.POS, 1, []), total)
    assert ok and data.state.markdown_pct == {"south/SKU-1": Decimal("20")}


def test_throttling_retracts_from_both_digital_channels_and_counts_only_when_both_did() -> None:
    data = monitor(auto_throttle=True)
    [rec] = evaluate(data, sales(north=150, south=80, west=90), HALFWAY)
    requests = throttle_requests(data, rec)
    assert [(r.channel, r.action, r.targets) for r in requests] == [
        (Channel.ECOMMERCE, PublicationAction.RETRACT, ["*"]),
        (Channel.MARKETPLACE, PublicationAction.RETRACT, ["*"]),
    ]
    ok, words = record_throttle(
        data.state, [_outcome(Channel.ECOMMERCE, 1, []), _outcome(Channel.MARKETPLACE, 0, ["*"])]
    )
    assert not ok and not data.state.throttled
    assert (
        words
        == "promotion taken off the digital channels (ecommerce: retracted; marketplace: down)"
    )
    ok, _ = record_throttle(data.state, [_outcome(Channel.ECOMMERCE, 1, [])])
    assert ok and data.state.throttled


def test_a_transfer_moves_the_shortfall_from_the_source_stores_to_the_fast_region() -> None:
    policy = RebalancePolicy(approval=ApprovalPolicy(approvers={"supply_chain": ["sam"]}))
    data = monitor(rebalance_policy=policy.model_dump(), auto_transfer_max_units=50)
    [rec] = evaluate(data, sales(north=150, south=40, west=45), HALFWAY)
    request = transfer_request(data, rec, "sell-through monitor", HALFWAY)
    assert request is not None
    assert request.plan_id == "P1-st-rec-1" and request.parent_promotion_id == "P1"
    assert [(d.store_id, d.units) for d in request.demand_override] == [
        ("S1", 10),
        ("S2", 10),
        ("S3", 0),
    ]
    assert request.need_by == HALFWAY + data.policy.transfer_need_by
    data.policy.rebalance_policy = None
    assert transfer_request(data, rec, "x", HALFWAY) is None
