"""`starter.py faults`: make the embedded backoffice misbehave on purpose."""

from __future__ import annotations

import httpx
import typer

from cli.common import console, fail, settings_from

app = typer.Typer(
    help="Inject, list and clear faults in the embedded backoffice.", no_args_is_help=True
)


@app.command("list")
def list_faults(ctx: typer.Context) -> None:
    """List the faults the backoffice currently injects."""
    settings = settings_from(ctx)
    try:
        response = httpx.get(f"{settings.backoffice_url}/faults", timeout=settings.http_timeout_s)
    except httpx.HTTPError:
        fail(f"the backoffice is not reachable at {settings.backoffice_url}", 3)
    console.print_json(data=response.json())
