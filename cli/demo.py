"""`starter.py demo`: guided walks through the running stack."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import typer
from rich.table import Table
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from cli import demo_promotion
from cli.common import client_for, console, run_async, settings_from
from common.config import Settings

app = typer.Typer(
    help="Guided demos on the running stack (start it with `make demo`).", no_args_is_help=True
)


async def tour_facts(settings: Settings, client: Client | None = None) -> dict[str, Any]:
    """What runs where: Temporal, the worker's pollers, the backoffice, the UI."""
    temporal = await client_for(settings, client)
    pollers = []
    for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
        response = await temporal.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=settings.namespace,
                task_queue=TaskQueue(name=settings.task_queue),
                task_queue_type=kind,
            )
        )
        pollers += [p.identity for p in response.pollers]
    try:
        async with httpx.AsyncClient(timeout=settings.http_timeout_s) as http:
            backoffice = (await http.get(f"{settings.backoffice_url}/health")).json()
    except (httpx.HTTPError, ValueError):
        backoffice = None
    return {
        "temporal": settings.temporal_address,
        "namespace": settings.namespace,
        "task_queue": settings.task_queue,
        "workers": sorted(set(pollers)),
        "backoffice": backoffice,
        "ui": settings.ui_url,
    }


@app.command("tour")
def tour(ctx: typer.Context) -> None:
    """Show what runs where and how to drive it."""
    settings = settings_from(ctx)
    facts = run_async(lambda: tour_facts(settings))
    table = Table(title="The retail-ops stack", show_lines=False)
    table.add_column("part")
    table.add_column("where")
    table.add_column("what it does")
    table.add_row(
        "Temporal",
        f"{facts['temporal']} ({facts['namespace']})",
        "keeps every workflow's state, timers and history",
    )
    table.add_row("Temporal UI", facts["ui"], "find and read workflows; filter by RetailState etc.")
    workers = ", ".join(facts["workers"]) or "[red]none polling[/]"
    table.add_row("worker", workers, f"runs workflows and activities from `{facts['task_queue']}`")
    backoffice = "[red]not reachable[/]" if facts["backoffice"] is None else settings.backoffice_url
    table.add_row("backoffice", backoffice, "reference ERP, POS, WMS, channels, store tasks, fraud")
    console.print(table)
    console.print(
        "Try: [bold]python starter.py promotion --help[/], "
        "[bold]python starter.py rebalance --help[/], [bold]python starter.py return --help[/]"
    )


demo_promotion.register(app)


@app.command("run")
def run(
    ctx: typer.Context,
    go_live_after: int = typer.Option(25, help="seconds from launch to go-live"),
    live_for: int = typer.Option(50, help="seconds the promotion stays live"),
) -> None:
    """The main job of `make demo`: the tour, then the sample promotion end to end."""
    tour(ctx)
    settings = settings_from(ctx)

    async def go() -> demo_promotion.PromotionStatus:
        return await demo_promotion.run_promotion_demo(
            settings,
            go_live_after=timedelta(seconds=go_live_after),
            live_for=timedelta(seconds=live_for),
        )

    result = run_async(go)
    console.print(f"\nThe stack keeps running; the Temporal UI is at [bold]{settings.ui_url}[/]")
    console.print("Stop everything with [bold]make stop[/].")
    if result.state.value != "ENDED":
        raise typer.Exit(1)
