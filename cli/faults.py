"""`starter.py faults`: make the embedded backoffice misbehave on purpose (drills, demos).

    python starter.py faults set pos --operation refund.card --error-rate 0.5 --seed 7
    python starter.py faults set ecommerce --operation events --drop-rate 1
    python starter.py faults set wms --operation positions --stale-stock
    python starter.py faults list
    python starter.py faults clear [SYSTEM] [--operation OP]

The same seed and the same sequence of calls give the same faults.
"""

from __future__ import annotations

from typing import Any

import typer
from pydantic import ValidationError

from adapters.control import ControlClient
from adapters.errors import BackofficeError, BusinessRefusal
from cli.common import EXIT_UNREACHABLE, InputError, console, fail, print_rows, settings_from
from wire.control import Fault, FaultSpec

app = typer.Typer(
    help="Inject, list and clear faults in the embedded backoffice.", no_args_is_help=True
)

URL_OPTION = typer.Option(None, "--url", envvar="BACKOFFICE_URL", help="backoffice base URL")


def build_spec(system: str, **options: Any) -> FaultSpec:
    """Validate CLI options into a FaultSpec; problems name the option and the reason."""
    data = {"system": system, **{k: v for k, v in options.items() if v is not None}}
    try:
        return FaultSpec.model_validate(data)
    except ValidationError as err:
        problems = []
        for item in err.errors():
            name = ".".join(str(p) for p in item["loc"]) or "fault"
            option = "SYSTEM" if name == "system" else "--" + name.replace("_", "-")
            problems.append((option, item["msg"]))
        raise InputError("faults set", problems) from None


async def set_fault(url: str, spec: FaultSpec) -> Fault:
    async with ControlClient(url) as control:
        return await control.set_fault(spec)


async def list_faults(url: str) -> list[Fault]:
    async with ControlClient(url) as control:
        return await control.list_faults()


async def clear_faults(url: str, system: str | None = None, operation: str | None = None) -> int:
    async with ControlClient(url) as control:
        return await control.clear_faults(system=system, operation=operation)


def _run(factory: Any) -> Any:
    import asyncio

    try:
        return asyncio.run(factory())
    except InputError as err:
        fail(str(err))
    except BusinessRefusal as err:
        fail(err.message)
    except BackofficeError as err:
        fail(
            f"{err.message} (is `python -m backoffice` or the devstack running?)", EXIT_UNREACHABLE
        )


def _row(fault: Fault) -> dict[str, Any]:
    spec = fault.spec.model_dump(exclude_defaults=True, exclude={"system", "operation"})
    return {
        "system": fault.spec.system,
        "operation": fault.spec.operation,
        "fault": ", ".join(f"{k}={v}" for k, v in spec.items()) or "(nothing)",
        "calls": fault.calls,
        "injected": ", ".join(f"{k}={v}" for k, v in sorted(fault.injected.items())) or "-",
    }


@app.command("set")
def set_command(
    ctx: typer.Context,
    system: str = typer.Argument(
        ..., help="erp, pos, wms, ecommerce, marketplace, tasks, fraud or * (all)"
    ),
    operation: str = typer.Option("*", help="operation name (e.g. refund.card, publish, events)"),
    seed: int = typer.Option(0, help="same seed, same faults"),
    error_rate: float | None = typer.Option(None, help="share of calls answered 503 (0-1)"),
    refusal_rate: float | None = typer.Option(None, help="share of calls refused 422 (0-1)"),
    latency_ms: int | None = typer.Option(None, help="added latency per call"),
    outage_seconds: float | None = typer.Option(None, help="everything 503 for this long"),
    duplicate_rate: float | None = typer.Option(None, help="share of events delivered twice+"),
    duplicate_count: int | None = typer.Option(None, help="extra deliveries of a duplicate"),
    drop_rate: float | None = typer.Option(None, help="share of events never delivered"),
    late_seconds: float | None = typer.Option(None, help="delay events by this much"),
    late_rate: float | None = typer.Option(None, help="share of events delayed (default 1)"),
    stale_stock: bool = typer.Option(False, "--stale-stock", help="positions ignore new moves"),
    wrong_stock_rate: float | None = typer.Option(None, help="share of wrong on-hand figures"),
    stock_factor: float | None = typer.Option(
        None, help="on-hand figures reported times this (20: inflated, -1: negative)"
    ),
    store: list[str] | None = typer.Option(
        None, "--store", help="only calls naming this store (repeatable; default: every call)"
    ),
    url: str | None = URL_OPTION,
) -> None:
    """Add (or replace) the fault of SYSTEM and --operation."""
    base = url or settings_from(ctx).backoffice_url
    try:
        spec = build_spec(
            system,
            operation=operation,
            seed=seed,
            error_rate=error_rate,
            refusal_rate=refusal_rate,
            latency_ms=latency_ms,
            outage_seconds=outage_seconds,
            duplicate_rate=duplicate_rate,
            duplicate_count=duplicate_count,
            drop_rate=drop_rate,
            late_seconds=late_seconds,
            late_rate=late_rate,
            stale_stock=stale_stock or None,
            wrong_stock_rate=wrong_stock_rate,
            stock_factor=stock_factor,
            stores=store or None,
        )
    except InputError as err:
        fail(str(err))
    fault = _run(lambda: set_fault(base, spec))
    console.print(f"fault {fault.fault_id} set on {system} {operation}")
    print_rows("faults", [_row(fault)])


@app.command("list")
def list_command(ctx: typer.Context, url: str | None = URL_OPTION) -> None:
    """List the faults the backoffice currently injects, with what they did so far."""
    base = url or settings_from(ctx).backoffice_url
    faults = _run(lambda: list_faults(base))
    print_rows("faults", [_row(f) for f in faults])


@app.command("clear")
def clear_command(
    ctx: typer.Context,
    system: str | None = typer.Argument(None, help="only this system's faults"),
    operation: str | None = typer.Option(None, help="only this operation's fault"),
    url: str | None = URL_OPTION,
) -> None:
    """Remove faults: all of them, a system's, or one operation's."""
    base = url or settings_from(ctx).backoffice_url
    cleared = _run(lambda: clear_faults(base, system, operation))
    console.print(f"cleared {cleared} fault(s)")
