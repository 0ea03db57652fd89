"""Promotion launch: the plan, its policy and the pure rules that judge it.

Everything here is deterministic and free of I/O: the workflow and the tests call the
same functions. Facts that live in systems of record (items, stores, other promotions,
vendor deals, stock positions) come in as arguments, read by activities.

Money is `Decimal` throughout; times are timezone-aware.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from domain.publication import Channel, PriceLine
from domain.rebalance.policy import RebalancePolicy
from domain.sellthrough import MonitorPolicy

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------- the plan


class OfferType(StrEnum):
    PERCENT_OFF = "percent_off"
    AMOUNT_OFF = "amount_off"
    FIXED_PRICE = "fixed_price"
    BUY_X_GET_Y = "buy_x_get_y"
    SPEND_THRESHOLD = "spend_threshold"


_OFFER_FIELDS: dict[OfferType, tuple[str, ...]] = {
    OfferType.PERCENT_OFF: ("percent",),
    OfferType.AMOUNT_OFF: ("amount",),
    OfferType.FIXED_PRICE: ("price",),
    OfferType.BUY_X_GET_Y: ("buy", "get"),
    OfferType.SPEND_THRESHOLD: ("threshold", "amount"),
}


class Offer(BaseModel):
    """What the customer gets. Each type needs its own fields (see `_OFFER_FIELDS`)."""

    model_config = ConfigDict(extra="forbid")

    type: OfferType
    percent: Decimal | None = Field(default=None, gt=0, lt=100)
    amount: Decimal | None = Field(default=None, gt=0)
    price: Decimal | None = Field(default=None, gt=0)
    buy: int | None = Field(default=None, ge=1)
    get: int | None = Field(default=None, ge=1)
    threshold: Decimal | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _fields_for_type(self) -> Offer:
        needed = _OFFER_FIELDS[self.type]
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a {self.type.value} offer needs {', '.join(missing)}")
        extra = [
            name
            for names in _OFFER_FIELDS.values()
            for name in names
            if name not in needed and getattr(self, name) is not None
        ]
        if extra:
            raise ValueError(
                f"a {self.type.value} offer does not take {', '.join(sorted(set(extra)))}"
            )
        if (
            self.type is OfferType.SPEND_THRESHOLD
            and self.amount is not None
            and self.threshold is not None
            and self.amount >= self.threshold
        ):
            raise ValueError("the amount off must be smaller than the spend threshold")
        return self

    def unit_price(self, regular: Decimal) -> Decimal:
        """The effective promoted unit price of an item whose regular price is `regular`."""
        if self.type is OfferType.PERCENT_OFF:
            assert self.percent is not None
            return cents(regular * (HUNDRED - self.percent) / HUNDRED)
        if self.type is OfferType.AMOUNT_OFF:
            assert self.amount is not None
            return cents(max(regular - self.amount, Decimal(0)))
        if self.type is OfferType.FIXED_PRICE:
            assert self.price is not None
            return cents(self.price)
        if self.type is OfferType.BUY_X_GET_Y:
            assert self.buy is not None and self.get is not None
            return cents(regular * self.buy / (self.buy + self.get))
        assert self.amount is not None and self.threshold is not None
        return cents(regular * (self.threshold - self.amount) / self.threshold)

    def words(self) -> str:
        if self.type is OfferType.PERCENT_OFF:
            return f"{self.percent}% off"
        if self.type is OfferType.AMOUNT_OFF:
            return f"{self.amount} off"
        if self.type is OfferType.FIXED_PRICE:
            return f"now {self.price}"
        if self.type is OfferType.BUY_X_GET_Y:
            return f"buy {self.buy} get {self.get} free"
        return f"{self.amount} off when you spend {self.threshold}"


class PlanItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: str = Field(min_length=1)
    forecast_units_per_store: int = Field(
        ge=0, description="promotion demand per store over the whole window"
    )


class PromotionPlan(BaseModel):
    """A promotion as the analyst submits it (examples/promotions/*.json)."""

    model_config = ConfigDict(extra="forbid")

    promotion_id: str
    name: str = Field(min_length=1)
    offer: Offer
    items: list[PlanItem] = Field(min_length=1)
    stores: list[str] = Field(default_factory=list)
    store_groups: list[str] = Field(default_factory=list)
    channels: list[Channel] = Field(min_length=1)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    forecast_uplift_pct: Decimal = Field(default=Decimal(0), ge=0)
    vendor_deal_id: str | None = None
    submitted_by: str = Field(min_length=1)
    window_in_store_time: bool = Field(
        default=False,
        description="the wall-clock times of starts_at/ends_at apply in each store's own "
        "time zone (a 08:00 start is 08:00 in New York and 08:00 in Los Angeles)",
    )

    @field_validator("promotion_id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(
                "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        return value

    @field_validator("ends_at")
    @classmethod
    def _end_after_start(cls, value: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("starts_at")
        if isinstance(start, datetime) and value <= start:
            raise ValueError(f"must be after starts_at ({start.isoformat()})")
        return value

    @field_validator("items")
    @classmethod
    def _unique_items(cls, value: list[PlanItem]) -> list[PlanItem]:
        seen: set[str] = set()
        for item in value:
            if item.item_id in seen:
                raise ValueError(f"item {item.item_id} is listed twice")
            seen.add(item.item_id)
        return value

    @field_validator("channels")
    @classmethod
    def _unique_channels(cls, value: list[Channel]) -> list[Channel]:
        if len(set(value)) != len(value):
            raise ValueError("a channel is listed twice")
        return value

    @model_validator(mode="after")
    def _has_stores(self) -> PromotionPlan:
        if not self.stores and not self.store_groups:
            raise ValueError("stores or store_groups: name at least one store or store group")
        return self


# --------------------------------------------------------------------------- policy


class RolePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approvers: list[str] = Field(min_length=1)
    deadline: timedelta
    escalates_to: str | None = None


class TierRule(BaseModel):
    """A tier applies when any of its thresholds is reached (or always, with none)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    roles: list[str]
    min_discount_pct: Decimal | None = None
    min_margin_impact: Decimal | None = None
    min_unfunded_cost: Decimal | None = None
    min_store_count: int | None = None

    def applies(self, metrics: PlanMetrics) -> bool:
        checks = [
            (self.min_discount_pct, metrics.discount_depth_pct),
            (self.min_margin_impact, metrics.margin_impact),
            (self.min_unfunded_cost, metrics.unfunded_cost),
            (
                None if self.min_store_count is None else Decimal(self.min_store_count),
                Decimal(metrics.store_count),
            ),
        ]
        thresholds = [(limit, value) for limit, value in checks if limit is not None]
        if not thresholds:
            return True
        return any(value >= limit for limit, value in thresholds)


class MaterialChangeRule(BaseModel):
    """A price change of at least `min_price_change_pct` (on any item) re-opens `reopens`."""

    model_config = ConfigDict(extra="forbid")

    name: str
    min_price_change_pct: Decimal = Field(ge=0)
    reopens: list[str]


class TaskTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["signage", "labor"]
    description: str
    due_before_start: timedelta


class PublicationPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(default=250, ge=1, le=1000)
    max_pending_children: int = Field(default=50, ge=1, le=500)
    ack_timeout: timedelta = timedelta(minutes=5)
    max_republish: int = Field(default=2, ge=0)
    on_store_failure: Literal["hold_store", "fail_launch"] = "hold_store"
    max_failed_store_pct: Decimal = Field(default=Decimal(10), ge=0, le=100)


class PromotionPolicy(BaseModel):
    """The approval matrix and launch rules as data (examples/policy/promotion.json)."""

    model_config = ConfigDict(extra="forbid")

    margin_floor_pct: Decimal = Field(ge=0)
    roles: dict[str, RolePolicy]
    tiers: list[TierRule] = Field(min_length=1)
    material_changes: list[MaterialChangeRule] = Field(default_factory=list)
    coverage_thresholds: dict[str, Decimal]
    default_coverage_threshold: Decimal = Decimal(1)
    override_roles: list[str]
    cancel_roles: list[str]
    price_change_roles: list[str]
    reminder_at_fraction: Decimal = Field(default=Decimal("0.5"), gt=0, lt=1)
    rebalance_lead: timedelta = timedelta(days=2)
    tasks: list[TaskTemplate] = Field(default_factory=list)
    publication: PublicationPolicy = Field(default_factory=PublicationPolicy)
    rebalance: RebalancePolicy | None = Field(
        default=None, description="policy of the pre-positioning InventoryRebalance child"
    )
    monitor: MonitorPolicy = Field(
        default_factory=MonitorPolicy, description="policy of the SellThroughMonitor child"
    )

    @model_validator(mode="after")
    def _roles_known(self) -> PromotionPolicy:
        known = set(self.roles)
        named: list[tuple[str, str]] = []
        for tier in self.tiers:
            named += [(f"tiers.{tier.name}", role) for role in tier.roles]
        for rule in self.material_changes:
            named += [(f"material_changes.{rule.name}", role) for role in rule.reopens]
        for name, role_policy in self.roles.items():
            if role_policy.escalates_to:
                named.append((f"roles.{name}.escalates_to", role_policy.escalates_to))
        for field_name in ("override_roles", "cancel_roles", "price_change_roles"):
            named += [(field_name, role) for role in getattr(self, field_name)]
        for where, role_name in named:
            if role_name not in known:
                raise ValueError(f"{where} names role {role_name!r}, which roles does not define")
        return self

    def roles_of(self, person: str) -> list[str]:
        return sorted(name for name, role in self.roles.items() if person in role.approvers)

    def threshold_for(self, store_class: str) -> Decimal:
        return self.coverage_thresholds.get(store_class, self.default_coverage_threshold)


# --------------------------------------------------------------------------- facts


class ItemFacts(BaseModel):
    item_id: str
    description: str = ""
    cost: Decimal
    regular_price: Decimal
    vendor_id: str | None = None


class StoreFacts(BaseModel):
    store_id: str
    store_class: str = "B"
    region: str = ""
    timezone: str = "UTC"
    starts_at: AwareDatetime | None = None
    """The store's own go-live (UTC), when the plan's window is in store time."""
    ends_at: AwareDatetime | None = None


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


class ExistingPromotion(BaseModel):
    promotion_id: str
    items: list[str]
    stores: list[str]
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    status: str = "ACTIVE"


class VendorDeal(BaseModel):
    deal_id: str
    vendor_id: str
    deal_type: Literal["off_invoice", "bill_back", "scan_based", "rebate"]
    items: list[str]
    funding_per_unit: Decimal = Field(ge=0)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    status: str = "ACTIVE"
    max_amount: Decimal | None = None


class PlanFacts(BaseModel):
    """What the ERP said about a plan: read once by an activity, judged here."""

    items: dict[str, ItemFacts]
    stores: dict[str, StoreFacts]
    unknown_stores: list[str] = Field(default_factory=list)
    unknown_groups: list[str] = Field(default_factory=list)
    store_ids: list[str] = Field(default_factory=list)
    other_promotions: list[ExistingPromotion] = Field(default_factory=list)
    deal: VendorDeal | None = None
    deal_missing: bool = False


# --------------------------------------------------------------------------- validation


class Problem(BaseModel):
    field: str
    reason: str

    def words(self) -> str:
        return f"{self.field}: {self.reason}"


class PlanMetrics(BaseModel):
    discount_depth_pct: Decimal
    margin_impact: Decimal
    vendor_funding: Decimal
    unfunded_cost: Decimal
    store_count: int
    planned_units: int
    planned_revenue: Decimal
    planned_margin: Decimal


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


# --------------------------------------------------------------------------- approvals


class ApprovalState(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    ESCALATED = "ESCALATED"


class RequiredApproval(BaseModel):
    """One role's decision. Roles decide in matrix order; the deadline of a role runs from
    the moment its turn comes (`deadline` is None until then), though a role may decide
    before its turn."""

    role: str
    deadline: AwareDatetime | None = None
    state: ApprovalState = ApprovalState.PENDING
    decided_by: str | None = None
    decided_at: AwareDatetime | None = None
    comment: str = ""
    reminded: bool = False
    escalated_from: str | None = None
    round: int = 1


def tier_roles(metrics: PlanMetrics, policy: PromotionPolicy) -> tuple[list[str], list[str]]:
    """(tier names that apply, roles that must approve), roles in matrix order."""
    tiers = [tier for tier in policy.tiers if tier.applies(metrics)]
    roles: list[str] = []
    for tier in tiers:
        for role in tier.roles:
            if role not in roles:
                roles.append(role)
    return [t.name for t in tiers], roles


def required_approvals(
    metrics: PlanMetrics, policy: PromotionPolicy, *, round_: int = 1
) -> list[RequiredApproval]:
    _, roles = tier_roles(metrics, policy)
    return [RequiredApproval(role=role, round=round_) for role in roles]


def current_approval(approvals: list[RequiredApproval]) -> RequiredApproval | None:
    """The approval whose turn it is: the first pending one in matrix order."""
    for approval in approvals:
        if approval.state is ApprovalState.PENDING:
            return approval
    return None


def approvals_outcome(approvals: list[RequiredApproval]) -> ApprovalState:
    if any(a.state is ApprovalState.REJECTED for a in approvals):
        return ApprovalState.REJECTED
    if all(a.state in (ApprovalState.APPROVED, ApprovalState.ESCALATED) for a in approvals):
        return ApprovalState.APPROVED
    return ApprovalState.PENDING


def decision_refusal(
    approvals: list[RequiredApproval],
    policy: PromotionPolicy,
    *,
    approver: str,
    role: str | None,
    open_for_decisions: bool,
) -> tuple[str | None, RequiredApproval | None]:
    """Why `approver` may not decide now (None when allowed) and the approval it decides.

    An approver holding several pending roles must name one. A decision already taken by
    the same person on the same role is idempotent: allowed, no change.
    """
    if not approver:
        return "the decision names no approver", None
    if not open_for_decisions:
        return "the approval step is closed: no decision is awaited now", None
    held = policy.roles_of(approver)
    if not held:
        return f"{approver} is not an approver in the approval matrix", None
    if role is not None:
        if role not in policy.roles:
            return f"role {role!r} is not in the approval matrix", None
        if role not in held:
            return f"{approver} does not hold the role {role}", None
    candidates = [a for a in approvals if a.role in held and (role is None or a.role == role)]
    if not candidates:
        asked = ", ".join(a.role for a in approvals) or "no role"
        return (
            f"{approver} holds {', '.join(held)}, but this promotion needs a decision from {asked}",
            None,
        )
    pending = [a for a in candidates if a.state is ApprovalState.PENDING]
    escalated = [a for a in candidates if a.state is ApprovalState.ESCALATED]
    if not pending and escalated and not any(a.decided_by == approver for a in candidates):
        later = [a.role for a in approvals if a.escalated_from == escalated[0].role]
        return (
            f"{escalated[0].role} missed its deadline and was escalated to "
            f"{', '.join(later) or 'another role'}: the step is closed to {approver}",
            None,
        )
    if not pending:
        # idempotent repeat of a decision this person already made
        mine = [a for a in candidates if a.decided_by == approver]
        if mine:
            return None, mine[0]
        return f"{candidates[0].role} has already decided: the step is closed", None
    if len(pending) > 1 and role is None:
        return (
            f"{approver} holds several pending roles ({', '.join(a.role for a in pending)}): "
            "name one with role",
            None,
        )
    return None, pending[0]


def escalation_target(role: str, policy: PromotionPolicy) -> str | None:
    return policy.roles[role].escalates_to


def price_change_pct(old_lines: list[PriceLine], new_lines: list[PriceLine]) -> Decimal:
    """The largest change of a promoted price between two versions, in % of the old one."""
    old = {line.item_id: line.promo_price for line in old_lines}
    change = Decimal(0)
    for line in new_lines:
        before = old.get(line.item_id)
        if not before:
            change = max(change, HUNDRED)
            continue
        change = max(change, abs(line.promo_price - before) / before * HUNDRED)
    return change.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def reopened_roles(change_pct: Decimal, policy: PromotionPolicy) -> list[str]:
    """The roles whose approval a price change of `change_pct` % re-opens (matrix order)."""
    roles: list[str] = []
    for rule in sorted(policy.material_changes, key=lambda r: r.min_price_change_pct):
        if change_pct >= rule.min_price_change_pct:
            for role in rule.reopens:
                if role not in roles:
                    roles.append(role)
    return roles


def reapprovals(
    approvals: list[RequiredApproval],
    new_metrics: PlanMetrics,
    change_pct: Decimal,
    policy: PromotionPolicy,
    *,
    round_: int,
) -> list[str]:
    """Roles that must decide again after a change: those a material-change rule re-opens
    among the roles that approved, plus roles the new figures newly require."""
    approved = [a.role for a in approvals if a.state is ApprovalState.APPROVED]
    escalated_from = {a.escalated_from: a.role for a in approvals if a.escalated_from}
    roles: list[str] = []
    for role in reopened_roles(change_pct, policy):
        actual = escalated_from.get(role, role)
        if actual in approved and actual not in roles:
            roles.append(actual)
    _, needed = tier_roles(new_metrics, policy)
    have = {a.role for a in approvals} | set(escalated_from)
    for role in needed:
        if role not in have and role not in roles:
            roles.append(role)
    return roles


# --------------------------------------------------------------------------- coverage


class StoreGateState(StrEnum):
    NOT_READY = "NOT_READY"
    READY = "READY"
    HELD = "HELD"


class Position(BaseModel):
    store_id: str
    item_id: str
    on_hand: int
    in_transit: int = 0


class StoreCoverage(BaseModel):
    store_id: str
    store_class: str
    coverage: Decimal | None  # None: no demand forecast, nothing to cover
    threshold: Decimal
    short_items: dict[str, int] = Field(default_factory=dict)  # item -> units missing

    @property
    def below(self) -> bool:
        return self.coverage is not None and self.coverage < self.threshold


def stock_by_store(positions: list[Position]) -> dict[str, dict[str, int]]:
    """(on hand + in transit) per store and item: index once, look up per store."""
    stock: dict[str, dict[str, int]] = {}
    for p in positions:
        per_store = stock.setdefault(p.store_id, {})
        per_store[p.item_id] = per_store.get(p.item_id, 0) + p.on_hand + p.in_transit
    return stock


def store_coverage(
    store: StoreFacts,
    plan: PromotionPlan,
    positions: list[Position] | dict[str, dict[str, int]],
    policy: PromotionPolicy,
) -> StoreCoverage:
    """Coverage = (on hand + in transit) / forecast promotion demand, worst item wins.

    `positions` may be pre-indexed with `stock_by_store` (thousands of stores)."""
    threshold = policy.threshold_for(store.store_class)
    indexed = stock_by_store(positions) if isinstance(positions, list) else positions
    stock = indexed.get(store.store_id, {})
    worst: Decimal | None = None
    short: dict[str, int] = {}
    for item in plan.items:
        demand = item.forecast_units_per_store
        if demand <= 0:
            continue
        have = stock.get(item.item_id, 0)
        ratio = (Decimal(have) / Decimal(demand)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        worst = ratio if worst is None else min(worst, ratio)
        needed = int((threshold * demand).to_integral_value(rounding="ROUND_CEILING"))
        if have < needed:
            short[item.item_id] = needed - have
    return StoreCoverage(
        store_id=store.store_id,
        store_class=store.store_class,
        coverage=worst,
        threshold=threshold,
        short_items=short,
    )


# --------------------------------------------------------------------------- KPIs


class PromotionKpis(BaseModel):
    launch_accuracy_pct: Decimal
    channel_sync_success_pct: dict[str, Decimal]
    stock_availability_pct: Decimal
    stockout_rate_pct: Decimal
    markdown_variance: Decimal
    rebate_recovery_pct: Decimal | None
    margin_vs_plan: Decimal
    planned_units: int
    actual_units: int
    accrued: Decimal
    claimed: Decimal

    def rows(self) -> list[tuple[str, str]]:
        rows = [
            ("launch accuracy", f"{self.launch_accuracy_pct}%"),
            *[
                (f"channel sync success ({channel})", f"{pct}%")
                for channel, pct in sorted(self.channel_sync_success_pct.items())
            ],
            ("stock availability in the window", f"{self.stock_availability_pct}%"),
            ("stockout rate", f"{self.stockout_rate_pct}%"),
            ("markdown variance", f"{self.markdown_variance}"),
            (
                "rebate recovery",
                "n/a (no vendor funding)"
                if self.rebate_recovery_pct is None
                else f"{self.rebate_recovery_pct}%",
            ),
            ("margin against plan", f"{self.margin_vs_plan}"),
            ("units planned / sold", f"{self.planned_units} / {self.actual_units}"),
            ("funding accrued / claimed", f"{self.accrued} / {self.claimed}"),
        ]
        return rows


def pct(part: Decimal | int, whole: Decimal | int) -> Decimal:
    if not whole:
        return Decimal("100.0")
    return (Decimal(part) / Decimal(whole) * HUNDRED).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )


def compute_kpis(
    *,
    lines: list[PriceLine],
    items: dict[str, ItemFacts],
    metrics: PlanMetrics,
    deal: VendorDeal | None,
    targets_planned: int,
    targets_confirmed_on_time: int,
    channel_confirmed: dict[str, tuple[int, int]],
    stores_total: int,
    stores_live: int,
    stores_stocked_out: int,
    actual_units: dict[str, int],
    accrued: Decimal,
    claimed: Decimal,
) -> PromotionKpis:
    """The promotion's KPIs from what happened (actual units per item across live stores)."""
    markdown_actual = Decimal(0)
    margin_actual = Decimal(0)
    expected_claim = Decimal(0)
    for line in lines:
        units = actual_units.get(line.item_id, 0)
        cut = line.regular_price - line.promo_price
        per_unit = funding_per_unit(deal, line.item_id)
        markdown_actual += cut * units
        expected_claim += per_unit * units
        margin_actual += (line.promo_price - items[line.item_id].cost + per_unit) * units
    return PromotionKpis(
        launch_accuracy_pct=pct(targets_confirmed_on_time, targets_planned),
        channel_sync_success_pct={
            channel: pct(confirmed, total)
            for channel, (confirmed, total) in sorted(channel_confirmed.items())
        },
        stock_availability_pct=pct(stores_live, stores_total),
        stockout_rate_pct=pct(stores_stocked_out, stores_live) if stores_live else Decimal("0.0"),
        markdown_variance=cents(markdown_actual - metrics.margin_impact),
        rebate_recovery_pct=None if deal is None else pct(claimed, cents(expected_claim)),
        margin_vs_plan=cents(margin_actual - metrics.planned_margin),
        planned_units=metrics.planned_units,
        actual_units=sum(actual_units.values()),
        accrued=cents(accrued),
        claimed=cents(claimed),
    )
