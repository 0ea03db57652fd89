"""Judging a plan: prices, margin floor, funding, conflicts; the plan's metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from pydantic import (
    BaseModel,
)

from domain.money import HUNDRED, cents
from domain.promotion.plan import (
    MAX_PLAN_CELLS,
    ItemFacts,
    PlanFacts,
    PlanMetrics,
    PromotionPlan,
    VendorDeal,
)
from domain.promotion.policy import PromotionPolicy
from domain.promotion.targeting import PriceSet, offer_members, price_sets
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
    stacks_with: list[str] = []
    """Overlapping stackable promotions this one composes with, in priority order, in words."""
    price_sets: list[PriceSet] = []
    """Every store's prices by the one-price rule (`domain.promotion.targeting`), stores
    with the same prices together."""

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
        promo = (item.offer or plan.offer).unit_price(facts.regular_price)
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
    """The price lines of the known items whose promoted price is sane, each with its own
    offer line (or the plan's offer)."""
    lines = []
    for item in plan.items:
        facts = items.get(item.item_id)
        if facts is None:
            continue
        offer = item.offer or plan.offer  # (plan.offer_for, without a scan per item)
        promo = offer.unit_price(facts.regular_price)
        if promo <= 0 or promo > facts.regular_price:
            continue
        lines.append(
            PriceLine(
                item_id=item.item_id,
                regular_price=cents(facts.regular_price),
                promo_price=promo,
                offer=offer.words(),
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
    sets: list[tuple[list[PriceLine], int]],
    items: dict[str, ItemFacts],
    deal: VendorDeal | None,
) -> PlanMetrics:
    """The money figures over price sets: (the lines of a set, how many stores it has)."""
    units_per_store = {item.item_id: item.forecast_units_per_store for item in plan.items}
    depth = Decimal(0)
    impact = Decimal(0)
    funding = Decimal(0)
    revenue = Decimal(0)
    margin = Decimal(0)
    units_total = 0
    store_count = sum(count for _, count in sets)
    for lines, count in sets:
        for line in lines:
            units = units_per_store[line.item_id] * count
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


CLOSED_PROMOTION_STATES = ("CANCELLED", "ENDED", "WITHDRAWN", "INACTIVE")


def validate_plan(
    plan: PromotionPlan, facts: PlanFacts, policy: PromotionPolicy, *, now: datetime
) -> Validation:
    """Every reason a plan cannot launch, in words; the price lines and money figures."""
    deal = facts.deal if plan.vendor_deal_id and not facts.deal_missing else None
    problems = [
        *known_items_and_stores(plan, facts),
        *window_problems(plan, now),
        *deal_problems(plan, facts),
        *excluded_items(plan, policy),
    ]
    conflicts, stacks_with = overlapping_promotions(plan, facts)
    problems += conflicts
    problems += price_problems(plan, facts.items)
    problems += targeting_problems(plan, facts)
    lines = price_lines(plan, facts.items)
    pricing = price_sets(plan, facts)
    problems += [Problem(field=f, reason=r) for f, r in pricing.problems]
    problems += margin_floor_problems(lines, facts.items, deal, policy)
    problems += zone_margin_problems(lines, pricing.sets, facts.items, deal, policy)
    complete = len(lines) == len(plan.items) and all(
        len(ps.lines) == len(plan.items) for ps in pricing.sets
    )
    sets = [(ps.lines, len(ps.stores)) for ps in pricing.sets] or [(lines, 0)]
    metrics = plan_metrics(plan, sets, facts.items, deal) if complete else None
    return Validation(
        problems=problems,
        lines=lines,
        metrics=metrics,
        stacks_with=stacks_with,
        price_sets=pricing.sets,
    )


def targeting_problems(plan: PromotionPlan, facts: PlanFacts) -> list[Problem]:
    """Group offers and zone prices that cannot apply: a store not in the plan, a group
    that reaches none of the plan's stores, a price zone the ERP does not define."""
    problems: list[Problem] = []
    in_plan = set(facts.store_ids)
    known_zones = set(facts.price_zones)
    unknown_groups = set(facts.unknown_groups)
    for index, item in enumerate(plan.items):
        where = f"items.{index}"
        zoned = [(f"{where}.zone_prices", item.zone_prices)]
        for m, go in enumerate(item.group_offers):
            here = f"{where}.group_offers.{m}"
            zoned.append((f"{here}.zone_prices", go.zone_prices))
            outside = [s for s in go.stores if s not in in_plan]
            if outside:
                problems.append(
                    Problem(
                        field=f"{here}.stores",
                        reason=f"item {item.item_id}: store(s) {', '.join(outside[:10])} are "
                        "not among the plan's stores (a group offer only re-prices the "
                        "plan's own stores)",
                    )
                )
            known = [g for g in go.store_groups if g not in unknown_groups]
            if (
                in_plan
                and not offer_members(go, facts, in_plan)
                and len(known) == len(go.store_groups)
            ):
                problems.append(
                    Problem(
                        field=f"{here}.store_groups",
                        reason=f"item {item.item_id}: the group offer reaches none of the "
                        f"plan's stores ({', '.join(go.store_groups) or 'no group'})",
                    )
                )
        if known_zones:
            for field_name, prices in zoned:
                for zone in prices:
                    if zone not in known_zones:
                        problems.append(
                            Problem(
                                field=field_name,
                                reason=f"item {item.item_id}: unknown price zone {zone} "
                                f"(the ERP has {', '.join(sorted(known_zones))})",
                            )
                        )
    return problems


def zone_margin_problems(
    reference: list[PriceLine],
    sets: list[PriceSet],
    items: dict[str, ItemFacts],
    deal: VendorDeal | None,
    policy: PromotionPolicy,
) -> list[Problem]:
    """The margin floor on every price set's lines not already judged as the chain's."""
    judged = set(reference)
    problems: list[Problem] = []
    seen: set[str] = set()
    for ps in sets:
        fresh = [line for line in ps.lines if line not in judged]
        for problem in margin_floor_problems(fresh, items, deal, policy):
            reason = problem.reason.replace(":", f" in {ps.label.split(' with ')[0]}:", 1)
            if reason not in seen:
                seen.add(reason)
                problems.append(Problem(field=problem.field, reason=reason))
    return problems


def known_items_and_stores(plan: PromotionPlan, facts: PlanFacts) -> list[Problem]:
    """Items, stores and store groups the ERP does not know; a plan that reaches no store."""
    problems = [
        Problem(field=f"items.{index}.item_id", reason=f"unknown item {item.item_id}")
        for index, item in enumerate(plan.items)
        if item.item_id not in facts.items
    ]
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
    cells = len(plan.items) * len(facts.store_ids)
    if cells > MAX_PLAN_CELLS:
        problems.append(
            Problem(
                field="store_groups" if plan.store_groups else "stores",
                reason=f"the plan resolves to {len(facts.store_ids):,} stores x "
                f"{len(plan.items):,} items = {cells:,} cells; a launch takes at most "
                f"{MAX_PLAN_CELLS:,}: split the event",
            )
        )
    return problems


def window_problems(plan: PromotionPlan, now: datetime) -> list[Problem]:
    problems = []
    if plan.ends_at <= plan.starts_at:
        problems.append(Problem(field="ends_at", reason="the promotion ends before it starts"))
    if plan.ends_at <= now:
        problems.append(Problem(field="ends_at", reason="the promotion window is already over"))
    return problems


def deal_problems(plan: PromotionPlan, facts: PlanFacts) -> list[Problem]:
    """The vendor deal the plan names: known, active, covering the window and the items."""
    if not plan.vendor_deal_id:
        return []
    deal = facts.deal
    if facts.deal_missing or deal is None:
        return [
            Problem(field="vendor_deal_id", reason=f"unknown vendor deal {plan.vendor_deal_id}")
        ]
    problems = []
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
    if all(i.item_id not in deal.items for i in plan.items):
        problems.append(
            Problem(
                field="vendor_deal_id",
                reason=f"vendor deal {deal.deal_id} funds none of the plan's items",
            )
        )
    return problems


def excluded_items(plan: PromotionPlan, policy: PromotionPolicy) -> list[Problem]:
    """Items on the policy's global exclusion list (never discounted), with the reason."""
    return [
        Problem(
            field=f"items.{index}.item_id",
            reason=f"item {item.item_id} is never discounted: {policy.excluded_items[item.item_id]}",
        )
        for index, item in enumerate(plan.items)
        if item.item_id in policy.excluded_items
    ]


def _days(start: datetime, end: datetime) -> str:
    first, last = start.date(), (end - timedelta(microseconds=1)).date()
    return first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"


def overlapping_promotions(
    plan: PromotionPlan, facts: PlanFacts
) -> tuple[list[Problem], list[str]]:
    """Other live promotions on the same item, store and days: a conflict when either is
    exclusive (named with the items, stores and days), else they stack by priority."""
    plan_items = {i.item_id for i in plan.items}
    plan_stores = set(facts.store_ids)
    problems: list[Problem] = []
    stacks: list[tuple[int, str]] = []
    for other in sorted(facts.other_promotions, key=lambda p: p.promotion_id):
        if other.promotion_id == plan.promotion_id:
            continue
        if other.status.upper() in CLOSED_PROMOTION_STATES:
            continue
        if not overlaps(plan.starts_at, plan.ends_at, other.starts_at, other.ends_at):
            continue
        shared_items = sorted(plan_items.intersection(other.items))
        shared_stores = sorted(plan_stores.intersection(other.stores))
        if not shared_items or not shared_stores:
            continue
        days = _days(max(plan.starts_at, other.starts_at), min(plan.ends_at, other.ends_at))
        if plan.exclusive or other.exclusive:
            who = (
                "this plan is exclusive" if plan.exclusive else f"{other.promotion_id} is exclusive"
            )
            problems.append(
                Problem(
                    field="items",
                    reason=(
                        f"conflicts with promotion {other.promotion_id}"
                        + (f" ({other.name})" if other.name else "")
                        + " on "
                        f"{', '.join(shared_items)} in {len(shared_stores)} store(s) "
                        f"({', '.join(shared_stores[:5])}) on {days} ({who})"
                    ),
                )
            )
            continue
        # lower applies first: a lower (or equal, listed earlier) priority goes before
        order = "before" if other.priority <= plan.priority else "after"
        stacks.append(
            (
                other.priority,
                f"stacks with {other.promotion_id} (priority {other.priority}, applied {order} "
                f"this one) on {', '.join(shared_items)} in {len(shared_stores)} store(s) on "
                f"{days}",
            )
        )
    return problems, [words for _, words in sorted(stacks, key=lambda t: t[0])]


def margin_floor_problems(
    lines: list[PriceLine],
    items: dict[str, ItemFacts],
    deal: VendorDeal | None,
    policy: PromotionPolicy,
) -> list[Problem]:
    """Promoted prices below cost x (1 + floor) that vendor funding does not cover."""
    floor = policy.margin_floor_pct / HUNDRED
    problems = []
    for line in lines:
        cost = items[line.item_id].cost
        minimum = cents(cost * (1 + floor))
        funding = funding_per_unit(deal, line.item_id)
        if line.promo_price >= minimum or line.promo_price + funding >= minimum:
            continue
        problems.append(
            Problem(
                field="offer",
                reason=(
                    f"item {line.item_id}: promoted price {line.promo_price} is below the "
                    f"margin floor {minimum} (cost {cost} + {policy.margin_floor_pct}%)"
                    + (
                        f" even with vendor funding of {funding}"
                        if deal is not None
                        else " and no vendor funding covers the gap"
                    )
                ),
            )
        )
    return problems
