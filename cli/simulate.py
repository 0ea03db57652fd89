"""`starter.py simulate-week`: one week of The Complete Journey through a fresh stack of its
own (dev server, backoffice on SQLite, ingress, worker), scored on the retailer's KPIs.

It starts and stops everything it needs (free ports, processes stopped by pid); it does
not use the stack `make demo` runs. The report goes to the terminal and to an HTML page
in `reports/` (git-ignored).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from cli.common import EXIT_BAD_INPUT, console, fail
from datasets.completejourney import DataSetError


def simulate_week_command(
    week: int = typer.Option(20, help="week of the data set (1 to 53)"),
    stores: int = typer.Option(
        12, help="the week's busiest stores to run (the data set has about 110)"
    ),
    max_items: int = typer.Option(
        240, "--max-items", help="the week's best-selling promoted items to run"
    ),
    profile: str = typer.Option("typical", help="fault profile: none, typical or bad-day"),
    seed: int = typer.Option(7, help="seed of every synthesized figure and fault"),
    day_seconds: float = typer.Option(
        30.0, "--day-seconds", "--speed", help="wall-clock seconds per simulated day"
    ),
    lead_seconds: float = typer.Option(
        60.0, "--lead-seconds", help="seconds from the launches to the week's go-live"
    ),
    returns: int = typer.Option(24, help="TPC-DS store returns customers bring in"),
    hours: int = typer.Option(168, help="hours of the week to run (24: a small day)"),
    max_events: int | None = typer.Option(None, "--max-events", help="launch at most this many"),
    reports_dir: Path | None = typer.Option(None, "--reports-dir", help="default: reports/"),
    quiet: bool = typer.Option(False, help="no narration, only the report"),
) -> None:
    """Run a promotion week end to end on a compressed clock and print its KPIs."""
    from sim.report import REPORTS, print_report, write_html
    from sim.run import SimOptions, simulate_week

    options = SimOptions(
        week=week,
        stores=stores,
        max_items=max_items,
        profile=profile,
        seed=seed,
        day_seconds=day_seconds,
        lead_seconds=lead_seconds,
        returns=returns,
        hours=hours,
        max_events=max_events,
        echo=not quiet,
    )
    try:
        options.check()
        outcome = asyncio.run(simulate_week(options))
    except (ValueError, DataSetError) as err:
        fail(str(err), EXIT_BAD_INPUT)
    print_report(outcome, console)
    path = write_html(outcome, reports_dir or REPORTS)
    console.print(f"report: [bold]{path}[/]")
