"""Sell-through monitoring while a promotion is live: the pure rules.

Every ``check_interval`` the monitor reads POS sales per region and item since the start
and compares them with the forecast pro rata of the window elapsed:

* selling **slower** than ``under_ratio`` x expected -> recommend a MARKDOWN for that
  region and item, its depth growing with the gap (in ``markdown_step_pct`` steps, never
  beyond ``max_markdown_pct`` in total);
* selling **faster** than ``over_ratio`` x expected (stock-out risk) -> recommend a
  TRANSFER of the projected shortfall from the slowest region that has a projected
  surplus, or, when no region has one, DIGITAL_THROTTLE (take the promotion off the
  digital channels so store stock lasts).

A recommendation inside the policy's bounds is applied automatically; outside them it
waits for ``decide`` from an authorized role. Every recommendation and decision goes into
the audit trail. The state is carried across continue-as-new.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator

from domain.rebalance.policy import RebalancePolicy

CENT = Decimal("0.01")


class RecommendationKind(StrEnum):
    MARKDOWN = "markdown"
    TRANSFER = "transfer"
    DIGITAL_THROTTLE = "digital_throttle"


class RecommendationStatus(StrEnum):
    AWAITING_DECISION = "AWAITING_DECISION"
    APPLYING = "APPLYING"
    APPLIED = "APPLIED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    """Still awaiting a decision when the promotion ended."""


OPEN_STATUSES = (RecommendationStatus.AWAITING_DECISION, RecommendationStatus.APPLYING)


class MonitorPolicy(BaseModel):
    """Thresholds, the bounds of automatic action and who may decide beyond them."""

    check_interval: timedelta = timedelta(hours=4)
    under_ratio: Decimal = Field(default=Decimal("0.7"), gt=0, le=1)
    """Actual / expected below this: selling too slowly (markdown)."""
    over_ratio: Decimal = Field(default=Decimal("1.3"), ge=1)
    """Actual / expected above this: stock-out risk (transfer or digital throttling)."""
    min_expected_units: int = Field(default=10, ge=0)
    """Do not judge a region and item before this many units were expected."""
    markdown_step_pct: Decimal = Field(default=Decimal("5"), gt=0, le=50)
    auto_markdown_max_pct: Decimal = Field(default=Decimal("10"), ge=0, le=90)
    """A markdown up to this deep is applied automatically."""
    max_markdown_pct: Decimal = Field(default=Decimal("40"), gt=0, le=90)
    """The total markdown of an item in a region never goes beyond this."""
    auto_transfer_max_units: int = Field(default=200, ge=0)
    auto_throttle: bool = False
    authorized_roles: list[str] = Field(default_factory=lambda: ["category_manager"], min_length=1)
    rebalance_policy: RebalancePolicy | None = None
    """Policy given to the InventoryRebalance child of a transfer (None: no transfers are
    recommended, throttling is recommended instead)."""
    transfer_need_by: timedelta = timedelta(days=2)
    cooldown: timedelta = timedelta(days=1)
    """No new recommendation of the same kind, region and item within this time."""
    ack_timeout: timedelta = timedelta(minutes=5)
    max_republish: int = Field(default=2, ge=0, le=10)
    checks_per_run: int = Field(default=50, ge=1, le=1000)
    """Continue-as-new after this many checks (keeps each run's history small)."""

    @field_validator("check_interval")
    @classmethod
    def _interval_positive(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=1):
            raise ValueError("check_interval must be at least one second")
        return value

    @model_validator(mode="after")
    def _bounds_consistent(self) -> MonitorPolicy:
        if self.auto_markdown_max_pct > self.max_markdown_pct:
            raise ValueError(
                f"auto_markdown_max_pct {self.auto_markdown_max_pct} is above "
                f"max_markdown_pct {self.max_markdown_pct}"
            )
        return self


class MonitorItem(BaseModel):
    item_id: str = Field(min_length=1)
    regular_price: Decimal = Field(gt=0, decimal_places=2)
    promo_price: Decimal = Field(gt=0, decimal_places=2)
    offer: str = "promotion"


class Recommendation(BaseModel):
    id: str
    kind: RecommendationKind
    region: str
    item_id: str
    expected_units: Decimal
    actual_units: int
    ratio: Decimal
    markdown_pct: Decimal = Decimal("0")
    new_price: Decimal | None = None
    transfer_units: int = 0
    source_region: str | None = None
    reason: str
    """Why, in words."""
    created_at: AwareDatetime
    automatic: bool
    """Inside the policy bounds: applied without a decision."""
    status: RecommendationStatus
    decided_by: str | None = None
    decided_role: str | None = None
    decision_note: str = ""
    result: str = ""
    """What applying it did (or why it failed)."""
    rebalance_workflow_id: str | None = None


class AuditEntry(BaseModel):
    at: AwareDatetime
    actor: str
    action: str
    detail: str


class MonitorState(BaseModel):
    """Everything carried from one run to the next (continue-as-new)."""

    checks: int = 0
    runs: int = 1
    next_seq: int = 1
    last_check_at: AwareDatetime | None = None
    recommendations: list[Recommendation] = Field(default_factory=list)
    audit: list[AuditEntry] = Field(default_factory=list)
    markdown_pct: dict[str, Decimal] = Field(default_factory=dict)
    """Total markdown applied per ``region/item``."""
    throttled: bool = False
    last_ratios: dict[str, Decimal] = Field(default_factory=dict)
    """Latest actual/expected per ``region/item``."""


class MonitorInput(BaseModel):
    promotion_id: str = Field(min_length=1)
    items: list[MonitorItem] = Field(min_length=1)
    stores_by_region: dict[str, list[str]]
    forecast_units: dict[str, dict[str, int]]
    """Forecast promotion units for the whole window, per region and item."""
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    policy: MonitorPolicy
    state: MonitorState = Field(default_factory=MonitorState)
    markdown_version_base: int = Field(default=1000, ge=1)
    """Price versions used by the monitor's markdowns (base + recommendation number), so
    their idempotency keys never collide with the launch's own price versions."""

    @model_validator(mode="after")
    def _consistent(self) -> MonitorInput:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if not self.stores_by_region:
            raise ValueError("stores_by_region: name at least one region")
        empty = sorted(r for r, stores in self.stores_by_region.items() if not stores)
        if empty:
            raise ValueError(f"stores_by_region: region(s) without stores: {', '.join(empty)}")
        unknown = sorted(set(self.forecast_units) - set(self.stores_by_region))
        if unknown:
            raise ValueError(f"forecast_units: unknown region(s): {', '.join(unknown)}")
        items = {i.item_id for i in self.items}
        stray = sorted(
            f"{r}/{i}" for r, per in self.forecast_units.items() for i in per if i not in items
        )
        if stray:
            raise ValueError(f"forecast_units: item(s) not in the promotion: {', '.join(stray)}")
        return self


class Decision(BaseModel):
    """The `decide` update: approve or reject one recommendation."""

    recommendation_id: str = Field(min_length=1)
    approve: bool
    by: str = Field(min_length=1)
    role: str = Field(min_length=1)
    note: str = Field(default="", max_length=500)


class MonitorSummary(BaseModel):
    promotion_id: str
    state: Literal["RUNNING", "ENDED"]
    checks: int
    runs: int
    recommendations: list[Recommendation]
    audit: list[AuditEntry]
    last_ratios: dict[str, Decimal]
    next_check_at: AwareDatetime | None = None

    @property
    def awaiting(self) -> list[Recommendation]:
        return [
            r for r in self.recommendations if r.status is RecommendationStatus.AWAITING_DECISION
        ]


class RegionSales(BaseModel):
    """Units sold since the start, per region and item (read from POS)."""

    since: AwareDatetime
    until: AwareDatetime
    units: dict[str, dict[str, int]]


class SalesQuery(BaseModel):
    promotion_id: str
    item_ids: list[str]
    stores_by_region: dict[str, list[str]]
    since: AwareDatetime
    until: AwareDatetime


# -- pure rules ------------------------------------------------------------------------------


def key(region: str, item_id: str) -> str:
    return f"{region}/{item_id}"


def elapsed_fraction(starts_at: datetime, ends_at: datetime, now: datetime) -> Decimal:
    total = (ends_at - starts_at).total_seconds()
    done = (min(max(now, starts_at), ends_at) - starts_at).total_seconds()
    return (Decimal(str(done)) / Decimal(str(total))).quantize(Decimal("0.000001"))


def _round_up_to_step(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def marked_down_price(price: Decimal, pct: Decimal) -> Decimal:
    """``price`` less ``pct`` percent, to the cent, never below one cent."""
    new = (price * (Decimal(100) - pct) / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)
    return max(new, CENT)


def current_price(data: MonitorInput, region: str, item: MonitorItem) -> Decimal:
    pct = data.state.markdown_pct.get(key(region, item.item_id), Decimal("0"))
    return marked_down_price(item.promo_price, pct) if pct else item.promo_price


def _blocked(
    state: MonitorState,
    kind: RecommendationKind,
    region: str,
    item_id: str,
    now: datetime,
    cooldown: timedelta,
) -> bool:
    for rec in state.recommendations:
        if rec.kind != kind or rec.item_id != item_id:
            continue
        if kind is not RecommendationKind.DIGITAL_THROTTLE and rec.region != region:
            continue
        if rec.status in OPEN_STATUSES:
            return True
        if rec.status is RecommendationStatus.APPLIED and now - rec.created_at < cooldown:
            return True
        if rec.status is RecommendationStatus.REJECTED and now - rec.created_at < cooldown:
            return True
    return False


def evaluate(data: MonitorInput, sales: RegionSales, now: datetime) -> list[Recommendation]:
    """New recommendations for this check (ids from ``data.state.next_seq`` on).

    Pure: the same input, sales and time give the same recommendations. Also records the
    ratios in ``data.state.last_ratios``.
    """
    policy, state = data.policy, data.state
    fraction = elapsed_fraction(data.starts_at, data.ends_at, now)
    if fraction <= 0:
        return []
    ratios: dict[tuple[str, str], tuple[Decimal, Decimal, int]] = {}
    regions = sorted(data.stores_by_region)
    for region in regions:
        for item in data.items:
            forecast = data.forecast_units.get(region, {}).get(item.item_id, 0)
            expected = (Decimal(forecast) * fraction).quantize(CENT)
            actual = sales.units.get(region, {}).get(item.item_id, 0)
            if expected < max(Decimal(policy.min_expected_units), CENT):
                continue
            ratio = (Decimal(actual) / expected).quantize(CENT)
            ratios[(region, item.item_id)] = (ratio, expected, actual)
            state.last_ratios[key(region, item.item_id)] = ratio

    out: list[Recommendation] = []
    seq = state.next_seq

    def make(**fields: object) -> Recommendation:
        nonlocal seq
        rec = Recommendation(
            id=f"rec-{seq}",
            created_at=now,
            status=RecommendationStatus.AWAITING_DECISION,
            **fields,
        )
        seq += 1
        return rec

    throttle_proposed = False
    for region in regions:
        for item in data.items:
            found = ratios.get((region, item.item_id))
            if found is None:
                continue
            ratio, expected, actual = found
            if ratio < policy.under_ratio:
                if _blocked(
                    state, RecommendationKind.MARKDOWN, region, item.item_id, now, policy.cooldown
                ):
                    continue
                done = state.markdown_pct.get(key(region, item.item_id), Decimal("0"))
                room = policy.max_markdown_pct - done
                if room <= 0:
                    continue
                gap = (Decimal(1) - ratio) * Decimal(50)  # half the shortfall, in percent
                pct = min(_round_up_to_step(gap, policy.markdown_step_pct), room)
                price = current_price(data, region, item)
                out.append(
                    make(
                        kind=RecommendationKind.MARKDOWN,
                        region=region,
                        item_id=item.item_id,
                        expected_units=expected,
                        actual_units=actual,
                        ratio=ratio,
                        markdown_pct=pct,
                        new_price=marked_down_price(item.promo_price, done + pct),
                        reason=(
                            f"{item.item_id} in {region} sold {actual} of {expected} expected "
                            f"({ratio:.0%}), below {policy.under_ratio:.0%}: mark down {pct}% "
                            f"from {price} to {marked_down_price(item.promo_price, done + pct)}"
                        ),
                        automatic=pct <= policy.auto_markdown_max_pct,
                    )
                )
            elif ratio > policy.over_ratio:
                projected = Decimal(actual) / fraction
                planned = Decimal(data.forecast_units.get(region, {}).get(item.item_id, 0))
                shortfall = max(1, math.ceil(projected - planned))
                donor = _donor(data, ratios, region, item.item_id, fraction)
                if donor is not None and policy.rebalance_policy is not None:
                    source, surplus = donor
                    if _blocked(
                        state,
                        RecommendationKind.TRANSFER,
                        region,
                        item.item_id,
                        now,
                        policy.cooldown,
                    ):
                        continue
                    units = min(shortfall, surplus)
                    out.append(
                        make(
                            kind=RecommendationKind.TRANSFER,
                            region=region,
                            item_id=item.item_id,
                            expected_units=expected,
                            actual_units=actual,
                            ratio=ratio,
                            transfer_units=units,
                            source_region=source,
                            reason=(
                                f"{item.item_id} in {region} sold {actual} of {expected} "
                                f"expected ({ratio:.0%}), above {policy.over_ratio:.0%}: move "
                                f"{units} unit(s) from {source}, which sells below forecast"
                            ),
                            automatic=units <= policy.auto_transfer_max_units,
                        )
                    )
                else:
                    if throttle_proposed or state.throttled:
                        continue
                    if _blocked(
                        state,
                        RecommendationKind.DIGITAL_THROTTLE,
                        region,
                        item.item_id,
                        now,
                        policy.cooldown,
                    ):
                        continue
                    throttle_proposed = True
                    out.append(
                        make(
                            kind=RecommendationKind.DIGITAL_THROTTLE,
                            region=region,
                            item_id=item.item_id,
                            expected_units=expected,
                            actual_units=actual,
                            ratio=ratio,
                            reason=(
                                f"{item.item_id} in {region} sold {actual} of {expected} "
                                f"expected ({ratio:.0%}) and no region has stock to spare: take "
                                "the promotion off e-commerce and marketplace so store stock lasts"
                            ),
                            automatic=policy.auto_throttle,
                        )
                    )
    state.next_seq = seq
    return out


def _donor(
    data: MonitorInput,
    ratios: dict[tuple[str, str], tuple[Decimal, Decimal, int]],
    region: str,
    item_id: str,
    fraction: Decimal,
) -> tuple[str, int] | None:
    """The slowest other region with a projected surplus of the item, and that surplus."""
    best: tuple[Decimal, str, int] | None = None
    for other in sorted(data.stores_by_region):
        if other == region:
            continue
        found = ratios.get((other, item_id))
        if found is None:
            continue
        ratio, _expected, actual = found
        if ratio >= 1:
            continue
        forecast = Decimal(data.forecast_units.get(other, {}).get(item_id, 0))
        surplus = math.floor(forecast - Decimal(actual) / fraction)
        if surplus <= 0:
            continue
        if best is None or ratio < best[0]:
            best = (ratio, other, surplus)
    return None if best is None else (best[1], best[2])


def check_decision(data: MonitorInput, decision: Decision) -> Recommendation:
    """The recommendation a decision is about; ValueError in words when it is refused."""
    roles = data.policy.authorized_roles
    if decision.role not in roles:
        raise ValueError(
            f"role {decision.role!r} may not decide sell-through recommendations; "
            f"authorized: {', '.join(roles)}"
        )
    for rec in data.state.recommendations:
        if rec.id == decision.recommendation_id:
            if rec.status is not RecommendationStatus.AWAITING_DECISION:
                raise ValueError(
                    f"recommendation {rec.id} is closed ({rec.status.value}); "
                    "a decision is no longer possible"
                )
            return rec
    raise ValueError(f"no recommendation {decision.recommendation_id!r} in this promotion")


def audit(state: MonitorState, at: datetime, actor: str, action: str, detail: str) -> None:
    state.audit.append(AuditEntry(at=at, actor=actor, action=action, detail=detail))


__all__ = [
    "OPEN_STATUSES",
    "AuditEntry",
    "Decision",
    "MonitorInput",
    "MonitorItem",
    "MonitorPolicy",
    "MonitorState",
    "MonitorSummary",
    "Recommendation",
    "RecommendationKind",
    "RecommendationStatus",
    "RegionSales",
    "SalesQuery",
    "audit",
    "check_decision",
    "current_price",
    "elapsed_fraction",
    "evaluate",
    "key",
    "marked_down_price",
]
