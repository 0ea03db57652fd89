"""A small day of the simulated week on a real stack: the KPIs come from the ledger and the
workflows, so a fault shows as a worse figure.

One event of the week runs for its first simulated day while the e-commerce platform never
delivers its acknowledgements: the launch confirms the channel by reading it back, and the
figures read back say so (e-commerce not in sync on the first try, in sync after
reconciliation); the promoted pairs count only the stores the POS took; what the till sold
is exactly what the POS ledger recorded.
"""

from __future__ import annotations

from pathlib import Path

from sim.report import write_html
from sim.run import SimOptions, simulate_week


async def test_a_small_day_scores_lost_channel_acks_from_the_ledger(tmp_path: Path) -> None:
    options = SimOptions(
        stores=6,
        max_items=40,
        profile="none",
        day_seconds=8,
        lead_seconds=25,
        hours=24,
        returns=2,
        max_events=1,
        echo=False,
        extra_faults=[{"system": "ecommerce", "operation": "events", "drop_rate": 1.0}],
    )
    outcome = await simulate_week(options, workdir=tmp_path / "stack")
    (status,) = outcome.statuses.values()
    event = outcome.world.events[0]
    assert status.state.value == "ENDED", status.reasons
    numbers = outcome.kpis.numbers
    assert numbers["first try (ecommerce)"] == 0.0
    assert numbers["after reconciliation (ecommerce)"] == 100.0
    first, after = (
        numbers["channel sync success (first try)"],
        numbers["channel sync success (after reconciliation)"],
    )
    assert first is not None and after is not None and first < after
    published = [s.store_id for s in status.stores if s.published]
    availability = numbers["stock availability in the window"]
    assert availability is not None
    assert availability <= 100 * len(published) / len(event.stores) + 0.05
    counts = outcome.kpis.counts
    assert counts["pairs"] == len(event.stores) * len(event.items)
    assert counts["live pairs"] == len(published) * len(event.items)
    shoppers_note = outcome.notes[0]
    assert f"bought {counts['units sold']} " in shoppers_note, shoppers_note
    page = write_html(outcome, tmp_path / "reports")
    text = page.read_text()
    assert "simulated for teaching" in text and "stockout rate" in text
    assert "<img" in text
