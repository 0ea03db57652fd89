"""`starter.py demo promotion`: the sample supplier-funded promotion, end to end, narrated.

On a compressed clock: go-live 25 s after the launch, 50 s live. The approvers are played
through the same functions the CLI commands call (the updates a real approver sends), store
staff and shoppers through the reference systems (`cli/demo_actors.py`): every store task
done but one, late, so its SLA alert shows; sales during the live window, so sell-through,
recommendations, the vendor claim and the KPIs carry real numbers. Needs the running stack
(`make demo` / `python -m devstack up`).

Registered in the demo group by cli/demo.py (`demo_promotion.register(app)`).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import typer
from rich.console import Console
from temporalio.client import Client
from temporalio.service import RPCError

from cli import promotion as promo
from cli.common import CommandError, client_for, console, run_async, settings_from
from cli.demo_actors import Shoppers, StoreStaff
from cli.keys import load_signer
from cli.promotion_view import status_renderable
from common.config import Settings
from domain.promotion.plan import PromotionPlan
from domain.promotion.policy import PromotionPolicy, TaskTemplate
from domain.promotion.status import TERMINAL_STATES, PromotionState, PromotionStatus
from domain.sellthrough.contract import MonitorSummary
from domain.sellthrough.contract import workflow_id as monitor_workflow_id
from workflows.sell_through_monitor import SellThroughMonitor

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "promotions" / "grocery-weekend.json"
MIN_BASKET_EVERY = timedelta(seconds=2)
DEMO_INBOX_KEY = Path(__file__).resolve().parents[1] / "examples" / "keys" / "demo-inbox-1.pem"
"""The embedded stack's inbox key: it signs the demo approvers' decisions (the example
policies trust it; a production policy never lists it)."""


def demo_plan(
    *, now: datetime, go_live_after: timedelta, live_for: timedelta, suffix: str
) -> PromotionPlan:
    data = json.loads(SAMPLE.read_text())
    data["promotion_id"] = f"{data['promotion_id']}-{suffix}"
    data["starts_at"] = (now + go_live_after).isoformat()
    data["ends_at"] = (now + go_live_after + live_for).isoformat()
    return PromotionPlan.model_validate(data)


def demo_policy(
    policy: PromotionPolicy, *, go_live_after: timedelta, live_for: timedelta
) -> PromotionPolicy:
    """The example policy with its clocks shrunk to demo size (deadlines, SLAs, checks)."""
    roles = {
        name: role.model_copy(update={"deadline": timedelta(minutes=10)})
        for name, role in policy.roles.items()
    }
    tasks = [
        TaskTemplate(
            kind=t.kind, description=t.description, due_before_start=go_live_after / (n + 3)
        )
        for n, t in enumerate(policy.tasks)
    ]
    monitor = policy.monitor.model_copy(
        update={
            "check_interval": max(live_for / 4, timedelta(seconds=15)),
            "cooldown": live_for,
            "transfer_need_by": live_for,
            "min_expected_units": 1,
        }
    )
    publication = policy.publication.model_copy(update={"ack_timeout": timedelta(seconds=20)})
    return policy.model_copy(
        update={
            "roles": roles,
            "tasks": tasks,
            "monitor": monitor,
            "publication": publication,
            "rebalance_lead": go_live_after / 2,
        }
    )


def ui_link(settings: Settings, workflow_id: str) -> str:
    return (
        f"{settings.ui_url.rstrip('/')}/namespaces/{quote(settings.namespace)}/workflows/"
        f"{quote(workflow_id)}"
    )


async def run_promotion_demo(
    settings: Settings,
    *,
    go_live_after: timedelta = timedelta(seconds=25),
    live_for: timedelta = timedelta(seconds=50),
    client: Client | None = None,
    out: Console = console,
    poll_s: float = 1.0,
) -> PromotionStatus:
    """Launch the sample, approve it as the approvers would, narrate until it ends."""
    temporal = await client_for(settings, client)
    signer = load_signer(DEMO_INBOX_KEY)  # the embedded stack's inbox vouches for its people
    now = datetime.now(UTC)
    suffix = now.strftime("%H%M%S")
    plan = demo_plan(now=now, go_live_after=go_live_after, live_for=live_for, suffix=suffix)
    policy = demo_policy(promo.load_policy(), go_live_after=go_live_after, live_for=live_for)
    out.rule(f"[bold]Promotion demo: {plan.name}")
    out.print(
        f"The pricing analyst [bold]{plan.submitted_by}[/] launches [bold]{plan.promotion_id}[/]: "
        f"{plan.offer_words()} on {len(plan.items)} grocery items in {len(plan.stores)} stores, "
        f"funded by vendor deal {plan.vendor_deal_id}, on "
        f"{', '.join(c.value for c in plan.channels)}."
    )
    out.print(
        f"Compressed clock: goes live at {plan.starts_at:%H:%M:%S} UTC, ends at "
        f"{plan.ends_at:%H:%M:%S} UTC."
    )
    handle = await promo.launch(settings, "-", plan=plan, policy=policy, client=temporal)
    out.print(f"  started workflow [cyan]{handle.id}[/]  ({ui_link(settings, handle.id)})")

    status = await _wait(
        settings,
        plan.promotion_id,
        temporal,
        lambda s: s.state.value != "VALIDATING" and s.state.value != "DRAFT",
        poll_s,
    )
    if status.state.value != "AWAITING_APPROVAL":
        out.print(f"[red]the plan was not accepted: {status.reasons}[/]")
        return status
    assert status.metrics is not None
    out.print(
        f"ERP checked the items, stores and the deal. Discount depth "
        f"{status.metrics.discount_depth_pct}%, margin impact {status.metrics.margin_impact}, "
        f"vendor funding {status.metrics.vendor_funding}, unfunded {status.metrics.unfunded_cost}."
    )
    out.print(
        f"The approval matrix asks for: [bold]{', '.join(a.role for a in status.approvals)}[/] "
        f"(tiers: {'; '.join(status.tiers)})."
    )
    out.print(
        "  find it in the UI: "
        f"{settings.ui_url.rstrip('/')}/namespaces/{quote(settings.namespace)}/workflows?query="
        + quote("AwaitingRole='category_manager'")
    )
    try:
        await promo.decide(
            settings, plan.promotion_id, "mallory", approve=True, client=temporal, signer=signer
        )
    except CommandError as err:
        out.print(
            f"Someone without the role tries to approve: [red]{err}[/] (never enters history)"
        )
    for approval in status.approvals:
        person = policy.approver_of(approval.role)
        answer = await promo.decide(
            settings,
            plan.promotion_id,
            person,
            approve=True,
            role=approval.role,
            comment="looks good for the weekend",
            client=temporal,
            signer=signer,
        )
        out.print(f"[green]{person}[/] ({approval.role}) approves: {answer.message}")

    async def read_status() -> PromotionStatus:
        return await promo.status(settings, plan.promotion_id, client=temporal)

    staff = StoreStaff(settings, out)
    shoppers = Shoppers(settings, out)
    actors = [
        asyncio.create_task(staff.work(read_status, poll_s)),
        asyncio.create_task(
            shoppers.shop(read_status, max(live_for / 6, MIN_BASKET_EVERY), poll_s)
        ),
    ]
    seen_audit = len(status.audit)
    last_state = status.state
    seen_recommendations: set[str] = set()
    while True:
        status = await promo.status(settings, plan.promotion_id, client=temporal)
        if status.state is PromotionState.LIVE:
            await _narrate_recommendations(temporal, plan.promotion_id, seen_recommendations, out)
        for entry in status.audit[seen_audit:]:
            if entry.action in ("approved", "awaiting approval", "launched", "validated"):
                continue
            out.print(f"  [dim]{entry.at:%H:%M:%S}[/] {entry.action}: {entry.detail}")
        seen_audit = len(status.audit)
        if status.state != last_state:
            last_state = status.state
            out.print(f"[bold cyan]{status.state.value}[/]: {status.waiting_for}")
            if status.state.value == "SCHEDULED":
                counts = status.store_counts()
                out.print(
                    f"  stores: {counts}; channels: "
                    + ", ".join(f"{c.channel} {c.confirmed}/{c.targets}" for c in status.channels)
                )
        if status.state in TERMINAL_STATES:
            break
        await asyncio.sleep(poll_s)
    for actor in actors:
        actor.cancel()
    await asyncio.gather(*actors, return_exceptions=True)

    out.rule("[bold]Result")
    f = status.funding
    out.print(
        f"Store staff completed {len(staff.done)} task(s), one after its SLA; shoppers bought "
        f"{shoppers.units_bought} promoted units. Vendor funding: {f.accrued} accrued, "
        f"{f.claimed} claimed on the units sold, {f.released} released"
        + (" (accrual settled in the ERP)." if f.settled else ".")
    )
    out.print(status_renderable(status, audit_lines=0))
    out.print(f"Open it in the Temporal UI: [link]{ui_link(settings, handle.id)}[/link]")
    return status


async def _narrate_recommendations(
    temporal: Client, promotion_id: str, seen: set[str], out: Console
) -> None:
    """What the sell-through monitor recommends from the shoppers' sales, as it happens."""
    handle = temporal.get_workflow_handle(monitor_workflow_id(promotion_id))
    try:
        summary: MonitorSummary = await handle.query(SellThroughMonitor.status)
    except RPCError:
        return  # not started yet
    for r in summary.recommendations:
        if r.id in seen:
            continue
        seen.add(r.id)
        how = "applied automatically" if r.automatic else "sent for approval"
        out.print(
            f"  [magenta]sell-through[/] {r.region}/{r.item_id}: {r.actual_units} sold against "
            f"{r.expected_units} expected: {r.kind.value} ({how}): {r.reason}"
        )


async def _wait(
    settings: Settings, promotion_id: str, client: Client, condition: Any, poll_s: float
) -> PromotionStatus:
    for _ in range(600):
        try:
            status = await promo.status(settings, promotion_id, client=client)
        except CommandError:
            await asyncio.sleep(poll_s / 4)
            continue
        if condition(status):
            return status
        await asyncio.sleep(poll_s / 4)
    raise CommandError(f"promotion {promotion_id} did not move on; is the worker running?")


def register(app: typer.Typer) -> None:
    """Add `demo promotion` to the lead's demo group."""

    @app.command("promotion")
    def promotion_demo(
        ctx: typer.Context,
        go_live_after: int = typer.Option(25, help="seconds from launch to go-live"),
        live_for: int = typer.Option(50, help="seconds the promotion stays live"),
    ) -> None:
        """Run the sample supplier-funded promotion end to end, narrated, with its KPIs."""
        settings = settings_from(ctx)

        async def go() -> PromotionStatus:
            return await run_promotion_demo(
                settings,
                go_live_after=timedelta(seconds=go_live_after),
                live_for=timedelta(seconds=live_for),
            )

        try:
            result = run_async(go)
        except CommandError as err:
            from cli.common import fail

            fail(str(err), err.code)
        if result.state.value != "ENDED":
            raise typer.Exit(1)


__all__ = ["demo_plan", "demo_policy", "register", "run_promotion_demo", "ui_link"]
