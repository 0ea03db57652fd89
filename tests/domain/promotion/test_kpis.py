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


def test_rebate_recovery_is_na_when_nothing_was_owed_never_100() -> None:
    kpis = compute_kpis(
        lines=validate_plan(plan(), facts(), policy(), now=NOW).lines,
        items=ITEMS,
        metrics=validate_plan(plan(), facts(), policy(), now=NOW).metrics,  # type: ignore[arg-type]
        deal=deal(),
        targets_planned=0,
        targets_confirmed_on_time=0,
        channel_confirmed={"pos": (0, 0)},
        stores_total=8,
        stores_live=0,
        stores_stocked_out=0,
        actual_units={},
        accrued=Decimal("420.00"),
        claimed=Decimal("0.00"),
        released=Decimal("420.00"),
    )
    assert kpis.rebate_recovery_pct is None and kpis.funding_owed == 0
    assert kpis.launch_accuracy_pct is None and kpis.stockout_rate_pct is None
    rows = dict(kpis.rows())
    assert rows["rebate recovery"] == "n/a (nothing owed: no funded unit sold)"
    assert rows["launch accuracy"] == "n/a (nothing was published)"
    assert rows["funding accrued / claimed / released"] == "420.00 / 0.00 / 420.00"
    assert "100" not in " ".join(v for _, v in kpis.rows() if "n/a" in v)


def test_rebate_recovery_reads_what_was_claimed_of_what_was_owed() -> None:
    validation = validate_plan(plan(), facts(), policy(), now=NOW)
    assert validation.metrics is not None
    kpis = compute_kpis(
        lines=validation.lines,
        items=ITEMS,
        metrics=validation.metrics,
        deal=deal(),
        targets_planned=8,
        targets_confirmed_on_time=8,
        channel_confirmed={"pos": (8, 8)},
        stores_total=8,
        stores_live=8,
        stores_stocked_out=0,
        actual_units={"I0012": 100},
        accrued=Decimal("420.00"),
        claimed=Decimal("87.50"),  # half of the 175.00 owed (100 units x 1.75)
    )
    assert kpis.funding_owed == Decimal("175.00")
    assert kpis.rebate_recovery_pct == Decimal("50.0")
    assert set(kpis.definitions) >= {"launch accuracy", "rebate recovery", "markdown variance"}


def test_every_kpi_definition_is_in_the_readme() -> None:
    from domain.promotion.kpis import KPI_DEFINITIONS
    from tests.domain.promotion.samples import ROOT

    readme = (ROOT / "README.md").read_text()
    for name, definition in KPI_DEFINITIONS.items():
        assert f"| {name} | {definition} |" in readme, name
