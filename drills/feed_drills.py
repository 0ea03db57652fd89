"""Drills on the stock feed a rebalance plans on: frozen (stale), negative and inflated.

Each plans west-region stores served by DC-WEST through the CLI's `plan_command` (a plan
file, as an operator would) against the live backoffice, with the WMS `positions` fault
making the feed wrong, and judges the run from the ledger and the WMS's true positions:
a wrong feed is refused or sent to approval with its reason, and no transfer is released
that would drive any true position negative. Each drill has its own stores (the stack's
WMS keeps what earlier drills moved).
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.wms import WmsClient
from cli import rebalance as rebalance_cli
from domain.rebalance.contract import ApprovalDecision, RebalanceResult
from domain.rebalance.screening import ExclusionReason
from domain.rebalance.status import CLOSED_STATES, RebalanceState, RebalanceStatus
from drills.invariants import Count, Verdict, count_effects
from drills.launch_drills import DrillResult, clear_faults, set_faults
from drills.stack import REPO, DrillStack, until
from fakes.identity import INBOX
from workflows.inventory_rebalance import InventoryRebalance

EXAMPLE = REPO / "examples" / "rebalance" / "periodic.json"
DC = "DC-WEST"
ITEMS = ["I0001", "I0003"]
WAIT_S = 90.0


def request_file(
    stack: DrillStack, stores: list[str], demand: int, **policy: Any
) -> tuple[str, Any]:
    """A plan file like the example's, for `stores` x ITEMS with `demand` units each,
    trusting the drills' issuer; returns (plan id, path)."""
    data = json.loads(EXAMPLE.read_text())
    plan_id = f"drill-feed-{uuid.uuid4().hex[:8]}"
    data["plan_id"] = plan_id
    data["scope"] = {"stores": stores, "items": ITEMS}
    data["need_by"] = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    data["demand_override"] = [
        {"store_id": s, "item_id": i, "units": demand} for s in stores for i in ITEMS
    ]
    data["wms_progress"] = "auto"
    data["policy"]["trust"] = json.loads(INBOX.trust().model_dump_json())
    data["policy"].update(policy)
    path = stack.workdir / f"{plan_id}.json"
    path.write_text(json.dumps(data))
    return plan_id, path


async def plan_and_wait(
    stack: DrillStack, path: Any, *states: RebalanceState
) -> tuple[Any, RebalanceStatus]:
    wf_id = await rebalance_cli.plan_command(stack.settings(), path, client=stack.env.client)
    handle = stack.env.client.get_workflow_handle_for(InventoryRebalance.run, wf_id)
    last: list[RebalanceStatus] = []

    async def reached() -> bool:
        last[:] = [await handle.query(InventoryRebalance.status)]
        return last[0].state in states or last[0].state in CLOSED_STATES

    try:
        await until(reached, "", WAIT_S, every_s=0.3)
    except TimeoutError:
        raise TimeoutError(
            f"{wf_id} not {states} in {WAIT_S:.0f} s; last {last[0] if last else None}"
        ) from None
    return handle, last[0]


def transfer_counts(plan_id: str, expected: int) -> list[Count]:
    return [
        Count(
            f"{plan_id} transfers created",
            "wms",
            "create_transfer",
            expected,
            subject_prefix=f"transfer:{plan_id}-",
        ),
        Count(
            f"{plan_id} transfers released",
            "wms",
            "release_transfer",
            expected,
            subject_prefix=f"transfer_release:{plan_id}-",
        ),
    ]


async def true_stock_not_negative(stack: DrillStack, stores: list[str], verdict: Verdict) -> None:
    """The WMS's own figures (no fault in force) for DC and stores stay at or above zero."""
    async with WmsClient(stack.backoffice.url) as wms:
        positions = await wms.positions(location_ids=[DC, *stores], item_ids=ITEMS)
    for p in positions:
        if p.on_hand < 0:
            verdict.problems.append(f"{p.location_id}/{p.item_id} on hand {p.on_hand} in the WMS")


def last_words(status: RebalanceStatus) -> str:
    return status.audit[-1].detail if status.audit else ""


def excluded_with(status: RebalanceStatus, reason: ExclusionReason) -> dict[tuple[str, str], str]:
    assert status.plan is not None
    return {
        (e.location_id, e.item_id): e.detail for e in status.plan.excluded if e.reason is reason
    }


# --------------------------------------------------------------------------- stale


async def stale_feed(stack: DrillStack) -> DrillResult:
    """The feed freezes (figures and `as_of` of the moment the fault is set, well within
    the 24 h `feed_max_age`); a first plan moves stock from DC-WEST; a second plan on the
    frozen figures must not move the same stock again."""
    name = "stale stock feed"
    verdict = Verdict()
    stores = ["S006", "S036"]
    await set_faults(
        stack,
        {"system": "wms", "operation": "positions", "stale_stock": True, "stores": [DC, *stores]},
    )
    try:
        first_id, first_path = request_file(stack, stores, 120)
        handle, first = await plan_and_wait(stack, first_path)
        result: RebalanceResult = await handle.result()
        if result.state is not RebalanceState.COMPLETED or not result.units_planned:
            verdict.problems.append(f"first plan {result.state}: expected moves completed")
        started = time.monotonic()
        second_id, second_path = request_file(stack, stores, 120)
        _, second = await plan_and_wait(stack, second_path)
        recovered = time.monotonic() - started
    finally:
        await clear_faults(stack)
    stale = excluded_with(second, ExclusionReason.STALE)
    moved = {o.item_id for o in result.outcomes if o.units_planned > 0}
    for item in moved:
        detail = stale.get((DC, item), "")
        if first_id not in detail:
            verdict.problems.append(
                f"{DC}/{item} not excluded as STALE after {first_id}: {detail!r}"
            )
    if second.state is not RebalanceState.NOTHING_TO_MOVE:
        verdict.problems.append(f"second plan {second.state}: {last_words(second)}")
    if not any(a.action == "position excluded" and "STALE" in a.detail for a in second.audit):
        verdict.problems.append("the second plan's audit does not say why positions were excluded")
    await count_effects(
        stack.backoffice.url,
        [*transfer_counts(first_id, len(first.transfers)), *transfer_counts(second_id, 0)],
        verdict,
    )
    await true_stock_not_negative(stack, stores, verdict)
    return DrillResult(name, verdict, recovered)


# --------------------------------------------------------------------------- negative


async def negative_feed(stack: DrillStack) -> DrillResult:
    """The feed reports DC-WEST's on-hand figures negated: those positions are excluded as
    NEGATIVE with the reason, nothing is shipped from them, the run ends with its reason."""
    name = "negative stock feed"
    verdict = Verdict()
    stores = ["S012", "S018"]
    plan_id, path = request_file(stack, stores, 60)
    await set_faults(
        stack, {"system": "wms", "operation": "positions", "stock_factor": -1, "stores": [DC]}
    )
    try:
        started = time.monotonic()
        _, status = await plan_and_wait(stack, path)
        recovered = time.monotonic() - started
    finally:
        await clear_faults(stack)
    negative = excluded_with(status, ExclusionReason.NEGATIVE)
    for item in ITEMS:
        if "negative figure" not in negative.get((DC, item), ""):
            verdict.problems.append(f"{DC}/{item} not excluded as NEGATIVE: {negative}")
    assert status.plan is not None
    from_dc = [m for m in status.plan.moves if m.source_id == DC]
    if from_dc:
        verdict.problems.append(f"{len(from_dc)} move(s) planned from the negative {DC}")
    if status.state not in CLOSED_STATES:
        verdict.problems.append(f"not terminal: {status.state} {last_words(status)}")
    await count_effects(
        stack.backoffice.url, transfer_counts(plan_id, len(status.plan.moves)), verdict
    )
    await true_stock_not_negative(stack, stores, verdict)
    return DrillResult(name, verdict, recovered)


# --------------------------------------------------------------------------- inflated


async def inflated_feed(stack: DrillStack) -> DrillResult:
    """Every store figure reported 20x (each still under the per-row plausibility limit):
    the small plan that results would run below the approval thresholds, but the feed is
    doubtful against demand, so it waits for approval saying so; rejected, nothing moves."""
    name = "inflated stock feed"
    verdict = Verdict()
    stores = ["S003", "S009", "S024", "S039"]
    plan_id, path = request_file(stack, stores, 10)
    await set_faults(
        stack, {"system": "wms", "operation": "positions", "stock_factor": 20, "stores": stores}
    )
    try:
        started = time.monotonic()
        handle, status = await plan_and_wait(stack, path, RebalanceState.AWAITING_APPROVAL)
        recovered = time.monotonic() - started
    finally:
        await clear_faults(stack)
    reasons = "; ".join(status.approval_reasons)
    if status.state is not RebalanceState.AWAITING_APPROVAL:
        verdict.problems.append(f"{status.state}, not waiting for approval: {last_words(status)}")
    elif "doubtful" not in reasons:
        verdict.problems.append(f"waits without saying the feed is doubtful: {reasons}")
    if status.state is RebalanceState.AWAITING_APPROVAL:
        approver = status.awaiting_roles[0]
        person = json.loads(EXAMPLE.read_text())["policy"]["approval"]["approvers"][approver][0]
        await rebalance_cli.approve_command(
            stack.settings(),
            plan_id,
            ApprovalDecision(
                approver=person, role=approver, approve=False, comment="feed looks wrong"
            ),
            client=stack.env.client,
            signer=INBOX.signer,
        )
        final: RebalanceResult = await handle.result()
        if final.state is not RebalanceState.REJECTED:
            verdict.problems.append(f"rejected plan ended {final.state}")
    await count_effects(stack.backoffice.url, transfer_counts(plan_id, 0), verdict)
    await true_stock_not_negative(stack, stores, verdict)
    return DrillResult(name, verdict, recovered)


FAST = [negative_feed, inflated_feed]
SLOW = [stale_feed]
