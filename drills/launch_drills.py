"""Drills on a promotion launch: each runs the sample launch through one fault, to SCHEDULED
and back (cancelled: every channel retracted, the accrual reversed), then counts effects."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import WorkflowHandle

from adapters.control import ControlClient
from cli import promotion as promo
from domain.promotion.contract import STORE_COVERAGE
from domain.promotion.plan import PromotionPlan
from domain.promotion.policy import PromotionPolicy
from domain.promotion.status import PromotionState, PromotionStatus
from drills.invariants import Verdict, count_effects, launch_effects
from drills.stack import REPO, DrillStack, until
from fakes.identity import INBOX
from wire.control import FaultSpec
from workflows.promotion_launch import PromotionLaunch

SAMPLE = REPO / "examples" / "promotions" / "grocery-weekend.json"
WAIT_S = 180.0


@dataclass
class DrillResult:
    drill: str
    verdict: Verdict
    recovered_s: float | None
    """From the fault's end (the worker back, the outage over) to the run moving on."""


def drill_plan(go_live_in: timedelta) -> PromotionPlan:
    data = json.loads(SAMPLE.read_text())
    start = datetime.now(UTC) + go_live_in
    data["promotion_id"] = f"DRILL-{uuid.uuid4().hex[:8]}"
    data["starts_at"] = start.isoformat()
    data["ends_at"] = (start + timedelta(days=1)).isoformat()
    return PromotionPlan.model_validate(data)


def drill_policy() -> PromotionPolicy:
    """The example policy trusting the drills' issuer, without the pre-positioning child."""
    policy = promo.load_policy()
    return policy.model_copy(update={"trust": INBOX.trust(), "rebalance": None})


async def wait_for(
    handle: WorkflowHandle[Any, Any], *states: PromotionState, timeout_s: float = WAIT_S
) -> PromotionStatus:
    """The launch's status once it is in one of `states` (queried every 0.2 s)."""
    last: list[PromotionStatus] = []

    async def reached() -> bool:
        last[:] = [await handle.query(PromotionLaunch.status)]
        return last[0].state in states

    try:
        await until(reached, "", timeout_s, every_s=0.2)
    except TimeoutError:
        seen = f"{last[0].state.value}: {last[0].waiting_for}" if last else "no answer"
        raise TimeoutError(
            f"{handle.id} not {'/'.join(s.value for s in states)} in {timeout_s:.0f} s; "
            f"last: {seen}"
        ) from None
    return last[0]


async def cancel_launch(
    stack: DrillStack,
    handle: WorkflowHandle[Any, Any],
    promotion_id: str,
    name: str,
    verdict: Verdict,
) -> PromotionStatus:
    """Cancel (a rollback: every channel retracted, the accrual reversed) as the category
    manager; a run not ending CANCELLED is a problem. Returns the final status."""
    await promo.cancel(
        stack.settings(),
        promotion_id,
        drill_policy().approver_of("category_manager"),
        f"drill {name} over",
        client=stack.env.client,
        signer=INBOX.signer,
    )
    final: PromotionStatus = await handle.result()
    if final.state is not PromotionState.CANCELLED:
        verdict.problems.append(f"{promotion_id} ended {final.state.value}: {final.reasons}")
    return final


async def run_launch(
    stack: DrillStack,
    name: str,
    *,
    go_live_in: timedelta = timedelta(minutes=10),
    while_publishing: Callable[[WorkflowHandle[Any, Any]], Awaitable[float | None]] | None = None,
) -> DrillResult:
    """Launch, approve, (fault), wait SCHEDULED, cancel; then count every effect."""
    settings = stack.settings()
    client = stack.env.client
    plan, policy = drill_plan(go_live_in), drill_policy()
    verdict = Verdict()
    recovered: float | None = None
    handle = await promo.launch(settings, "-", plan=plan, policy=policy, client=client)
    waiting = await wait_for(handle, PromotionState.AWAITING_APPROVAL)
    await promo.approve_pending(settings, waiting, policy, signer=INBOX.signer, client=client)
    if while_publishing is not None:
        recovered = await while_publishing(handle)
    try:
        await wait_for(handle, PromotionState.SCHEDULED)
    except TimeoutError as err:
        verdict.problems.append(str(err))
    await cancel_launch(stack, handle, plan.promotion_id, name, verdict)
    await count_effects(
        stack.backoffice.url,
        launch_effects(plan.promotion_id, len(plan.stores), rolled_back=True),
        verdict,
    )
    return DrillResult(name, verdict, recovered)


async def set_faults(stack: DrillStack, *specs: dict[str, Any]) -> None:
    async with ControlClient(stack.backoffice.url) as control:
        for spec in specs:
            await control.set_fault(FaultSpec.model_validate(spec))


async def clear_faults(stack: DrillStack) -> None:
    async with ControlClient(stack.backoffice.url) as control:
        await control.clear_faults()


async def duplicate_events(stack: DrillStack) -> DrillResult:
    """10% of channel confirmations and store task events delivered twice."""
    await set_faults(
        stack,
        *[
            {"system": system, "operation": "events", "duplicate_rate": 0.1, "seed": 7}
            for system in ("ecommerce", "marketplace", "tasks")
        ],
    )
    try:
        return await run_launch(stack, "duplicate events")
    finally:
        await clear_faults(stack)


async def worker_killed_mid_launch(stack: DrillStack) -> DrillResult:
    """The worker SIGKILLed while the launch prepares and publishes, then restarted."""

    async def kill_and_restart(handle: WorkflowHandle[Any, Any]) -> float:
        await wait_for(handle, PromotionState.PREPARING, PromotionState.PUBLISHING)
        for process in list(stack.workers):
            if process.poll() is None:
                stack.kill_worker(process)
        back = time.monotonic()
        await stack.start_worker()
        await wait_for(handle, PromotionState.SCHEDULED)
        return time.monotonic() - back

    return await run_launch(stack, "worker SIGKILL mid-launch", while_publishing=kill_and_restart)


async def worker_killed_mid_store_coverage(stack: DrillStack) -> DrillResult:
    """The worker SIGKILLed while the launch reads stock per store (WMS reads slowed to 10 s,
    so the kill lands inside the call), then restarted: the dead call is noticed by its
    heartbeat timeout (20 s), not by its 5-minute start-to-close."""

    async def kill_during_coverage(handle: WorkflowHandle[Any, Any]) -> float:
        async def read_in_flight() -> bool:
            # the launch's first stock read has reached the WMS (and waits in its latency)
            return await calls_under_fault(stack, "wms", "positions") > 0

        await until(read_in_flight, f"{STORE_COVERAGE.name} at the WMS", WAIT_S)
        for process in list(stack.workers):
            if process.poll() is None:
                stack.kill_worker(process)
        await clear_faults(stack)
        back = time.monotonic()
        await stack.start_worker()
        await wait_for(handle, PromotionState.SCHEDULED)
        return time.monotonic() - back

    await set_faults(stack, {"system": "wms", "operation": "positions", "latency_ms": 10_000})
    try:
        return await run_launch(
            stack, "worker SIGKILL mid store coverage", while_publishing=kill_during_coverage
        )
    finally:
        await clear_faults(stack)


async def calls_under_fault(stack: DrillStack, system: str, operation: str) -> int:
    """Calls the backoffice took under the fault on `system` `operation` (each counted as it
    arrives, before its latency): the call is in flight at the system itself."""
    async with ControlClient(stack.backoffice.url) as control:
        faults = await control.list_faults()
    return sum(f.calls for f in faults if (f.spec.system, f.spec.operation) == (system, operation))


async def pos_outage_before_go_live(stack: DrillStack) -> DrillResult:
    """POS refuses every call for 30 s while the launch publishes, go-live 4 minutes away:
    the publish retries until go-live minus the margin, so the launch rides it out."""

    async def outage(handle: WorkflowHandle[Any, Any]) -> float:
        started = time.monotonic()
        await wait_for(handle, PromotionState.SCHEDULED)
        return max(time.monotonic() - started - 30, 0.0)

    await set_faults(stack, {"system": "pos", "operation": "publish_prices", "outage_seconds": 30})
    try:
        return await run_launch(
            stack, "POS outage 30 s", go_live_in=timedelta(minutes=4), while_publishing=outage
        )
    finally:
        await clear_faults(stack)


FAST = [duplicate_events, worker_killed_mid_launch]
"""Run in the test suite."""
ALL = [*FAST, pos_outage_before_go_live, worker_killed_mid_store_coverage]
