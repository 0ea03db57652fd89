"""The promotion's KPIs, computed at the end from what happened."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from pydantic import (
    BaseModel,
)

from domain.money import HUNDRED, cents
from domain.promotion.plan import ItemFacts, PlanMetrics, VendorDeal
from domain.promotion.validation import funding_per_unit
from domain.publication.prices import PriceLine


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
