"""`starter.py promotion`: Launch, approve, steer and inspect promotion launches."""

from __future__ import annotations

import typer

from cli.common import list_command

app = typer.Typer(
    help="Launch, approve, steer and inspect promotion launches.", no_args_is_help=True
)

app.command("list")(list_command("promotion", "promotion workflows"))
