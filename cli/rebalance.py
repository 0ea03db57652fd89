"""`starter.py rebalance`: Plan, approve, cancel and follow inventory rebalancing.

    python starter.py rebalance plan examples/rebalance/periodic.json
    python starter.py rebalance approve PLAN_ID --approver sam.supply --role supply_chain --key K
    python starter.py rebalance cancel PLAN_ID --by sam.supply --role supply_chain \
        --reason "promotion moved" --key K
    python starter.py rebalance status PLAN_ID [--watch]
    python starter.py rebalance list [--awaiting ROLE] [--state S]

Every command implementation is an async function taking an optional `client` (tests pass
the test server's client); the typer commands are thin wrappers. Decisions are signed with
the key of `--key` (or `RETAIL_DECISION_KEY`; `starter.py keys new` makes one) over the plan
the `status` query shows, so a plan that changed since is refused, not approved.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import typer
from rich.table import Table
from temporalio.client import Client, WorkflowHandle

from cli.common import (
    EXIT_UNREACHABLE,
    CommandError,
    InputError,
    client_for,
    console,
    fail,
    list_command,
    load_model,
    run_async,
    run_query,
    send_update,
    settings_from,
    start_with_business_key,
)
from cli.keys import sign_now, signer_from
from common.config import Settings
from domain.activity_options import task_priority
from domain.identity import DecisionSigner, Verdict
from domain.rebalance.approvals import APPROVAL_STEP, CANCEL_STEP, plan_subject, verdict_of
from domain.rebalance.contract import PRIORITY as REBALANCE_PRIORITY
from domain.rebalance.contract import (
    WORKFLOW_ID_PREFIX,
    ApprovalDecision,
    CancelReport,
    CancelRequest,
    RebalanceRequest,
    RebalanceResult,
    workflow_id,
)
from domain.rebalance.status import CLOSED_STATES, RebalanceStatus
from workflows.inventory_rebalance import InventoryRebalance

D = TypeVar("D", ApprovalDecision, CancelRequest)

app = typer.Typer(
    help="Plan, approve, cancel and follow inventory rebalancing.", no_args_is_help=True
)

app.command("list")(list_command("rebalance", "rebalance workflows"))


def workflow_id_of(plan_or_workflow_id: str) -> str:
    """A plan id or the workflow id itself (what `list` shows): the workflow id."""
    if plan_or_workflow_id.startswith(WORKFLOW_ID_PREFIX):
        return plan_or_workflow_id
    return workflow_id(plan_or_workflow_id)


def _handle(
    temporal: Client, plan_id: str
) -> tuple[WorkflowHandle[InventoryRebalance, RebalanceResult], str]:
    """The workflow of a plan, and how errors name it ("rebalance workflow rebalance-P1")."""
    wf_id = workflow_id_of(plan_id)
    handle = temporal.get_workflow_handle_for(InventoryRebalance.run, wf_id)
    return handle, f"rebalance workflow {wf_id}"


async def check_master_data(settings: Settings, request: RebalanceRequest, source: str) -> None:
    """Every store and item known to the ERP, or an InputError naming each unknown one."""
    from adapters.erp import ErpClient
    from adapters.errors import BusinessRefusal, TransientError

    problems: list[tuple[str, str]] = []
    async with ErpClient(settings.backoffice_url, timeout_s=settings.http_timeout_s) as erp:
        try:
            for index, store_id in enumerate(request.scope.stores):
                try:
                    await erp.get_store(store_id)
                except BusinessRefusal:
                    problems.append(
                        (
                            f"scope.stores.{index}",
                            f"store {store_id!r} is not in the ERP store master",
                        )
                    )
            items = await erp.list_items(
                item_ids=request.scope.items, limit=max(500, len(request.scope.items))
            )
        except TransientError as err:
            raise CommandError(
                f"cannot check stores and items: {err} (is the backoffice running at "
                f"{settings.backoffice_url}?)",
                EXIT_UNREACHABLE,
            ) from err
    known = {item.item_id for item in items}
    for index, item_id in enumerate(request.scope.items):
        if item_id not in known:
            problems.append(
                (f"scope.items.{index}", f"item {item_id!r} is not in the ERP item master")
            )
    if problems:
        raise InputError(source, problems)


def validate_request(request: RebalanceRequest, source: str, now: datetime | None = None) -> None:
    """Checks that need a clock (the domain has none): need-by must be in the future."""
    now = now or datetime.now(UTC)
    if request.need_by <= now:
        raise InputError(
            source,
            [
                (
                    "need_by",
                    f"{request.need_by.isoformat()} is in the past (now {now.isoformat(timespec='seconds')})",
                )
            ],
        )


async def plan_command(
    settings: Settings,
    path: Path | str,
    *,
    client: Client | None = None,
    check_master: bool = True,
    need_by_in: timedelta | None = None,
) -> str:
    """Validate the file fully, then start the workflow; returns the workflow id."""
    source = str(path)
    request = load_model(path, RebalanceRequest)
    if need_by_in is not None:
        request = request.model_copy(update={"need_by": datetime.now(UTC) + need_by_in})
    validate_request(request, source)
    if check_master:
        await check_master_data(settings, request, source)
    temporal = await client_for(settings, client)
    wf_id = workflow_id(request.plan_id)
    await start_with_business_key(
        temporal,
        InventoryRebalance.run,
        request,
        id=wf_id,
        task_queue=settings.task_queue,
        what=f"plan {request.plan_id}",
        new_key="a new plan id",
        static_summary=f"Rebalance {request.plan_id} ({request.reason})",
        priority=task_priority(REBALANCE_PRIORITY),
        static_details=(
            f"{len(request.scope.stores)} store(s) x {len(request.scope.items)} item(s), "
            f"need by {request.need_by.isoformat()}"
        ),
    )
    return wf_id


async def signed(
    handle: WorkflowHandle[InventoryRebalance, RebalanceResult],
    decision: D,
    signer: DecisionSigner,
    *,
    what: str,
) -> D:
    """`decision` with a token over the plan as the `status` query shows it now."""
    status: RebalanceStatus = await run_query(handle, InventoryRebalance.status, what=what)
    if isinstance(decision, CancelRequest):
        person, role = decision.requested_by, decision.role
        step, verdict = CANCEL_STEP, Verdict.CANCEL
        if role is None:
            raise CommandError("a signed cancel names the role you cancel as (--role)")
    else:
        person, role = decision.approver, decision.role
        step, verdict = APPROVAL_STEP, verdict_of(decision)
    try:
        token = sign_now(
            signer,
            person=person,
            role=role,
            workflow_id=handle.id,
            step=step,
            subject=plan_subject(status.plan_id, status.plan),
            decision=verdict,
        )
    except ValueError as err:
        raise CommandError(str(err)) from None
    return decision.model_copy(update={"token": token})


async def approve_command(
    settings: Settings,
    plan_id: str,
    decision: ApprovalDecision,
    *,
    client: Client | None = None,
    signer: DecisionSigner | None = None,
) -> RebalanceStatus:
    handle, what = _handle(await client_for(settings, client), plan_id)
    if signer is not None and decision.token is None:
        decision = await signed(handle, decision, signer, what=what)
    status: RebalanceStatus = await send_update(
        handle, InventoryRebalance.approve, decision, what=what
    )
    return status


async def cancel_command(
    settings: Settings,
    plan_id: str,
    request: CancelRequest,
    *,
    client: Client | None = None,
    signer: DecisionSigner | None = None,
) -> CancelReport:
    handle, what = _handle(await client_for(settings, client), plan_id)
    if signer is not None and request.token is None:
        request = await signed(handle, request, signer, what=what)
    report: CancelReport = await send_update(handle, InventoryRebalance.cancel, request, what=what)
    return report


async def status_command(
    settings: Settings, plan_id: str, *, client: Client | None = None
) -> RebalanceStatus:
    handle, what = _handle(await client_for(settings, client), plan_id)
    status: RebalanceStatus = await run_query(handle, InventoryRebalance.status, what=what)
    return status


def render_status(status: RebalanceStatus) -> None:
    console.print(
        f"[bold]{status.plan_id}[/] {status.state.value} ({status.reason})"
        + (f", waiting for {', '.join(status.awaiting_roles)}" if status.awaiting_roles else "")
        + (" [red]need-by missed, escalated[/]" if status.escalated else "")
    )
    if status.plan is not None:
        plan = status.plan
        console.print(
            f"plan: {len(plan.moves)} transfer(s), {plan.total_units} units, cost {plan.total_cost};"
            f" unmet demand {plan.unmet_demand_before} -> {plan.unmet_demand_after}"
        )
    if status.transfers:
        table = Table(title="transfers")
        for column in ("transfer", "from", "to", "item", "planned", "shipped", "received", "state"):
            table.add_column(column)
        for t in status.transfers:
            table.add_row(
                t.transfer_id,
                t.source_id,
                t.dest_id,
                t.item_id,
                str(t.units_planned),
                _n(t.units_shipped),
                _n(t.units_received),
                t.state.value,
            )
        console.print(table)
    for v in status.variances:
        console.print(
            f"variance {v.transfer_id}: {v.kind} {v.units} ({v.detail}) claim {v.claim_id}"
        )
    for e in status.excluded:
        console.print(f"excluded {e.location_id}/{e.item_id}: {e.reason.value}: {e.detail}")


def _signer(key: Path | None) -> DecisionSigner | None:
    try:
        return signer_from(key)
    except ValueError as err:
        fail(str(err))


def _n(value: int | None) -> str:
    return "" if value is None else str(value)


async def watch(settings: Settings, plan_id: str, interval_s: float = 2.0) -> None:
    while True:
        status = await status_command(settings, plan_id)
        console.clear()
        render_status(status)
        if status.state in CLOSED_STATES:
            return
        await asyncio.sleep(interval_s)


@app.command("plan")
def plan(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="plan request (JSON)"),
    need_by_in: float | None = typer.Option(
        None, "--need-by-in", help="hours from now; overrides the file's need_by (demos)"
    ),
) -> None:
    """Validate a rebalance request file and start its workflow."""
    settings = settings_from(ctx)
    if need_by_in is not None and need_by_in <= 0:
        fail("--need-by-in must be a positive number of hours")
    offset = timedelta(hours=need_by_in) if need_by_in is not None else None
    wf_id = run_async(lambda: plan_command(settings, file, need_by_in=offset))
    console.print(
        f"started {wf_id}; follow it with: python starter.py rebalance status {wf_id} --watch"
    )
    console.print(f"UI: {settings.ui_url}/namespaces/{settings.namespace}/workflows/{wf_id}")


@app.command("approve")
def approve(
    ctx: typer.Context,
    plan_id: str = typer.Argument(..., help="plan id or workflow id"),
    approver: str = typer.Option(..., "--approver", help="who decides"),
    role: str = typer.Option(..., "--role", help="the role they decide as"),
    reject: bool = typer.Option(False, "--reject", help="reject instead of approving"),
    comment: str | None = typer.Option(None, "--comment"),
    key: Path | None = typer.Option(None, "--key", help="your signing key ($RETAIL_DECISION_KEY)"),
) -> None:
    """Approve (or --reject) a plan waiting for approval, signed with your key."""
    settings = settings_from(ctx)
    signer = _signer(key)
    decision = ApprovalDecision(approver=approver, role=role, approve=not reject, comment=comment)
    status = run_async(lambda: approve_command(settings, plan_id, decision, signer=signer))
    render_status(status)


@app.command("cancel")
def cancel(
    ctx: typer.Context,
    plan_id: str = typer.Argument(..., help="plan id or workflow id"),
    by: str = typer.Option(..., "--by", help="who cancels"),
    reason: str = typer.Option(..., "--reason", help="why"),
    role: str | None = typer.Option(None, "--role", help="the role you cancel as"),
    key: Path | None = typer.Option(None, "--key", help="your signing key ($RETAIL_DECISION_KEY)"),
) -> None:
    """Cancel what has not shipped; report what is already moving."""
    settings = settings_from(ctx)
    signer = _signer(key)
    request = CancelRequest(requested_by=by, reason=reason, role=role)
    report = run_async(lambda: cancel_command(settings, plan_id, request, signer=signer))
    console.print(f"cancelled: {', '.join(report.cancelled) or 'none'}")
    console.print(
        f"already moving (followed to receipt): {', '.join(report.already_moving) or 'none'}"
    )


@app.command("status")
def status(
    ctx: typer.Context,
    plan_id: str = typer.Argument(..., help="plan id or workflow id"),
    watch_: bool = typer.Option(False, "--watch", help="refresh until the plan closes"),
) -> None:
    """Show a plan's state, transfers, variances and excluded positions."""
    settings = settings_from(ctx)
    if watch_:
        run_async(lambda: watch(settings, plan_id))
        return
    render_status(run_async(lambda: status_command(settings, plan_id)))
