"""`starter.py promotion`: Launch, approve, steer and inspect promotion launches.

Every command is a thin typer wrapper over an async function that takes an optional
Temporal `client` (tests and the demo call those directly).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Group
from rich.live import Live
from rich.panel import Panel
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
)
from temporalio.service import RPCError

from cli.common import (
    EXIT_REFUSED,
    CommandError,
    InputError,
    client_for,
    console,
    list_command,
    load_model,
    parse_model,
    run_async,
    run_query,
    send_update,
    settings_from,
    start_with_business_key,
    stdout_is_terminal,
    update_name,
)
from cli.keys import signer_from
from cli.promotion_checks import check_master_data, check_size
from cli.promotion_sign import signed
from cli.promotion_view import progress_for, status_renderable
from common.config import Settings
from common.search_attributes import PROMOTION_ID, RETAIL_KIND, RETAIL_STATE
from domain.activity_options import task_priority
from domain.identity import DecisionSigner
from domain.promotion.contract import PRIORITY as PROMOTION_PRIORITY
from domain.promotion.contract import (
    CancelRequest,
    Decision,
    GateOverride,
    LaunchInput,
    PriceChange,
    UpdateAnswer,
)
from domain.promotion.contract import workflow_id as workflow_id_for
from domain.promotion.plan import (
    Offer,
    PromotionPlan,
)
from domain.promotion.policy import PromotionPolicy
from domain.promotion.status import TERMINAL_STATES, PromotionStatus
from workflows.promotion_launch import PromotionLaunch

app = typer.Typer(
    help="Launch, approve, steer and inspect promotion launches.", no_args_is_help=True
)

app.command("list")(list_command("promotion", "promotion workflows"))

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_POLICY = REPO_ROOT / "examples" / "policy" / "promotion.json"


# --------------------------------------------------------------------------- implementations


def load_plan(path: Path | str) -> PromotionPlan:
    return load_model(path, PromotionPlan)


def load_policy(path: Path | str | None = None) -> PromotionPolicy:
    return load_model(path or DEFAULT_POLICY, PromotionPolicy)


async def launch(
    settings: Settings,
    plan_path: Path | str,
    *,
    policy_path: Path | str | None = None,
    launched_by: str | None = None,
    plan: PromotionPlan | None = None,
    policy: PromotionPolicy | None = None,
    client: Client | None = None,
    precheck: bool = True,
) -> WorkflowHandle[Any, Any]:
    """Validate the file, then start `PromotionLaunch` (id `promotion-{id}`).

    A malformed plan, one over the size a launch takes, or (when the backoffice answers)
    one naming an unknown item, store, store group or deal raises `InputError` before
    anything is started; the workflow validates again (it is the authority). A second
    launch of the same promotion id, running or closed, is refused with a `CommandError`
    naming the run that used it and its state.
    """
    plan = plan or load_plan(plan_path)
    policy = policy or load_policy(policy_path)
    source = str(plan_path) if plan_path != "-" else "plan"
    check_size(plan, policy, source)
    if precheck:
        await check_master_data(settings, plan, source)
    temporal = await client_for(settings, client)
    workflow_id = workflow_id_for(plan.promotion_id)
    return await start_with_business_key(
        temporal,
        PromotionLaunch.run,
        LaunchInput(plan=plan, policy=policy, launched_by=launched_by or plan.submitted_by),
        id=workflow_id,
        task_queue=settings.task_queue,
        what=f"promotion {plan.promotion_id}",
        new_key="a new promotion id",
        priority=task_priority(PROMOTION_PRIORITY),
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(RETAIL_KIND, "promotion"),
                SearchAttributePair(RETAIL_STATE, "DRAFT"),
                SearchAttributePair(PROMOTION_ID, plan.promotion_id),
            ]
        ),
        static_summary=f"Promotion {plan.promotion_id}: {plan.name}",
        static_details=(
            f"{plan.offer_words()} on {len(plan.items)} item(s), "
            f"{len(plan.stores)} store(s) {' '.join(plan.store_groups)}, channels "
            f"{', '.join(c.value for c in plan.channels)}; "
            f"{plan.starts_at.isoformat()} to {plan.ends_at.isoformat()}; "
            f"submitted by {plan.submitted_by}"
        ),
    )


def signer_for(key: Path | None) -> DecisionSigner | None:
    """`--key`, else RETAIL_DECISION_KEY, else unsigned (refused where the policy says so)."""
    try:
        return signer_from(key)
    except ValueError as err:
        raise InputError("--key", [("", str(err))]) from None


def _handle(temporal: Client, promotion_id: str) -> WorkflowHandle[Any, Any]:
    return temporal.get_workflow_handle(workflow_id_for(promotion_id))


async def _update(
    settings: Settings,
    promotion_id: str,
    update: Any,
    arg: Any,
    client: Client | None,
    signer: DecisionSigner | None = None,
    *,
    approve: bool = True,
) -> UpdateAnswer:
    """Send `update` (a typed reference) to the launch, signed with `signer` when given (over
    what `status` shows now); refusals become `CommandError`."""
    handle = _handle(await client_for(settings, client), promotion_id)
    if signer is not None and arg.token is None:
        arg = await signed(handle, arg, signer, load_policy(), approve=approve)
    try:
        answer: UpdateAnswer = await send_update(
            handle, update, arg, what=f"promotion {promotion_id}"
        )
    except CommandError:
        final = await _final_state(handle)
        if final is None:
            raise
        raise CommandError(
            f"promotion {promotion_id} has already finished: {final.state.value} "
            f"({final.waiting_for}); nothing to {update_name(update).replace('_', ' ')}",
            EXIT_REFUSED,
        ) from None
    return answer


async def _final_state(handle: WorkflowHandle[Any, Any]) -> PromotionStatus | None:
    """The final status of a closed launch (None while it runs or when it does not exist)."""
    try:
        description = await handle.describe()
        if description.status == WorkflowExecutionStatus.RUNNING:
            return None
        result: PromotionStatus = await handle.query(PromotionLaunch.status)
        return result
    except RPCError:
        return None


async def decide(
    settings: Settings,
    promotion_id: str,
    approver: str,
    *,
    approve: bool,
    role: str | None = None,
    comment: str = "",
    client: Client | None = None,
    signer: DecisionSigner | None = None,
) -> UpdateAnswer:
    decision = parse_model(
        Decision,
        {"approver": approver, "role": role, "comment": comment},
        source="decision",
    )
    update = PromotionLaunch.approve if approve else PromotionLaunch.reject
    return await _update(settings, promotion_id, update, decision, client, signer, approve=approve)


async def approve_pending(
    settings: Settings,
    status: PromotionStatus,
    policy: PromotionPolicy,
    *,
    signer: DecisionSigner | None,
    client: Client | None = None,
    comment: str = "",
) -> list[UpdateAnswer]:
    """Approve every pending role of `status`, in matrix order, as the first approver the
    policy names for it (demos, drills, benchmarks and tests play the approvers so)."""
    answers = []
    for approval in status.approvals:
        if approval.state.value == "PENDING":
            answers.append(
                await decide(
                    settings,
                    status.promotion_id,
                    policy.approver_of(approval.role),
                    approve=True,
                    role=approval.role,
                    comment=comment,
                    client=client,
                    signer=signer,
                )
            )
    return answers


def offer_from(
    *,
    percent: str | None = None,
    amount: str | None = None,
    price: str | None = None,
    offer_json: str | None = None,
) -> Offer:
    given = [x for x in (percent, amount, price, offer_json) if x is not None]
    if len(given) != 1:
        raise InputError(
            "offer", [("", "give exactly one of --percent, --amount, --price, --offer")]
        )
    if offer_json is not None:
        try:
            data = json.loads(offer_json)
        except json.JSONDecodeError as err:
            raise InputError("--offer", [("", f"is not valid JSON ({err.msg})")]) from None
    elif percent is not None:
        data = {"type": "percent_off", "percent": percent}
    elif amount is not None:
        data = {"type": "amount_off", "amount": amount}
    else:
        data = {"type": "fixed_price", "price": price}
    return parse_model(Offer, data, source="offer")


async def change_price(
    settings: Settings,
    promotion_id: str,
    requested_by: str,
    offer: Offer,
    reason: str,
    *,
    client: Client | None = None,
    signer: DecisionSigner | None = None,
) -> UpdateAnswer:
    change = parse_model(
        PriceChange,
        {"requested_by": requested_by, "offer": offer.model_dump(), "reason": reason},
        source="price change",
    )
    return await _update(
        settings, promotion_id, PromotionLaunch.change_price, change, client, signer
    )


async def override_gate(
    settings: Settings,
    promotion_id: str,
    store_id: str,
    approver: str,
    reason: str,
    *,
    role: str | None = None,
    client: Client | None = None,
    signer: DecisionSigner | None = None,
) -> UpdateAnswer:
    override = parse_model(
        GateOverride,
        {"approver": approver, "store_id": store_id, "reason": reason, "role": role},
        source="override",
    )
    return await _update(
        settings, promotion_id, PromotionLaunch.override_gate, override, client, signer
    )


async def cancel(
    settings: Settings,
    promotion_id: str,
    requested_by: str,
    reason: str,
    *,
    role: str | None = None,
    client: Client | None = None,
    signer: DecisionSigner | None = None,
) -> UpdateAnswer:
    request = parse_model(
        CancelRequest,
        {"requested_by": requested_by, "reason": reason, "role": role},
        source="cancel",
    )
    return await _update(settings, promotion_id, PromotionLaunch.cancel, request, client, signer)


async def status(
    settings: Settings, promotion_id: str, *, client: Client | None = None
) -> PromotionStatus:
    handle = _handle(await client_for(settings, client), promotion_id)
    result: PromotionStatus = await run_query(
        handle, PromotionLaunch.status, what=f"promotion {promotion_id}"
    )
    return result


async def watch(
    settings: Settings,
    promotion_id: str,
    *,
    interval_s: float = 1.0,
    client: Client | None = None,
) -> PromotionStatus:
    """Redraw the status with progress bars until the promotion reaches a final state; when
    the output is not a terminal, print one line per change instead, then the status."""
    temporal = await client_for(settings, client)
    current = await status(settings, promotion_id, client=temporal)
    if not stdout_is_terminal():
        return await _watch_lines(settings, promotion_id, current, interval_s, temporal)
    with Live(console=console, refresh_per_second=4) as live:
        while True:
            live.update(
                Group(
                    Panel(
                        progress_for(current),
                        title=f"{current.state.value}: {current.waiting_for}",
                    ),
                    status_renderable(current, audit_lines=5),
                )
            )
            if current.state in TERMINAL_STATES:
                return current
            await asyncio.sleep(interval_s)
            current = await status(settings, promotion_id, client=temporal)


async def _watch_lines(
    settings: Settings,
    promotion_id: str,
    current: PromotionStatus,
    interval_s: float,
    temporal: Client,
) -> PromotionStatus:
    """One line per change of state or of what the launch waits for (pipes, logs, CI)."""
    shown: tuple[str, str, int] | None = None
    while True:
        seen = (current.state.value, current.waiting_for, current.version)
        if seen != shown:
            console.print(
                f"{datetime.now(UTC).isoformat(timespec='seconds')} {current.promotion_id} "
                f"v{current.version} {current.state.value}: {current.waiting_for}",
                highlight=False,
            )
            shown = seen
        if current.state in TERMINAL_STATES:
            console.print(progress_for(current))
            console.print(status_renderable(current, audit_lines=5))
            return current
        await asyncio.sleep(interval_s)
        current = await status(settings, promotion_id, client=temporal)


# --------------------------------------------------------------------------- typer commands


@app.command("launch")
def launch_command(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., help="the promotion plan (JSON), e.g. examples/promotions/grocery-weekend.json"
    ),
    policy: Path | None = typer.Option(None, help="approval matrix and launch policy (JSON)"),
    by: str | None = typer.Option(None, help="who launches (default: the plan's submitted_by)"),
) -> None:
    """Validate a plan and start its PromotionLaunch workflow."""
    settings = settings_from(ctx)
    handle = run_async(lambda: launch(settings, file, policy_path=policy, launched_by=by))
    console.print(f"launched [bold]{handle.id}[/] on task queue {settings.task_queue}")
    console.print(
        f"watch it: python starter.py promotion status {handle.id.removeprefix('promotion-')} --watch"
    )


@app.command("approve")
def approve_command(
    ctx: typer.Context,
    promotion_id: str = typer.Argument(..., metavar="ID"),
    approver: str = typer.Option(..., "--approver", "--by", help="who approves"),
    role: str | None = typer.Option(
        None, help="the role approved as (when the person holds several)"
    ),
    comment: str = typer.Option("", help="a note for the audit trail"),
    key: Path | None = typer.Option(None, "--key", help="your signing key ($RETAIL_DECISION_KEY)"),
) -> None:
    """Approve a promotion as one of the roles the approval matrix asks for."""
    settings = settings_from(ctx)
    answer = run_async(
        lambda: decide(
            settings,
            promotion_id,
            approver,
            approve=True,
            role=role,
            comment=comment,
            signer=signer_for(key),
        )
    )
    console.print(f"{answer.message} (state {answer.state.value})")


@app.command("reject")
def reject_command(
    ctx: typer.Context,
    promotion_id: str = typer.Argument(..., metavar="ID"),
    approver: str = typer.Option(..., "--approver", "--by", help="who rejects"),
    comment: str = typer.Option(..., help="why (required)"),
    role: str | None = typer.Option(None, help="the role rejected as"),
    key: Path | None = typer.Option(None, "--key", help="your signing key ($RETAIL_DECISION_KEY)"),
) -> None:
    """Reject a promotion (ends it REJECTED)."""
    settings = settings_from(ctx)
    answer = run_async(
        lambda: decide(
            settings,
            promotion_id,
            approver,
            approve=False,
            role=role,
            comment=comment,
            signer=signer_for(key),
        )
    )
    console.print(f"{answer.message} (state {answer.state.value})")


@app.command("change-price")
def change_price_command(
    ctx: typer.Context,
    promotion_id: str = typer.Argument(..., metavar="ID"),
    by: str = typer.Option(..., "--by", help="who changes the price"),
    reason: str = typer.Option(..., help="why (audit trail)"),
    percent: str | None = typer.Option(None, help="new percent off"),
    amount: str | None = typer.Option(None, help="new amount off"),
    price: str | None = typer.Option(None, help="new fixed price"),
    offer: str | None = typer.Option(None, help="a whole offer as JSON"),
    key: Path | None = typer.Option(None, "--key", help="your signing key ($RETAIL_DECISION_KEY)"),
) -> None:
    """Change the offer; a material change re-opens approvals, published channels are republished."""
    settings = settings_from(ctx)

    async def go() -> UpdateAnswer:
        new_offer = offer_from(percent=percent, amount=amount, price=price, offer_json=offer)
        return await change_price(
            settings, promotion_id, by, new_offer, reason, signer=signer_for(key)
        )

    answer = run_async(go)
    console.print(f"{answer.message} (state {answer.state.value})")


@app.command("override-gate")
def override_gate_command(
    ctx: typer.Context,
    promotion_id: str = typer.Argument(..., metavar="ID"),
    store: str = typer.Option(..., help="the held store"),
    approver: str = typer.Option(..., "--approver", "--by", help="who overrides"),
    reason: str = typer.Option(..., help="why (audit trail)"),
    role: str | None = typer.Option(None, help="the role acted as"),
    key: Path | None = typer.Option(None, "--key", help="your signing key ($RETAIL_DECISION_KEY)"),
) -> None:
    """Release a store held by the inventory gate."""
    settings = settings_from(ctx)
    answer = run_async(
        lambda: override_gate(
            settings, promotion_id, store, approver, reason, role=role, signer=signer_for(key)
        )
    )
    console.print(f"{answer.message} (state {answer.state.value})")


@app.command("cancel")
def cancel_command(
    ctx: typer.Context,
    promotion_id: str = typer.Argument(..., metavar="ID"),
    by: str = typer.Option(..., "--by", help="who cancels"),
    reason: str = typer.Option(..., help="why (audit trail)"),
    role: str | None = typer.Option(None, help="the role acted as"),
    key: Path | None = typer.Option(None, "--key", help="your signing key ($RETAIL_DECISION_KEY)"),
) -> None:
    """Cancel: retract every channel, cancel tasks and transfers, reverse accruals."""
    settings = settings_from(ctx)
    answer = run_async(
        lambda: cancel(settings, promotion_id, by, reason, role=role, signer=signer_for(key))
    )
    console.print(f"{answer.message} (state {answer.state.value})")


@app.command("status")
def status_command(
    ctx: typer.Context,
    promotion_id: str = typer.Argument(..., metavar="ID"),
    watch_: bool = typer.Option(False, "--watch", help="live progress bars until it ends"),
    as_json: bool = typer.Option(False, "--json", help="the whole status as JSON"),
) -> None:
    """Show a promotion's state, approvals, channels, gates, money, KPIs and audit trail."""
    settings = settings_from(ctx)
    if watch_:
        run_async(lambda: watch(settings, promotion_id))
        return
    result = run_async(lambda: status(settings, promotion_id))
    if as_json:
        console.print_json(result.model_dump_json())
    else:
        console.print(status_renderable(result))
