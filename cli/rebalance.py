"""`starter.py rebalance`: Plan, approve, cancel and follow inventory rebalancing."""

from __future__ import annotations

import typer

from cli.common import list_command

app = typer.Typer(
    help="Plan, approve, cancel and follow inventory rebalancing.", no_args_is_help=True
)

app.command("list")(list_command("rebalance", "rebalance workflows"))
