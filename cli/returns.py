"""`starter.py return`: Open, receive, inspect, approve and follow customer returns.

    python starter.py return open examples/returns/store-defective-low.json
    python starter.py return receive RMA-1001 --receipt-id SCAN-1 --source store_scan
    python starter.py return inspect RMA-1001 --condition defective --inspector ana
    python starter.py return approve RMA-1001 --approver sam --role store_supervisor --key K
    python starter.py return status RMA-1001 --watch
    python starter.py return list --awaiting loss_prevention

`ID` is the RMA id (`RMA-1001`) or the workflow id (`return-RMA-1001`). A return runs
under the policy of `--policy` (default `examples/policy/returns.json`: who holds each
role, whom to trust); decisions are signed with `--key` (or `RETAIL_DECISION_KEY`) over
the quote and fraud assessment the `status` query shows.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from cli.common import (
    EXIT_BAD_INPUT,
    EXIT_REFUSED,
    CommandError,
    InputError,
    client_for,
    console,
    list_command,
    load_model,
    rpc_words,
    run_async,
    run_query,
    send_update,
    settings_from,
    start_with_business_key,
    update_name,
)
from cli.keys import sign_now, signer_from
from common.config import Settings
from common.search_attributes import RETAIL_STATE
from domain.activity_options import task_priority
from domain.identity import DecisionSigner
from domain.returns.approval import APPROVAL_STEP, return_subject, verdict_of
from domain.returns.contract import PRIORITY as RETURNS_PRIORITY
from domain.returns.contract import (
    RETAIL_KIND,
    WORKFLOW_ID_PREFIX,
    Decision,
    InspectionResult,
    ItemReceived,
    ReturnInput,
    workflow_id,
)
from domain.returns.disposition import Condition, Disposition
from domain.returns.policy import ReturnPolicy, Role
from domain.returns.request import ReturnRequest
from domain.returns.status import APPROVED, REJECTED, ReturnState, ReturnStatus
from workflows.return_to_refund import ReturnToRefund

app = typer.Typer(
    help="Open, receive, inspect, approve and follow customer returns.", no_args_is_help=True
)

app.command("list")(list_command(RETAIL_KIND, "return workflows"))

ReturnHandle = WorkflowHandle[ReturnToRefund, ReturnStatus]
DEFAULT_POLICY = Path(__file__).resolve().parents[1] / "examples" / "policy" / "returns.json"


def _wid(identifier: str) -> str:
    identifier = identifier.strip()
    if not identifier:
        raise InputError("ID", [("", "is empty: give an RMA id such as RMA-1001")])
    return identifier if identifier.startswith(WORKFLOW_ID_PREFIX) else workflow_id(identifier)


async def open_return(
    settings: Settings,
    path: Path | str,
    client: Client | None = None,
    policy_path: Path | str | None = None,
) -> str:
    """Start `ReturnToRefund` for the request in `path` under the policy file; nothing
    starts on bad input."""
    request = load_model(path, ReturnRequest)
    policy = load_model(policy_path or DEFAULT_POLICY, ReturnPolicy)
    temporal = await client_for(settings, client)
    handle = await start_with_business_key(
        temporal,
        ReturnToRefund.run,
        ReturnInput(request=request, policy=policy),
        id=workflow_id(request.rma_id),
        task_queue=settings.task_queue,
        what=f"return {request.rma_id}",
        new_key="a new RMA id",
        static_summary=f"Return {request.rma_id} of order {request.order_id}",
        priority=task_priority(RETURNS_PRIORITY),
        static_details=(
            f"{request.channel.value} return, reason {request.reason.value}, "
            f"{len(request.lines)} line(s)"
        ),
    )
    return handle.id


async def _existing(
    settings: Settings, identifier: str, client: Client | None, *, open_only: bool = False
) -> ReturnHandle:
    """The return's handle; refused in words when it does not exist (or, for changes, is
    closed)."""
    temporal = await client_for(settings, client)
    handle = temporal.get_workflow_handle_for(ReturnToRefund.run, _wid(identifier))
    try:
        description = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise CommandError(
                f"{handle.id}: no such return (is the RMA id right? try `return list`)",
                EXIT_BAD_INPUT,
            ) from None
        raise CommandError(rpc_words(err, f"return {handle.id}")) from None
    if open_only and description.close_time is not None:
        state = description.typed_search_attributes.get(RETAIL_STATE) or "closed"
        raise CommandError(
            f"{handle.id}: this return is closed ({state}): nothing to change", EXIT_BAD_INPUT
        )
    return handle


async def _signal(handle: ReturnHandle, signal: Any, arg: Any) -> None:
    try:
        await handle.signal(signal, arg)
    except RPCError as err:
        code = EXIT_BAD_INPUT if err.status == RPCStatusCode.NOT_FOUND else EXIT_REFUSED
        raise CommandError(rpc_words(err, f"return {handle.id}"), code) from None


async def receive_item(
    settings: Settings, identifier: str, event: ItemReceived, client: Client | None = None
) -> None:
    handle = await _existing(settings, identifier, client, open_only=True)
    await _signal(handle, ReturnToRefund.item_received, event)


async def inspect_item(
    settings: Settings, identifier: str, result: InspectionResult, client: Client | None = None
) -> None:
    handle = await _existing(settings, identifier, client, open_only=True)
    await _signal(handle, ReturnToRefund.inspection_result, result)


async def decide(
    settings: Settings,
    identifier: str,
    update: Any,
    decision: Decision,
    client: Client | None = None,
    signer: DecisionSigner | None = None,
) -> ReturnStatus:
    """Send `ReturnToRefund.approve` or `.reject` (signed with `signer` over what `status`
    shows); a refused decision raises CommandError with the validator's reason."""
    handle = await _existing(settings, identifier, client, open_only=True)
    if signer is not None and decision.token is None:
        decision = await signed(handle, update, decision, signer)
    status: ReturnStatus = await send_update(handle, update, decision, what=f"return {handle.id}")
    return status


async def signed(
    handle: ReturnHandle, update: Any, decision: Decision, signer: DecisionSigner
) -> Decision:
    """`decision` with a token over the quote and fraud assessment shown now."""
    shown: ReturnStatus = await run_query(handle, ReturnToRefund.status, what=f"return {handle.id}")
    verdict = APPROVED if update_name(update) == update_name(ReturnToRefund.approve) else REJECTED
    try:
        token = sign_now(
            signer,
            person=decision.approver,
            role=decision.role.value,
            workflow_id=handle.id,
            step=APPROVAL_STEP,
            subject=return_subject(shown),
            decision=verdict_of(verdict),
        )
    except ValueError as err:
        raise CommandError(str(err)) from None
    return decision.model_copy(update={"token": token})


async def return_status(
    settings: Settings, identifier: str, client: Client | None = None
) -> ReturnStatus:
    handle = await _existing(settings, identifier, client)
    status: ReturnStatus = await run_query(
        handle, ReturnToRefund.status, what=f"return {handle.id}"
    )
    return status


def _print_status(status: ReturnStatus) -> None:
    console.print(
        f"[bold]{status.rma_id}[/] {status.state.value}  order {status.order_id}  "
        f"customer {status.customer}"
    )
    if status.declines:
        for d in status.declines:
            console.print(f"  declined {d.reason.value}: {d.message}")
    if status.quote:
        q = status.quote
        console.print(f"  refund {q.net} (gross {q.gross}, restocking fee {q.restocking_fee})")
    if status.fraud:
        f = status.fraud
        console.print(
            f"  fraud {f.tier.value} score {f.score} reasons {', '.join(f.reasons) or '-'}"
        )
    if status.awaiting_role or status.state is ReturnState.AWAITING_APPROVAL:
        console.print(f"  awaiting {', '.join(r.value for r in status.awaiting_role) or '-'}")
    for sku, disposition in status.dispositions.items():
        console.print(f"  {sku}: {disposition.value}")
    for leg in status.tenders:
        a = leg.allocation
        console.print(
            f"  tender {a.tender_id or '-'} {a.method.value} {a.amount}: {leg.state.value}"
            + (f" ({leg.failure})" if leg.failure else "")
        )
    if status.exception:
        console.print(f"  [red]exception[/]: {status.exception}")
    if status.receipt_to_refund_seconds is not None:
        console.print(
            f"  receipt to refund {status.receipt_to_refund_seconds:.0f}s, "
            f"SLA {'met' if status.refund_sla_met else 'missed'}"
        )
    if status.audit:
        last = status.audit[-1]
        console.print(f"  last: {last.at:%Y-%m-%d %H:%M:%S} {last.actor} {last.action}")


def _model_or_fail(
    build: type[ItemReceived] | type[InspectionResult] | type[Decision], **data: object
) -> object:
    try:
        return build.model_validate(data)
    except ValidationError as err:
        problems = [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in err.errors()]
        raise InputError("options", problems) from None


@app.command("open")
def open_cmd(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="return request JSON"),
    policy: Path | None = typer.Option(None, "--policy", help="return policy JSON"),
) -> None:
    """Open a return from a request file (see examples/returns/)."""
    settings = settings_from(ctx)
    wid = run_async(lambda: open_return(settings, file, policy_path=policy))
    console.print(f"started {wid}")


@app.command("receive")
def receive_cmd(
    ctx: typer.Context,
    rma: str = typer.Argument(..., metavar="ID"),
    receipt_id: str = typer.Option(..., "--receipt-id", help="scan or receipt number"),
    source: str = typer.Option("store_scan", help="store_scan or warehouse_receipt"),
    location: str = typer.Option("", help="store or DC where the item arrived"),
    by: str = typer.Option("", "--by", help="who received it"),
) -> None:
    """Record that the returned item arrived (a second receipt is dropped)."""
    settings = settings_from(ctx)

    async def go() -> None:
        event = _model_or_fail(
            ItemReceived, receipt_id=receipt_id, source=source, location=location, received_by=by
        )
        assert isinstance(event, ItemReceived)
        await receive_item(settings, rma, event)

    run_async(go)
    console.print(f"item received for {_wid(rma)}")


@app.command("inspect")
def inspect_cmd(
    ctx: typer.Context,
    rma: str = typer.Argument(..., metavar="ID"),
    condition: Condition = typer.Option(..., help="condition of the returned item"),
    inspector: str = typer.Option(..., help="who inspected it"),
    disposition: Disposition | None = typer.Option(None, help="override the disposition rule"),
    notes: str = typer.Option(""),
) -> None:
    """Record the inspection (condition, optional disposition override)."""
    settings = settings_from(ctx)

    async def go() -> None:
        result = _model_or_fail(
            InspectionResult,
            inspector=inspector,
            condition=condition,
            disposition=disposition,
            notes=notes,
        )
        assert isinstance(result, InspectionResult)
        await inspect_item(settings, rma, result)

    run_async(go)
    console.print(f"inspection recorded for {_wid(rma)}")


def _decision_cmd(update: Any) -> None:
    verb = update_name(update)

    def command(
        ctx: typer.Context,
        rma: str = typer.Argument(..., metavar="ID"),
        approver: str = typer.Option(..., help="your user name"),
        role: Role = typer.Option(..., help="the role you decide as"),
        note: str = typer.Option(""),
        key: Path | None = typer.Option(None, help="your signing key ($RETAIL_DECISION_KEY)"),
    ) -> None:
        settings = settings_from(ctx)

        async def go() -> ReturnStatus:
            decision = _model_or_fail(Decision, approver=approver, role=role, note=note)
            assert isinstance(decision, Decision)
            try:
                signer = signer_from(key)
            except ValueError as err:
                raise CommandError(str(err), EXIT_BAD_INPUT) from None
            return await decide(settings, rma, update, decision, signer=signer)

        status = run_async(go)
        console.print(f"{verb}d: {status.rma_id} is {status.state.value}")

    command.__doc__ = f"{verb.capitalize()} a return waiting for your role (fraud tier)."
    app.command(verb)(command)


_decision_cmd(ReturnToRefund.approve)
_decision_cmd(ReturnToRefund.reject)


@app.command("status")
def status_cmd(
    ctx: typer.Context,
    rma: str = typer.Argument(..., metavar="ID"),
    watch: bool = typer.Option(False, "--watch", help="follow until the return closes"),
    interval: float = typer.Option(2.0, min=0.2, help="seconds between refreshes (--watch)"),
) -> None:
    """Show a return's state, tenders, fraud reasons, disposition and last event."""
    settings = settings_from(ctx)

    async def go() -> None:
        temporal = await client_for(settings)
        last = ""
        while True:
            status = await return_status(settings, rma, client=temporal)
            shown = status.model_dump_json(exclude={"audit"})
            if shown != last:
                _print_status(status)
                last = shown
            if not watch or status.closed:
                return
            await asyncio.sleep(interval)

    run_async(go)


__all__ = [
    "app",
    "decide",
    "inspect_item",
    "open_return",
    "receive_item",
    "return_status",
]
