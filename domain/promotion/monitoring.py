"""The sell-through monitor's input, built from a launch that went live."""

from __future__ import annotations

from datetime import datetime

from domain.promotion.plan import PromotionPlan
from domain.promotion.policy import PromotionPolicy
from domain.promotion.status import StoreStatus
from domain.publication.prices import PriceLine
from domain.sellthrough.contract import MonitorInput


def stores_by_region(stores: dict[str, StoreStatus], live: list[str]) -> dict[str, list[str]]:
    """The live stores per region (stores without a region under "unknown")."""
    by_region: dict[str, list[str]] = {}
    for store_id in live:
        by_region.setdefault(stores[store_id].region or "unknown", []).append(store_id)
    return by_region


def monitor_input(
    plan: PromotionPlan,
    lines: list[PriceLine],
    by_region: dict[str, list[str]],
    window: tuple[datetime, datetime],
    policy: PromotionPolicy,
) -> MonitorInput:
    """What SellThroughMonitor watches: the live prices, the stores per region and the
    forecast units per region and item (per-store forecast x live stores)."""
    starts_at, ends_at = window
    return MonitorInput(
        promotion_id=plan.promotion_id,
        items=list(lines),
        stores_by_region=by_region,
        forecast_units={
            region: {i.item_id: i.forecast_units_per_store * len(stores) for i in plan.items}
            for region, stores in by_region.items()
        },
        starts_at=starts_at,
        ends_at=ends_at,
        policy=policy.monitor,
    )
