"""The starter CLI: `python starter.py --help`.

Command groups: promotion, rebalance, return, faults, demo, keys; and `simulate-week` (a week
of real data through a stack of its own). Connection options come from the same environment
variables the worker reads (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, RETAIL_TASK_QUEUE) and can
be overridden per call.
"""

from __future__ import annotations

import typer

from cli import demo, faults, keys, promotion, rebalance, returns, simulate
from cli.common import CliState, override_settings
from common.config import Settings
from common.process import run_and_exit

app = typer.Typer(
    help="Retail operations on Temporal: launch promotions, rebalance stock, refund returns.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    address: str | None = typer.Option(
        None, "--address", envvar="TEMPORAL_ADDRESS", help="Temporal frontend host:port"
    ),
    namespace: str | None = typer.Option(
        None, "--namespace", envvar="TEMPORAL_NAMESPACE", help="Temporal namespace"
    ),
    task_queue: str | None = typer.Option(
        None, "--task-queue", envvar="RETAIL_TASK_QUEUE", help="task queue the worker polls"
    ),
) -> None:
    """Connection options apply to every command below."""
    ctx.obj = CliState(override_settings(Settings.from_env(), address, namespace, task_queue))


app.add_typer(promotion.app, name="promotion")
app.add_typer(rebalance.app, name="rebalance")
app.add_typer(returns.app, name="return")
app.add_typer(faults.app, name="faults")
app.add_typer(demo.app, name="demo")
app.add_typer(keys.app, name="keys")
app.command("simulate-week")(simulate.simulate_week_command)


if __name__ == "__main__":
    run_and_exit(app)
