"""Inventory gates: coverage per store class."""

from __future__ import annotations

from decimal import Decimal

from domain.promotion.gates import Position, store_coverage
from domain.promotion.plan import (
    StoreFacts,
)
from tests.domain.promotion.samples import plan, policy


def test_coverage_per_store_class() -> None:
    p = policy()
    pl = plan()
    store_a = StoreFacts(store_id="S001", store_class="A")
    store_c = StoreFacts(store_id="S003", store_class="C")
    positions = [
        Position(store_id=s, item_id=i, on_hand=9, in_transit=2)
        for s in ("S001", "S003")
        for i in ("I0012", "I0060", "I0156")
    ]
    a = store_coverage(store_a, pl, positions, p)
    c = store_coverage(store_c, pl, positions, p)
    assert a.coverage == c.coverage == Decimal("1.10")
    assert a.threshold == Decimal("1.2") and a.below
    assert a.short_items == {"I0012": 1, "I0060": 1, "I0156": 1}
    assert c.threshold == Decimal("0.8") and not c.below
    # a missing position counts as zero stock
    empty = store_coverage(StoreFacts(store_id="S999", store_class="B"), pl, positions, p)
    assert empty.coverage == Decimal(0) and empty.below


# --------------------------------------------------------------------------- KPIs


def test_a_coverage_summary_names_the_worst_short_items_and_counts_them_all() -> None:
    from domain.promotion.gates import SHORT_ITEMS_SHOWN, StoreCoverage, summarized

    short = {f"I{n:03d}": n for n in range(1, 31)}
    cov = StoreCoverage(
        store_id="S1",
        store_class="B",
        coverage=Decimal("0.1"),
        threshold=Decimal("1.0"),
        short_items=short,
        short_count=30,
    )
    summary = summarized(cov)
    assert summary.short_count == 30 and len(summary.short_items) == SHORT_ITEMS_SHOWN
    assert list(summary.short_items) == [f"I{n:03d}" for n in range(30, 20, -1)]
