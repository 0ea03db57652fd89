"""Pure promotion rules: plan validation, the approval matrix, material change, coverage, KPIs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from domain.promotion import (
    ApprovalState,
    ExistingPromotion,
    ItemFacts,
    Offer,
    OfferType,
    PlanFacts,
    Position,
    PromotionPlan,
    PromotionPolicy,
    RequiredApproval,
    StoreFacts,
    VendorDeal,
    approvals_outcome,
    compute_kpis,
    current_approval,
    decision_refusal,
    price_change_pct,
    reapprovals,
    required_approvals,
    store_coverage,
    tier_roles,
    validate_plan,
)

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def policy() -> PromotionPolicy:
    return PromotionPolicy.model_validate_json(
        (ROOT / "examples" / "policy" / "promotion.json").read_text()
    )


def plan(**changes: object) -> PromotionPlan:
    data = json.loads((ROOT / "examples" / "promotions" / "grocery-weekend.json").read_text())
    data["starts_at"] = (NOW + timedelta(days=5)).isoformat()
    data["ends_at"] = (NOW + timedelta(days=8)).isoformat()
    data.update(changes)
    return PromotionPlan.model_validate(data)


ITEMS = {
    "I0012": ItemFacts(item_id="I0012", cost=Decimal("4.29"), regular_price=Decimal("6.99")),
    "I0060": ItemFacts(item_id="I0060", cost=Decimal("3.03"), regular_price=Decimal("4.99")),
    "I0156": ItemFacts(item_id="I0156", cost=Decimal("6.48"), regular_price=Decimal("10.99")),
}
STORE_IDS = ["S001", "S004", "S011", "S013", "S020", "S021", "S022", "S026"]


def deal(**changes: object) -> VendorDeal:
    data: dict[str, object] = {
        "deal_id": "D001",
        "vendor_id": "V01",
        "deal_type": "off_invoice",
        "items": ["I0012", "I0060", "I0156"],
        "funding_per_unit": Decimal("1.75"),
        "starts_at": NOW - timedelta(days=60),
        "ends_at": NOW + timedelta(days=120),
    }
    data.update(changes)
    return VendorDeal.model_validate(data)


def facts(**changes: object) -> PlanFacts:
    data: dict[str, object] = {
        "items": ITEMS,
        "stores": {
            s: StoreFacts(store_id=s, store_class="A" if s == "S001" else "B", region="east")
            for s in STORE_IDS
        },
        "store_ids": STORE_IDS,
        "deal": deal(),
    }
    data.update(changes)
    return PlanFacts.model_validate(data)


# --------------------------------------------------------------------------- plan model


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


def test_tiers_from_discount_depth() -> None:
    shallow = validate_plan(
        plan(offer={"type": "percent_off", "percent": "10"}), facts(), policy(), now=NOW
    ).metrics
    assert shallow is not None
    assert tier_roles(shallow, policy())[1] == ["category_manager"]
    deep = validate_plan(plan(), facts(), policy(), now=NOW).metrics
    assert deep is not None
    assert tier_roles(deep, policy())[1] == ["category_manager", "finance"]
    very = validate_plan(
        plan(offer={"type": "percent_off", "percent": "45"}), facts(), policy(), now=NOW
    ).metrics
    assert very is not None
    assert tier_roles(very, policy())[1] == ["category_manager", "finance", "loss_prevention"]


def test_tiers_from_store_count_and_unfunded_cost() -> None:
    many = [f"S{n:03d}" for n in range(1, 61)]
    f = facts(
        stores={s: StoreFacts(store_id=s) for s in many},
        store_ids=many,
        deal=None,
    )
    result = validate_plan(
        plan(offer={"type": "percent_off", "percent": "10"}, stores=many, vendor_deal_id=None),
        f,
        policy(),
        now=NOW,
    )
    assert result.metrics is not None
    names, roles = tier_roles(result.metrics, policy())
    assert "wide roll-out" in names
    assert roles == ["category_manager", "supply_chain", "store_operations"]


def test_required_approvals_in_matrix_order_without_deadlines_until_their_turn() -> None:
    m = validate_plan(plan(), facts(), policy(), now=NOW).metrics
    assert m is not None
    approvals = required_approvals(m, policy())
    assert [a.role for a in approvals] == ["category_manager", "finance"]
    assert all(a.deadline is None for a in approvals)
    assert current_approval(approvals) is approvals[0]
    assert approvals_outcome(approvals) is ApprovalState.PENDING


def test_decision_refusals() -> None:
    p = policy()
    approvals = [RequiredApproval(role="category_manager"), RequiredApproval(role="finance")]
    ok, which = decision_refusal(approvals, p, approver="alice", role=None, open_for_decisions=True)
    assert ok is None and which is approvals[0]
    # finance may decide before its turn
    ok, which = decision_refusal(approvals, p, approver="frank", role=None, open_for_decisions=True)
    assert ok is None and which is approvals[1]
    cases = [
        ("mallory", None, True, "not an approver"),
        ("lena", None, True, "needs a decision from category_manager, finance"),
        ("alice", "finance", True, "does not hold the role finance"),
        ("alice", "ceo", True, "not in the approval matrix"),
        ("alice", None, False, "closed"),
        ("", None, True, "names no approver"),
    ]
    for approver, role, open_, words in cases:
        reason, _ = decision_refusal(
            approvals, p, approver=approver, role=role, open_for_decisions=open_
        )
        assert reason is not None and words in reason, (approver, reason)


def test_duplicate_decision_is_idempotent_and_other_person_is_refused() -> None:
    p = policy()
    approvals = [RequiredApproval(role="category_manager")]
    approvals[0].state = ApprovalState.APPROVED
    approvals[0].decided_by = "alice"
    reason, which = decision_refusal(
        approvals, p, approver="alice", role=None, open_for_decisions=True
    )
    assert reason is None and which is approvals[0]
    reason, _ = decision_refusal(
        approvals, p, approver="carlos", role=None, open_for_decisions=True
    )
    assert reason is not None and "already decided" in reason
    assert approvals_outcome(approvals) is ApprovalState.APPROVED


def test_escalated_approval_counts_once_replaced() -> None:
    a = RequiredApproval(role="category_manager", state=ApprovalState.ESCALATED)
    b = RequiredApproval(role="merchandising_director", escalated_from="category_manager")
    assert approvals_outcome([a, b]) is ApprovalState.PENDING
    b.state = ApprovalState.APPROVED
    assert approvals_outcome([a, b]) is ApprovalState.APPROVED
    assert policy().roles["category_manager"].escalates_to == "merchandising_director"


# --------------------------------------------------------------------------- material change


def test_material_change_reopens_by_size() -> None:
    p = policy()
    base = validate_plan(plan(), facts(), p, now=NOW)
    approvals = required_approvals(base.metrics, p)  # type: ignore[arg-type]
    for a in approvals:
        a.state = ApprovalState.APPROVED
    small = validate_plan(plan(offer={"type": "percent_off", "percent": "31"}), facts(), p, now=NOW)
    change = price_change_pct(base.lines, small.lines)
    assert change < Decimal(5)
    assert reapprovals(approvals, small.metrics, change, p, round_=2) == []  # type: ignore[arg-type]
    mid = validate_plan(plan(offer={"type": "percent_off", "percent": "35"}), facts(), p, now=NOW)
    change = price_change_pct(base.lines, mid.lines)
    assert Decimal(5) <= change < Decimal(15)
    assert reapprovals(approvals, mid.metrics, change, p, round_=2) == ["category_manager"]  # type: ignore[arg-type]
    big = validate_plan(plan(offer={"type": "percent_off", "percent": "45"}), facts(), p, now=NOW)
    change = price_change_pct(base.lines, big.lines)
    assert change >= Decimal(15)
    # loss prevention is newly required by the deeper discount
    assert reapprovals(approvals, big.metrics, change, p, round_=2) == [  # type: ignore[arg-type]
        "category_manager",
        "finance",
        "loss_prevention",
    ]


def test_policy_refuses_unknown_roles() -> None:
    data = json.loads((ROOT / "examples" / "policy" / "promotion.json").read_text())
    data["tiers"][0]["roles"] = ["ceo"]
    with pytest.raises(ValidationError, match="names role 'ceo'"):
        PromotionPolicy.model_validate(data)


# --------------------------------------------------------------------------- coverage


def test_coverage_per_store_class() -> None:
    p = policy()
    pl = plan()
    store_a = StoreFacts(store_id="S001", store_class="A")
    store_c = StoreFacts(store_id="S003", store_class="C")
    positions = [
        Position(store_id=s, item_id=i, on_hand=9, in_transit=2)
        for s in ("S001", "S003")
        for i in ("I0012", "I0060", "I0156")
    ]
    a = store_coverage(store_a, pl, positions, p)
    c = store_coverage(store_c, pl, positions, p)
    assert a.coverage == c.coverage == Decimal("1.10")
    assert a.threshold == Decimal("1.2") and a.below
    assert a.short_items == {"I0012": 1, "I0060": 1, "I0156": 1}
    assert c.threshold == Decimal("0.8") and not c.below
    # a missing position counts as zero stock
    empty = store_coverage(StoreFacts(store_id="S999", store_class="B"), pl, positions, p)
    assert empty.coverage == Decimal(0) and empty.below


# --------------------------------------------------------------------------- KPIs


def test_kpis() -> None:
    p = policy()
    v = validate_plan(plan(), facts(), p, now=NOW)
    assert v.metrics is not None
    kpis = compute_kpis(
        lines=v.lines,
        items=ITEMS,
        metrics=v.metrics,
        deal=deal(),
        targets_planned=11,
        targets_confirmed_on_time=10,
        channel_confirmed={"pos": (8, 8), "ecommerce": (1, 1)},
        stores_total=8,
        stores_live=8,
        stores_stocked_out=1,
        actual_units={"I0012": 100, "I0060": 50, "I0156": 30},
        accrued=Decimal("420.00"),
        claimed=Decimal("315.00"),
    )
    assert kpis.launch_accuracy_pct == Decimal("90.9")
    assert kpis.channel_sync_success_pct == {"ecommerce": Decimal("100.0"), "pos": Decimal("100.0")}
    assert kpis.stockout_rate_pct == Decimal("12.5")
    assert kpis.rebate_recovery_pct == Decimal("100.0")  # 180 units x 1.75 = 315.00
    assert kpis.actual_units == 180 and kpis.planned_units == 240
    assert kpis.markdown_variance < 0  # sold fewer units than planned
    assert len(kpis.rows()) >= 9


def test_store_window_in_store_time() -> None:
    from domain.promotion import store_window

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
