"""The plan model and its validation against ERP facts: prices, conflicts, margin floor, funding, store windows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from domain.promotion.plan import (
    ExistingPromotion,
    ItemFacts,
    Offer,
    OfferType,
    PromotionPlan,
)
from domain.promotion.validation import validate_plan
from tests.domain.promotion.samples import ITEMS, NOW, ROOT, deal, facts, plan, policy


def test_sample_plan_validates_and_prices() -> None:
    result = validate_plan(plan(), facts(), policy(), now=NOW)
    assert result.ok, result.problems
    prices = {line.item_id: line.promo_price for line in result.lines}
    assert prices == {
        "I0012": Decimal("4.89"),
        "I0060": Decimal("3.49"),
        "I0156": Decimal("7.69"),
    }
    assert result.metrics is not None
    assert result.metrics.discount_depth_pct == Decimal("30.1")  # cents rounding
    assert result.metrics.store_count == 8
    assert result.metrics.planned_units == 240


def test_end_before_start_is_refused_on_the_field() -> None:
    with pytest.raises(ValidationError) as err:
        plan(starts_at="2026-12-07T00:00:00Z", ends_at="2026-12-04T00:00:00Z")
    locs = [e["loc"] for e in err.value.errors()]
    assert ("ends_at",) in locs
    assert "must be after starts_at" in str(err.value)


@pytest.mark.parametrize(
    ("offer", "message"),
    [
        ({"type": "percent_off"}, "needs percent"),
        ({"type": "buy_x_get_y", "buy": 2}, "needs get"),
        ({"type": "fixed_price", "price": "3", "percent": "10"}, "does not take percent"),
        ({"type": "spend_threshold", "threshold": "10", "amount": "12"}, "smaller than"),
        ({"type": "percent_off", "percent": "120"}, "less than 100"),
    ],
)
def test_offer_fields_per_type(offer: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Offer.model_validate(offer)


@pytest.mark.parametrize(
    ("offer", "regular", "expected"),
    [
        ({"type": "percent_off", "percent": "25"}, "10.00", "7.50"),
        ({"type": "amount_off", "amount": "1.50"}, "10.00", "8.50"),
        ({"type": "fixed_price", "price": "6.66"}, "10.00", "6.66"),
        ({"type": "buy_x_get_y", "buy": 2, "get": 1}, "9.00", "6.00"),
        ({"type": "spend_threshold", "threshold": "50", "amount": "10"}, "10.00", "8.00"),
    ],
)
def test_offer_unit_price(offer: dict[str, object], regular: str, expected: str) -> None:
    parsed = Offer.model_validate(offer)
    assert parsed.unit_price(Decimal(regular)) == Decimal(expected)
    assert parsed.words()
    assert OfferType(str(offer["type"]))


def test_plan_needs_a_store_and_unique_items() -> None:
    with pytest.raises(ValidationError, match="name at least one store"):
        plan(stores=[], store_groups=[])
    with pytest.raises(ValidationError, match="listed twice"):
        plan(
            items=[
                {"item_id": "I0012", "forecast_units_per_store": 1},
                {"item_id": "I0012", "forecast_units_per_store": 2},
            ]
        )


# --------------------------------------------------------------------------- validation


def test_unknown_item_and_store_are_each_named() -> None:
    f = facts(
        items={k: v for k, v in ITEMS.items() if k != "I0060"},
        unknown_stores=["S999"],
        unknown_groups=["region:mars"],
    )
    result = validate_plan(plan(), f, policy(), now=NOW)
    words = [p.words() for p in result.problems]
    assert "items.1.item_id: unknown item I0060" in words
    assert "stores: unknown store S999" in words
    assert "store_groups: unknown store group region:mars" in words
    assert result.metrics is None


def test_window_already_over_is_refused() -> None:
    result = validate_plan(plan(), facts(), policy(), now=NOW + timedelta(days=9))
    assert any(p.field == "ends_at" for p in result.problems)


def test_conflict_with_overlapping_promotion_on_same_item_and_store() -> None:
    other = ExistingPromotion(
        promotion_id="OTHER",
        items=["I0060", "I9999"],
        stores=["S004", "S777"],
        starts_at=NOW + timedelta(days=7),
        ends_at=NOW + timedelta(days=10),
    )
    result = validate_plan(plan(), facts(other_promotions=[other]), policy(), now=NOW)
    assert [p.field for p in result.problems] == ["items"]
    assert "conflicts with promotion OTHER on I0060" in result.problems[0].reason
    assert "S004" in result.problems[0].reason


@pytest.mark.parametrize(
    "other",
    [
        # different window
        {"items": ["I0060"], "stores": ["S004"], "days": (20, 25), "status": "ACTIVE"},
        # different stores
        {"items": ["I0060"], "stores": ["S999"], "days": (6, 7), "status": "ACTIVE"},
        # different items
        {"items": ["I0001"], "stores": ["S004"], "days": (6, 7), "status": "ACTIVE"},
        # no longer running
        {"items": ["I0060"], "stores": ["S004"], "days": (6, 7), "status": "INACTIVE"},
    ],
)
def test_no_conflict_without_full_overlap(other: dict[str, Any]) -> None:
    start, end = other["days"]
    existing = ExistingPromotion(
        promotion_id="OTHER",
        items=other["items"],
        stores=other["stores"],
        starts_at=NOW + timedelta(days=start),
        ends_at=NOW + timedelta(days=end),
        status=other["status"],
    )
    result = validate_plan(plan(), facts(other_promotions=[existing]), policy(), now=NOW)
    assert result.ok, result.problems


def test_margin_floor_refused_without_funding_and_accepted_when_funding_covers() -> None:
    deep = {"type": "percent_off", "percent": "45"}
    refused = validate_plan(
        plan(offer=deep, vendor_deal_id=None), facts(deal=None), policy(), now=NOW
    )
    reasons = [p.reason for p in refused.problems if p.field == "offer"]
    assert reasons and all("below the margin floor" in r for r in reasons)
    assert "no vendor funding covers the gap" in reasons[0]
    # I0012: 6.99 * 0.55 = 3.84 < 4.29 * 1.05 = 4.50, but 3.84 + 1.75 funding covers it
    funded = validate_plan(plan(offer=deep), facts(), policy(), now=NOW)
    assert funded.ok, funded.problems
    assert funded.metrics is not None and funded.metrics.vendor_funding > 0


def test_funding_that_does_not_cover_still_refuses() -> None:
    deep = {"type": "percent_off", "percent": "60"}
    result = validate_plan(plan(offer=deep), facts(), policy(), now=NOW)
    assert any("even with vendor funding" in p.reason for p in result.problems)


def test_vendor_deal_problems() -> None:
    missing = validate_plan(plan(), facts(deal=None, deal_missing=True), policy(), now=NOW)
    assert [p.words() for p in missing.problems] == ["vendor_deal_id: unknown vendor deal D001"]
    expired = validate_plan(
        plan(), facts(deal=deal(ends_at=NOW + timedelta(days=6))), policy(), now=NOW
    )
    assert any("does not cover the promotion window" in p.reason for p in expired.problems)
    unrelated = validate_plan(plan(), facts(deal=deal(items=["I0001"])), policy(), now=NOW)
    assert any("funds none" in p.reason for p in unrelated.problems)


def test_fixed_price_above_regular_is_refused() -> None:
    result = validate_plan(
        plan(offer={"type": "fixed_price", "price": "9.50"}), facts(), policy(), now=NOW
    )
    assert any("above the regular price" in p.reason for p in result.problems)


# --------------------------------------------------------------------------- approval matrix


def metrics_for(**plan_changes: object) -> object:
    result = validate_plan(plan(**plan_changes), facts(), policy(), now=NOW)
    assert result.metrics is not None, result.problems
    return result.metrics


def test_store_window_in_store_time() -> None:
    from domain.promotion.validation import store_window

    pl = plan(starts_at="2026-12-04T08:00:00Z", ends_at="2026-12-06T20:00:00Z")
    assert store_window(pl, "America/New_York") == (pl.starts_at, pl.ends_at)
    local = plan(
        starts_at="2026-12-04T08:00:00Z", ends_at="2026-12-06T20:00:00Z", window_in_store_time=True
    )
    ny_start, _ = store_window(local, "America/New_York")
    la_start, la_end = store_window(local, "America/Los_Angeles")
    assert ny_start == datetime(2026, 12, 4, 13, 0, tzinfo=UTC)  # 08:00 EST
    assert la_start - ny_start == timedelta(hours=3)
    assert la_end == datetime(2026, 12, 7, 4, 0, tzinfo=UTC)  # 20:00 PST


# --------------------------------------------------------------------------- offer lines


def test_each_item_carries_its_own_offer_line_all_five_types_in_one_event() -> None:
    offers = [
        {"type": "percent_off", "percent": "20"},
        {"type": "amount_off", "amount": "1.00"},
        {"type": "fixed_price", "price": "8.99"},
    ]
    items = [
        {"item_id": item_id, "forecast_units_per_store": 10, "offer": offer}
        for item_id, offer in zip(["I0012", "I0060", "I0156"], offers, strict=True)
    ]
    pl = plan(items=items)
    result = validate_plan(pl, facts(), policy(), now=NOW)
    assert result.ok, result.problems
    by_item = {line.item_id: line for line in result.lines}
    assert by_item["I0012"].promo_price == Decimal("5.59") and by_item["I0012"].offer == "20% off"
    assert by_item["I0060"].promo_price == Decimal("3.99") and by_item["I0060"].offer == "1.00 off"
    assert by_item["I0156"].promo_price == Decimal("8.99")
    assert pl.offer_words() == "mixed: 20% off (1 item); 1.00 off (1 item); now 8.99 (1 item)"
    more = [
        {"type": "buy_x_get_y", "buy": "2", "get": "1", "mix_and_match": True},
        {"type": "spend_threshold", "threshold": "30", "amount": "5"},
    ]
    mixed = plan(
        items=[
            {"item_id": "I0012", "forecast_units_per_store": 10, "offer": more[0]},
            {"item_id": "I0060", "forecast_units_per_store": 10, "offer": more[0]},
            {"item_id": "I0156", "forecast_units_per_store": 10, "offer": more[1]},
        ]
    )
    lines = {line.item_id: line for line in validate_plan(mixed, facts(), policy(), now=NOW).lines}
    assert lines["I0012"].offer == "buy any 2 get 1 free (mix and match)"
    assert lines["I0012"].promo_price == Decimal("4.66")  # 6.99 x 2/3
    assert lines["I0156"].offer == "5 off when you spend 30"


def test_mix_and_match_is_refused_on_other_offer_types() -> None:
    with pytest.raises(ValidationError, match="mix_and_match applies to a buy_x_get_y offer"):
        Offer.model_validate({"type": "percent_off", "percent": "10", "mix_and_match": True})


def test_an_exclusive_overlap_names_the_promotion_items_stores_and_days() -> None:
    other = ExistingPromotion(
        promotion_id="WEEKLY-AD",
        items=["I0060"],
        stores=["S004", "S011"],
        starts_at=NOW + timedelta(days=6),
        ends_at=NOW + timedelta(days=10),
    )
    result = validate_plan(plan(), facts(other_promotions=[other]), policy(), now=NOW)
    [problem] = result.problems
    start = (NOW + timedelta(days=6)).date().isoformat()
    end = (NOW + timedelta(days=8)).date().isoformat()
    assert problem.reason == (
        f"conflicts with promotion WEEKLY-AD on I0060 in 2 store(s) (S004, S011) on {start} to "
        f"{end} (this plan is exclusive)"
    )
    stackable = plan(exclusive=False)
    assert (
        "(WEEKLY-AD is exclusive)"
        in validate_plan(stackable, facts(other_promotions=[other]), policy(), now=NOW)
        .problems[0]
        .reason
    )


def test_two_stackable_promotions_compose_by_priority() -> None:
    others = [
        ExistingPromotion(
            promotion_id=name,
            items=["I0012"],
            stores=["S001"],
            starts_at=NOW + timedelta(days=5),
            ends_at=NOW + timedelta(days=8),
            exclusive=False,
            priority=priority,
        )
        for name, priority in (("LOYALTY", 5), ("COUPON", 1))
    ]
    result = validate_plan(
        plan(exclusive=False, priority=3), facts(other_promotions=others), policy(), now=NOW
    )
    assert result.ok, result.problems
    assert [s.split(" (")[0] for s in result.stacks_with] == [
        "stacks with COUPON",
        "stacks with LOYALTY",
    ]
    # lower applies first: COUPON (1) before this plan (3), LOYALTY (5) after it
    assert "applied before this one" in result.stacks_with[0]
    assert "applied after this one" in result.stacks_with[1]


def test_an_item_on_the_global_exclusion_list_is_refused_with_its_reason() -> None:
    strict = policy().model_copy(update={"excluded_items": {"I0060": "infant formula"}})
    result = validate_plan(plan(), facts(), strict, now=NOW)
    assert [p.words() for p in result.problems] == [
        "items.1.item_id: item I0060 is never discounted: infant formula"
    ]


def test_the_weekly_ad_example_prices_every_offer_line_within_the_margin_floor() -> None:
    estate = json.loads((ROOT / "examples" / "estate" / "estate.json").read_text())
    pl = PromotionPlan.model_validate_json(
        (ROOT / "examples" / "promotions" / "weekly-ad.json").read_text()
    )
    known = {
        i["item_id"]: ItemFacts(
            item_id=i["item_id"], cost=Decimal(i["cost"]), regular_price=Decimal(i["regular_price"])
        )
        for i in estate["items"]
        if i["item_id"] in {item.item_id for item in pl.items}
    }
    result = validate_plan(pl, facts(items=known, deal=None), policy(), now=NOW)
    assert result.ok, [p.words() for p in result.problems]
    assert len({line.offer for line in result.lines}) == 5
    assert pl.offer_words().startswith("mixed: 20% off (1 item); 20.00 off (1 item)")
