"""The promotion's KPIs, computed at the end from what happened.

Each KPI has a written definition (`KPI_DEFINITIONS`, also in the README). A ratio whose
denominator is zero is `None` and reads "n/a" with the reason: a KPI never reads 100% for
something that did not happen (nothing sold, nothing owed, nothing published).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, Field

from domain.money import HUNDRED, cents
from domain.promotion.plan import ItemFacts, PlanMetrics, VendorDeal
from domain.promotion.validation import funding_per_unit
from domain.publication.prices import PriceLine

KPI_DEFINITIONS: dict[str, str] = {
    "launch accuracy": "targets (a store's POS, or a chain-wide channel) confirmed on the first "
    "send of the first publication, over every target that first publication sent to",
    "channel sync success": "per channel, targets confirmed over targets ever sent (after "
    "read-back reconciliation and republishing)",
    "stock availability in the window": "stores where the offer went live, over the stores in "
    "the plan (held stores count as unavailable)",
    "stockout rate": "live stores that ran out of a promoted item during the window, over the "
    "live stores",
    "markdown variance": "actual markdown (regular minus promoted price, times units sold) "
    "minus the planned margin impact; negative: less discount given than planned",
    "rebate recovery": "vendor funding claimed over the funding owed on the funded units "
    "actually sold (per-unit funding x units, within the deal's cap); n/a when nothing was owed",
    "margin against plan": "actual margin (promoted price - cost + funding per unit, times "
    "units sold) minus the planned margin",
    "units planned / sold": "forecast units of the plan against units sold in the live stores",
    "funding accrued / claimed / released": "accrued at launch, claimed at the end on actual "
    "units, and released (accrued minus claimed) when the accrual is settled",
}


def ratio_pct(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    """`part` over `whole` in %, to one decimal; None when `whole` is zero (n/a)."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole) * HUNDRED).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )


class PromotionKpis(BaseModel):
    """The KPIs of one promotion; see `KPI_DEFINITIONS` for what each one means."""

    launch_accuracy_pct: Decimal | None
    channel_sync_success_pct: dict[str, Decimal | None]
    stock_availability_pct: Decimal | None
    stockout_rate_pct: Decimal | None
    markdown_variance: Decimal
    rebate_recovery_pct: Decimal | None
    """None when no funding was owed (no deal, or no funded unit sold)."""
    funding_owed: Decimal = Decimal(0)
    margin_vs_plan: Decimal
    planned_units: int
    actual_units: int
    accrued: Decimal
    claimed: Decimal
    released: Decimal = Decimal(0)
    definitions: dict[str, str] = Field(default_factory=lambda: dict(KPI_DEFINITIONS))

    def rows(self) -> list[tuple[str, str]]:
        def shown(value: Decimal | None, why: str) -> str:
            return f"n/a ({why})" if value is None else f"{value}%"

        rebate_why = "nothing owed: no funded unit sold" if self.accrued else "no vendor funding"
        return [
            ("launch accuracy", shown(self.launch_accuracy_pct, "nothing was published")),
            *[
                (f"channel sync success ({channel})", shown(pct, "nothing sent"))
                for channel, pct in sorted(self.channel_sync_success_pct.items())
            ],
            (
                "stock availability in the window",
                shown(self.stock_availability_pct, "no store in the plan"),
            ),
            ("stockout rate", shown(self.stockout_rate_pct, "no store went live")),
            ("markdown variance", f"{self.markdown_variance}"),
            ("rebate recovery", shown(self.rebate_recovery_pct, rebate_why)),
            ("margin against plan", f"{self.margin_vs_plan}"),
            ("units planned / sold", f"{self.planned_units} / {self.actual_units}"),
            (
                "funding accrued / claimed / released",
                f"{self.accrued} / {self.claimed} / {self.released}",
            ),
        ]


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
    released: Decimal = Decimal(0),
) -> PromotionKpis:
    """The promotion's KPIs from what happened (actual units per item across live stores)."""
    markdown_actual = Decimal(0)
    margin_actual = Decimal(0)
    owed = Decimal(0)
    for line in lines:
        units = actual_units.get(line.item_id, 0)
        cut = line.regular_price - line.promo_price
        per_unit = funding_per_unit(deal, line.item_id)
        markdown_actual += cut * units
        owed += per_unit * units
        margin_actual += (line.promo_price - items[line.item_id].cost + per_unit) * units
    if deal is not None and deal.max_amount is not None:
        owed = min(owed, deal.max_amount)
    return PromotionKpis(
        launch_accuracy_pct=ratio_pct(targets_confirmed_on_time, targets_planned),
        channel_sync_success_pct={
            channel: ratio_pct(confirmed, total)
            for channel, (confirmed, total) in sorted(channel_confirmed.items())
        },
        stock_availability_pct=ratio_pct(stores_live, stores_total),
        stockout_rate_pct=ratio_pct(stores_stocked_out, stores_live),
        markdown_variance=cents(markdown_actual - metrics.margin_impact),
        rebate_recovery_pct=ratio_pct(claimed, cents(owed)),
        funding_owed=cents(owed),
        margin_vs_plan=cents(margin_actual - metrics.planned_margin),
        planned_units=metrics.planned_units,
        actual_units=sum(actual_units.values()),
        accrued=cents(accrued),
        claimed=cents(claimed),
        released=cents(released),
    )
