"""Judging a plan: prices, margin floor, funding, conflicts; the plan's metrics."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from pydantic import (
    BaseModel,
)

from domain.money import HUNDRED, cents
from domain.promotion.plan import (
    ItemFacts,
    PlanFacts,
    PlanMetrics,
    PromotionPlan,
    VendorDeal,
)
from domain.promotion.policy import PromotionPolicy
from domain.publication.prices import PriceLine


def store_window(plan: PromotionPlan, timezone: str) -> tuple[datetime, datetime]:
    """The window of a store in UTC: the plan's, or its wall-clock times in the store's zone.

    Not for workflow code (it reads the time zone database): the look-up activity calls it.
    """
    if not plan.window_in_store_time:
        return plan.starts_at, plan.ends_at
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(timezone)
    start = plan.starts_at.replace(tzinfo=None).replace(tzinfo=zone).astimezone(UTC)
    end = plan.ends_at.replace(tzinfo=None).replace(tzinfo=zone).astimezone(UTC)
    return start, end


class Problem(BaseModel):
    field: str
    reason: str

    def words(self) -> str:
        return f"{self.field}: {self.reason}"


class Validation(BaseModel):
    problems: list[Problem]
    lines: list[PriceLine]
    metrics: PlanMetrics | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def price_problems(plan: PromotionPlan, items: dict[str, ItemFacts]) -> list[Problem]:
    """Offers that do not give a sane price for a known item (zero, or above regular)."""
    problems = []
    for item in plan.items:
        facts = items.get(item.item_id)
        if facts is None:
            continue
        promo = plan.offer.unit_price(facts.regular_price)
        if promo <= 0:
            problems.append(
                Problem(
                    field="offer",
                    reason=f"item {item.item_id}: the offer brings the price to {promo}",
                )
            )
        elif promo > facts.regular_price:
            problems.append(
                Problem(
                    field="offer",
                    reason=(
                        f"item {item.item_id}: the promoted price {promo} is above the "
                        f"regular price {facts.regular_price}"
                    ),
                )
            )
    return problems


def price_lines(plan: PromotionPlan, items: dict[str, ItemFacts]) -> list[PriceLine]:
    """The price lines of the known items whose promoted price is sane."""
    words = plan.offer.words()
    lines = []
    for item in plan.items:
        facts = items.get(item.item_id)
        if facts is None:
            continue
        promo = plan.offer.unit_price(facts.regular_price)
        if promo <= 0 or promo > facts.regular_price:
            continue
        lines.append(
            PriceLine(
                item_id=item.item_id,
                regular_price=cents(facts.regular_price),
                promo_price=promo,
                offer=words,
            )
        )
    return lines


def funding_per_unit(deal: VendorDeal | None, item_id: str) -> Decimal:
    if deal is None or item_id not in deal.items:
        return Decimal(0)
    return deal.funding_per_unit


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


def plan_metrics(
    plan: PromotionPlan,
    lines: list[PriceLine],
    items: dict[str, ItemFacts],
    store_count: int,
    deal: VendorDeal | None,
) -> PlanMetrics:
    units_per_store = {item.item_id: item.forecast_units_per_store for item in plan.items}
    depth = Decimal(0)
    impact = Decimal(0)
    funding = Decimal(0)
    revenue = Decimal(0)
    margin = Decimal(0)
    units_total = 0
    for line in lines:
        units = units_per_store[line.item_id] * store_count
        units_total += units
        cut = line.regular_price - line.promo_price
        if line.regular_price > 0:
            depth = max(depth, cut / line.regular_price * HUNDRED)
        impact += cut * units
        per_unit = funding_per_unit(deal, line.item_id)
        funding += per_unit * units
        revenue += line.promo_price * units
        margin += (line.promo_price - items[line.item_id].cost + per_unit) * units
    if deal is not None and deal.max_amount is not None:
        funding = min(funding, deal.max_amount)
    return PlanMetrics(
        discount_depth_pct=depth.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP),
        margin_impact=cents(impact),
        vendor_funding=cents(funding),
        unfunded_cost=cents(max(impact - funding, Decimal(0))),
        store_count=store_count,
        planned_units=units_total,
        planned_revenue=cents(revenue),
        planned_margin=cents(margin),
    )


def validate_plan(
    plan: PromotionPlan, facts: PlanFacts, policy: PromotionPolicy, *, now: datetime
) -> Validation:
    """Every reason a plan cannot launch, in words; the price lines and money figures."""
    problems: list[Problem] = []
    for index, item in enumerate(plan.items):
        if item.item_id not in facts.items:
            problems.append(
                Problem(field=f"items.{index}.item_id", reason=f"unknown item {item.item_id}")
            )
    if facts.unknown_stores:
        shown = ", ".join(facts.unknown_stores[:20])
        more = len(facts.unknown_stores) - 20
        problems.append(
            Problem(
                field="stores",
                reason=f"unknown store{'s' if len(facts.unknown_stores) > 1 else ''} {shown}"
                + (f" and {more} more" if more > 0 else ""),
            )
        )
    for group in facts.unknown_groups:
        problems.append(Problem(field="store_groups", reason=f"unknown store group {group}"))
    if not facts.store_ids and not facts.unknown_stores and not facts.unknown_groups:
        problems.append(Problem(field="stores", reason="the plan resolves to no store"))
    if plan.ends_at <= plan.starts_at:
        problems.append(Problem(field="ends_at", reason="the promotion ends before it starts"))
    if plan.ends_at <= now:
        problems.append(Problem(field="ends_at", reason="the promotion window is already over"))

    deal = facts.deal
    if plan.vendor_deal_id:
        if facts.deal_missing or deal is None:
            problems.append(
                Problem(field="vendor_deal_id", reason=f"unknown vendor deal {plan.vendor_deal_id}")
            )
            deal = None
        else:
            if deal.status.upper() != "ACTIVE":
                problems.append(
                    Problem(
                        field="vendor_deal_id",
                        reason=f"vendor deal {deal.deal_id} is {deal.status.lower()}",
                    )
                )
            if deal.starts_at > plan.starts_at or deal.ends_at < plan.ends_at:
                problems.append(
                    Problem(
                        field="vendor_deal_id",
                        reason=f"vendor deal {deal.deal_id} does not cover the promotion window",
                    )
                )
            uncovered = [i.item_id for i in plan.items if i.item_id not in deal.items]
            if uncovered and len(uncovered) == len(plan.items):
                problems.append(
                    Problem(
                        field="vendor_deal_id",
                        reason=f"vendor deal {deal.deal_id} funds none of the plan's items",
                    )
                )

    plan_items = {i.item_id for i in plan.items}
    plan_stores = set(facts.store_ids)
    for other in sorted(facts.other_promotions, key=lambda p: p.promotion_id):
        if other.promotion_id == plan.promotion_id or other.status.upper() in (
            "CANCELLED",
            "ENDED",
            "WITHDRAWN",
            "INACTIVE",
        ):
            continue
        if not overlaps(plan.starts_at, plan.ends_at, other.starts_at, other.ends_at):
            continue
        shared_items = sorted(plan_items.intersection(other.items))
        shared_stores = sorted(plan_stores.intersection(other.stores))
        if shared_items and shared_stores:
            problems.append(
                Problem(
                    field="items",
                    reason=(
                        f"conflicts with promotion {other.promotion_id} on "
                        f"{', '.join(shared_items)} in {len(shared_stores)} store(s) "
                        f"({', '.join(shared_stores[:5])}) during an overlapping window"
                    ),
                )
            )

    problems += price_problems(plan, facts.items)
    lines = price_lines(plan, facts.items)
    floor = policy.margin_floor_pct / HUNDRED
    for line in lines:
        cost = facts.items[line.item_id].cost
        minimum = cents(cost * (1 + floor))
        if line.promo_price >= minimum:
            continue
        funded = line.promo_price + funding_per_unit(deal, line.item_id)
        if funded >= minimum:
            continue
        problems.append(
            Problem(
                field="offer",
                reason=(
                    f"item {line.item_id}: promoted price {line.promo_price} is below the "
                    f"margin floor {minimum} (cost {cost} + {policy.margin_floor_pct}%)"
                    + (
                        f" even with vendor funding of {funding_per_unit(deal, line.item_id)}"
                        if deal is not None
                        else " and no vendor funding covers the gap"
                    )
                ),
            )
        )
    metrics = (
        plan_metrics(plan, lines, facts.items, len(facts.store_ids), deal)
        if len(lines) == len(plan.items)
        else None
    )
    return Validation(problems=problems, lines=lines, metrics=metrics)
