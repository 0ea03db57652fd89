"""`starter.py return`: Open, receive, inspect, approve and follow customer returns."""

from __future__ import annotations

import typer

from cli.common import list_command

app = typer.Typer(
    help="Open, receive, inspect, approve and follow customer returns.", no_args_is_help=True
)

app.command("list")(list_command("return", "return workflows"))
