"""KPIs from what happened at the end."""

from __future__ import annotations

from decimal import Decimal

from domain.promotion.kpis import compute_kpis
from domain.promotion.validation import validate_plan
from tests.domain.promotion.samples import ITEMS, NOW, deal, facts, plan, policy


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
