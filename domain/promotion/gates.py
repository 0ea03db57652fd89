"""Inventory gates: coverage per store against the policy's threshold."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from pydantic import (
    BaseModel,
    Field,
)

from domain.promotion.plan import PromotionPlan, StoreFacts
from domain.promotion.policy import PromotionPolicy


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
    short_count: int = 0
    """How many items are short (`short_items` may list only the worst of them)."""

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
        short_count=len(short),
    )


SHORT_ITEMS_SHOWN = 10
"""Short items named per store in a coverage summary (a weekly ad may be short on
hundreds: the count says how many)."""


def summarized(cov: StoreCoverage) -> StoreCoverage:
    """The coverage with only the worst `SHORT_ITEMS_SHOWN` short items named."""
    if len(cov.short_items) <= SHORT_ITEMS_SHOWN and cov.short_count == len(cov.short_items):
        return cov  # already a summary (most stores are short of nothing)
    worst = sorted(cov.short_items.items(), key=lambda kv: (-kv[1], kv[0]))[:SHORT_ITEMS_SHOWN]
    return cov.model_copy(update={"short_items": dict(worst), "short_count": len(cov.short_items)})
