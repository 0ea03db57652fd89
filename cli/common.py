"""What every command group shares: settings, input files, errors in words, listing."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from common.config import Settings
from common.temporal import TemporalUnreachable, connect

PIPED_WIDTH = 240
"""Output that is not a terminal (a pipe, a file, CI) is not wrapped at 80 columns."""


def _console(*, stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty() or os.environ.get("COLUMNS"):
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=PIPED_WIDTH, soft_wrap=True)


console = _console()
err_console = _console(stderr=True)

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2
EXIT_UNREACHABLE = 3


class InputError(Exception):
    """A user's input is wrong: which file, which field, and why, in words."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = [
            f"{source}: {field}: {reason}" if field else f"{source}: {reason}"
            for field, reason in problems
        ]
        super().__init__("\n".join(lines))


class CommandError(Exception):
    """A command reached Temporal but could not do what was asked: words and an exit code.

    The one error type of every command group: refusals by a workflow's validator, an
    unknown or finished workflow, an RPC failure, all said in one line."""

    def __init__(self, message: str, code: int = EXIT_REFUSED) -> None:
        super().__init__(message)
        self.code = code


def update_name(update: Any) -> str:
    """The registered name of a typed update reference (`PromotionLaunch.approve`)."""
    if isinstance(update, UpdateMethodMultiParam):
        name = update._defn.name
        if name:
            return name
    return str(update)


def refusal_words(err: WorkflowUpdateFailedError) -> str:
    """Why a workflow refused an update, as its validator said it."""
    cause = err.cause
    return getattr(cause, "message", None) or str(cause or err)


def rpc_words(err: RPCError, what: str) -> str:
    """An RPC failure about `what` ("promotion P-1") in words."""
    if err.status == RPCStatusCode.NOT_FOUND:
        if "completed" in err.message or "already finished" in err.message:
            return f"{what} has already finished"
        return f"no {what}: nothing by that id in Temporal"
    return f"Temporal refused the call for {what}: {err.message}"


def _rpc_error(err: RPCError, what: str) -> CommandError:
    code = EXIT_BAD_INPUT if err.status == RPCStatusCode.NOT_FOUND else EXIT_REFUSED
    return CommandError(rpc_words(err, what), code)


MAX_UPDATE_BYTES = 256 * 1024
"""The largest update argument a command sends. Temporal's limit is 2 MB a payload, but an
update near it wedges the run: the worker's answer (acceptance or rejection) carries the
request back and goes over the limit, so every workflow task fails until the update is
gone (the input drills show it). Far below that, no decision, price change or cancel is
this large."""


def oversized(arg: Any) -> int | None:
    """The serialized size of `arg` when it is over `MAX_UPDATE_BYTES` (None: it is not)."""
    if isinstance(arg, BaseModel):
        size = len(arg.model_dump_json().encode())
    else:
        size = len(json.dumps(arg, default=str).encode())
    return size if size > MAX_UPDATE_BYTES else None


async def send_update(handle: WorkflowHandle[Any, Any], update: Any, arg: Any, *, what: str) -> Any:
    """Send a typed update; a refusal or an RPC failure becomes one `CommandError`.

    An argument over `MAX_UPDATE_BYTES` is refused here, before anything is sent."""
    size = oversized(arg)
    if size is not None:
        raise CommandError(
            f"{update_name(update)} refused before sending: its input is {size:,} bytes, at "
            f"most {MAX_UPDATE_BYTES:,} (shorten the comment or reason)",
            EXIT_BAD_INPUT,
        )
    try:
        return await handle.execute_update(update, arg)
    except WorkflowUpdateFailedError as err:
        raise CommandError(f"{update_name(update)} refused: {refusal_words(err)}") from None
    except RPCError as err:
        raise _rpc_error(err, what) from None


async def run_query(handle: WorkflowHandle[Any, Any], query: Any, *args: Any, what: str) -> Any:
    """Run a typed query (with its argument, when it takes one); an RPC failure becomes one
    `CommandError`."""
    try:
        return await handle.query(query, *args)
    except RPCError as err:
        raise _rpc_error(err, what) from None


# --------------------------------------------------------------------------- business keys


async def start_with_business_key(
    temporal: Client,
    run: Any,
    arg: Any,
    *,
    id: str,
    task_queue: str,
    what: str,
    new_key: str,
    **options: Any,
) -> WorkflowHandle[Any, Any]:
    """Start a workflow whose id is a business key: one key names one run, forever.

    Temporal refuses a second start while the first runs (`id_conflict_policy=FAIL`) and
    after it closed, whatever its end (`id_reuse_policy=REJECT_DUPLICATE`); the refusal
    becomes one `CommandError` naming the run that used the key and its final state
    (`what`: "plan P-1"; `new_key`: what to use instead, "a new plan id")."""
    try:
        return await temporal.start_workflow(
            run,
            arg,
            id=id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            **options,
        )
    except WorkflowAlreadyStartedError:
        raise CommandError(
            await key_conflict_words(temporal, id, what=what, new_key=new_key), EXIT_REFUSED
        ) from None


async def key_conflict_words(temporal: Client, workflow_id: str, *, what: str, new_key: str) -> str:
    """Which run already used `workflow_id` and where it stands, in one line."""
    try:
        description = await temporal.get_workflow_handle(workflow_id).describe()
    except RPCError:
        return f"{what} already used workflow id {workflow_id}: not started again; use {new_key}"
    state = _first(description.search_attributes.get("RetailState"))
    state_words = f", state {state}" if state else ""
    run = f"workflow {workflow_id} (run {description.run_id})"
    if description.status == WorkflowExecutionStatus.RUNNING:
        return f"{what} already runs as {run}{state_words}: not started again"
    status = description.status.name if description.status else "CLOSED"
    closed = (
        f" at {description.close_time.isoformat(timespec='seconds')}"
        if description.close_time
        else ""
    )
    return (
        f"{what} already ran as {run}, closed {status}{closed}{state_words}: "
        f"a business key names one run forever; use {new_key}"
    )


@dataclass
class CliState:
    settings: Settings
    client: Client | None = None


def settings_from(ctx: typer.Context | None) -> Settings:
    if ctx is not None and isinstance(ctx.obj, CliState):
        return ctx.obj.settings
    return Settings.from_env()


def override_settings(
    settings: Settings, address: str | None, namespace: str | None, task_queue: str | None
) -> Settings:
    return replace(
        settings,
        temporal_address=address or settings.temporal_address,
        namespace=namespace or settings.namespace,
        task_queue=task_queue or settings.task_queue,
    )


def _pydantic_problems(err: ValidationError) -> list[tuple[str, str]]:
    problems = []
    for item in err.errors():
        field = ".".join(str(part) for part in item["loc"]) or "(document)"
        problems.append((field, item["msg"]))
    return problems


def parse_model(model: type[M], data: Any, *, source: str) -> M:
    """Validate already-parsed data into `model`, naming each wrong field."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise InputError(source, _pydantic_problems(err)) from None


def load_model(path: Path | str, model: type[M]) -> M:
    """Read a JSON file into `model`; every problem becomes an `InputError`."""
    source = str(path)
    file = Path(path)
    if not file.exists():
        raise InputError(source, [("", "no such file")])
    if file.is_dir():
        raise InputError(source, [("", "is a directory, not a file")])
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(source, [("", f"cannot be read: {err}")]) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(
            source, [("", f"is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})")]
        ) from None
    return parse_model(model, data, source=source)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def run_async(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a command's coroutine, turning known failures into one clear line."""
    try:
        return asyncio.run(_call(factory))
    except InputError as err:
        fail(str(err), EXIT_BAD_INPUT)
    except CommandError as err:
        fail(str(err), err.code)
    except TemporalUnreachable as err:
        fail(str(err), EXIT_UNREACHABLE)


async def _call(factory: Callable[[], Awaitable[T]]) -> T:
    return await factory()


async def client_for(settings: Settings, client: Client | None = None) -> Client:
    """The given client (tests pass one) or a fresh connection."""
    if client is not None:
        return client
    return await connect(settings, service_name="retail-starter")


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def visibility_query(kind: str, *, awaiting: str | None = None, state: str | None = None) -> str:
    clauses = [f"RetailKind = {_quote(kind)}"]
    if awaiting:
        clauses.append(f"AwaitingRole = {_quote(awaiting)}")
    if state:
        clauses.append(f"RetailState = {_quote(state.upper())}")
    return " AND ".join(clauses)


async def list_workflows(
    settings: Settings,
    kind: str,
    *,
    awaiting: str | None = None,
    state: str | None = None,
    limit: int = 200,
    client: Client | None = None,
) -> list[dict[str, Any]]:
    """Workflows of a kind, filtered by awaited role and state, newest first."""
    temporal = await client_for(settings, client)
    rows: list[dict[str, Any]] = []
    query = visibility_query(kind, awaiting=awaiting, state=state)
    async for execution in temporal.list_workflows(query, limit=limit):
        attrs = execution.search_attributes
        rows.append(
            {
                "id": execution.id,
                "type": execution.workflow_type,
                "status": execution.status.name if execution.status else "",
                "state": _first(attrs.get("RetailState")),
                "awaiting": _first(attrs.get("AwaitingRole")),
                "started": execution.start_time.isoformat(timespec="seconds"),
            }
        )
    return rows


def _first(values: Any) -> str:
    if isinstance(values, list):
        return ", ".join(str(v) for v in values)
    return "" if values is None else str(values)


def print_rows(title: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print(f"[dim]{title}: nothing found[/]")
        return
    table = Table(title=title)
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    console.print(table)


def list_command(kind: str, label: str) -> Callable[..., None]:
    """A `list` command for a workflow kind: `--awaiting ROLE` and `--state S` filters."""

    def command(
        ctx: typer.Context,
        awaiting: str | None = typer.Option(None, help="only those waiting for this role"),
        state: str | None = typer.Option(None, help="only those in this state"),
    ) -> None:
        settings = settings_from(ctx)
        rows = run_async(lambda: list_workflows(settings, kind, awaiting=awaiting, state=state))
        print_rows(label, rows)

    command.__doc__ = f"List {label} (filter by awaited role or state)."
    return command


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()
