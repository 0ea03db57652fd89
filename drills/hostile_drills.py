"""Drills on hostile input and on decisions nobody may take.

- The CLI (`starter.py` as its own process, as an operator runs it) given wrong types,
  huge files, unknown ids, injection strings and path traversal;
- the ingress given malformed, oversized and misaddressed events for a running plan;
- updates sent straight to a running launch with wrong types, huge values, unknown names;
- decisions without a token, from an untrusted issuer, forged, by someone without the role,
  signed for another run, and decisions on steps already closed.

Each case must be refused with a clear error in words (an exit code 1-3, a 4xx with the
field, an update failure), and nothing may be started or stored: no workflow started, no
effect in the ledger, no audit line, no update accepted into the history.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from adapters.control import ControlClient
from adapters.erp import ErpClient
from cli import promotion as promo
from cli import rebalance as rebalance_cli
from cli.common import CommandError, send_update
from cli.promotion_sign import signed
from domain.promotion import contract as c
from domain.promotion.status import PromotionState, PromotionStatus
from domain.rebalance.contract import WMS_EVENT, CancelRequest
from domain.rebalance.contract import workflow_id as rebalance_workflow_id
from domain.rebalance.status import RebalanceState, RebalanceStatus
from drills.feed_drills import plan_and_wait, request_file
from drills.invariants import Verdict
from drills.launch_drills import DrillResult, cancel_launch, drill_plan, drill_policy, wait_for
from drills.stack import REPO, DrillStack
from fakes.identity import INBOX, FakeInbox
from workflows.inventory_rebalance import InventoryRebalance
from workflows.promotion_launch import PromotionLaunch

SAMPLE = REPO / "examples" / "promotions" / "grocery-weekend.json"
INJECTIONS = [
    "'; DROP TABLE stores;--",
    "<script>alert(1)</script>",
    "../../../../etc/passwd",
]
HUGE_BYTES = 3_000_000
"""Over Temporal's 2 MB payload limit and the launch's own input limit."""


@dataclass
class Snapshot:
    """What must not change while hostile input is refused."""

    ledger: int
    stores: int

    @classmethod
    async def take(cls, stack: DrillStack) -> Snapshot:
        async with ControlClient(stack.backoffice.url) as control:
            ledger = (await control.ledger(limit=0)).count
        async with ErpClient(stack.backoffice.url) as erp:
            stores = len(await erp.list_stores())
        return cls(ledger, stores)

    async def unchanged(self, stack: DrillStack, verdict: Verdict) -> None:
        after = await Snapshot.take(stack)
        if after.ledger != self.ledger:
            verdict.problems.append(f"the ledger moved: {self.ledger} -> {after.ledger} effects")
        if after.stores != self.stores:
            verdict.problems.append(f"the store master changed: {self.stores} -> {after.stores}")


def failure_words(err: BaseException) -> str:
    """Every message down an update failure's cause chain ("Failed decoding arguments",
    then pydantic's words naming the field)."""
    words: list[str] = []
    cause: BaseException | None = getattr(err, "cause", None) or err
    while cause is not None and len(words) < 5:
        words.append(str(getattr(cause, "message", "") or cause))
        cause = getattr(cause, "cause", None) or cause.__cause__
    return ": ".join(words)


def refusal_ok(where: str, words: str, verdict: Verdict, *must: str) -> None:
    """A refusal in words: not a traceback, naming what `must` says."""
    if "Traceback" in words or not words.strip():
        verdict.problems.append(f"{where}: no clear error ({words[-200:]!r})")
    for needle in must:
        if needle.lower() not in words.lower():
            verdict.problems.append(f"{where}: error does not say {needle!r}: {words[-300:]!r}")


async def not_started(stack: DrillStack, workflow_id: str, verdict: Verdict, where: str) -> None:
    try:
        await stack.env.client.get_workflow_handle(workflow_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return
        raise
    verdict.problems.append(f"{where}: workflow {workflow_id} was started")


# --------------------------------------------------------------------------- the CLI


SUBPROCESS_CASES = 1
"""The first case runs `starter.py` as its own process (what an operator runs); the rest
run the same typer app in this process (one at a time, in a thread: each sets the
environment), which keeps the drill fast on a loaded machine."""


def invoke(stack: DrillStack, args: list[str]) -> tuple[int, str]:
    from typer.testing import CliRunner

    from starter import app

    env = {
        k: stack.worker_env[k] for k in ("TEMPORAL_ADDRESS", "RETAIL_TASK_QUEUE", "BACKOFFICE_URL")
    }
    result = CliRunner().invoke(app, args, env=env)
    words = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        words += f"\nTraceback: {result.exception!r}"
    return result.exit_code, words


async def run_cli(stack: DrillStack, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(REPO / "starter.py"),
        *args,
        cwd=REPO,
        env={**stack.worker_env, "COLUMNS": "200"},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(errors="replace")


def plan_file(workdir: Path, stem: str, **changes: Any) -> tuple[Path, str]:
    data = json.loads(SAMPLE.read_text())
    data["promotion_id"] = f"DRILL-HOSTILE-{uuid.uuid4().hex[:8]}"
    data.update(changes)
    path = workdir / f"{stem}.json"
    path.write_text(json.dumps(data))
    return path, c.workflow_id(str(data["promotion_id"]))


async def hostile_cli(stack: DrillStack) -> DrillResult:
    """Each starter command refuses its hostile input, exit 1-3, in words, nothing started."""
    name = "hostile CLI input"
    verdict = Verdict()
    before = await Snapshot.take(stack)
    work = stack.workdir
    wrong_types, wrong_id = plan_file(
        work, "wrong-types", stores=5, offer={"type": "percent_off", "percent": "thirty"}
    )
    huge, huge_id = plan_file(work, "huge", name="x" * HUGE_BYTES)
    scripted, scripted_id = plan_file(work, "script", items=[{"item_id": INJECTIONS[1]}])
    injected_id = plan_file(work, "injected-id", promotion_id=INJECTIONS[0])[0]
    traversal, traversal_id = plan_file(work, "traversal", stores=[INJECTIONS[2]])
    rebalance_id, rebalance_path = request_file(stack, ["S001", INJECTIONS[0]], 10)
    cases: list[tuple[str, list[str], tuple[str, ...], str | None]] = [
        ("launch, wrong types", ["promotion", "launch", str(wrong_types)], ("stores",), wrong_id),
        ("launch, 3 MB plan", ["promotion", "launch", str(huge)], ("bytes",), huge_id),
        ("launch, <script> item", ["promotion", "launch", str(scripted)], ("item",), scripted_id),
        (
            "launch, DROP TABLE id",
            ["promotion", "launch", str(injected_id)],
            ("promotion_id",),
            None,
        ),
        ("launch, ../ store", ["promotion", "launch", str(traversal)], ("stores",), traversal_id),
        ("launch, ../ plan path", ["promotion", "launch", INJECTIONS[2]], ("JSON",), None),
        (
            "launch, ../ policy path",
            ["promotion", "launch", str(SAMPLE), "--policy", "../../../../etc/shadow"],
            ("shadow", "not valid JSON"),
            None,
        ),
        (
            "approve, unknown id",
            ["promotion", "approve", "NO-SUCH-PROMOTION", "--approver", "alice"],
            ("NO-SUCH-PROMOTION",),
            None,
        ),
        (
            "approve, ../ key",
            ["promotion", "approve", "X1", "--approver", "alice", "--key", INJECTIONS[2]],
            ("key",),
            None,
        ),
        ("status, DROP TABLE id", ["promotion", "status", INJECTIONS[0]], ("DROP TABLE",), None),
        (
            "rebalance, DROP TABLE store",
            ["rebalance", "plan", str(rebalance_path)],
            ("scope.stores.1",),
            rebalance_workflow_id(rebalance_id),
        ),
        (
            "faults, unknown operation",
            ["faults", "set", "pos", "--operation", INJECTIONS[0]],
            ("operations are",),
            None,
        ),
    ]
    results = list(
        await asyncio.gather(*(run_cli(stack, *a) for _, a, _, _ in cases[:SUBPROCESS_CASES]))
    )
    for _, args, _, _ in cases[SUBPROCESS_CASES:]:
        results.append(await asyncio.to_thread(invoke, stack, args))
    for (where, _, must, wf_id), (code, words) in zip(cases, results, strict=True):
        if code not in (1, 2, 3):
            verdict.problems.append(f"{where}: exit {code}, expected a refusal (1-3)")
        refusal_ok(where, words, verdict, *must)
        if wf_id is not None:
            await not_started(stack, wf_id, verdict, where)
    await before.unchanged(stack, verdict)
    return DrillResult(name, verdict, None)  # nothing to recover from: refusals


# --------------------------------------------------------------------------- the ingress


async def waiting_plan(stack: DrillStack) -> tuple[WorkflowHandle[Any, Any], RebalanceStatus]:
    """A rebalance plan waiting for approval (every plan costs more than 1.00)."""
    _, path = request_file(
        stack,
        ["S002", "S005"],
        40,
        approval={
            **json.loads((REPO / "examples" / "rebalance" / "periodic.json").read_text())["policy"][
                "approval"
            ],
            "cost_threshold": "1",
        },
    )
    handle, status = await plan_and_wait(stack, path, RebalanceState.AWAITING_APPROVAL)
    if status.state is not RebalanceState.AWAITING_APPROVAL:
        raise RuntimeError(f"the target plan is {status.state}, not waiting for approval")
    return handle, status


async def drop_plan(stack: DrillStack, handle: WorkflowHandle[Any, Any], verdict: Verdict) -> None:
    status: RebalanceStatus = await handle.query(InventoryRebalance.status)
    role = status.awaiting_roles[0] if status.awaiting_roles else "supply_chain"
    await rebalance_cli.cancel_command(
        stack.settings(),
        status.plan_id,
        CancelRequest(requested_by="sam.supply", role=role, reason="drill over"),
        client=stack.env.client,
        signer=INBOX.signer,
    )
    if (await handle.result()).state is not RebalanceState.CANCELLED:
        verdict.problems.append("the target plan did not end CANCELLED")


async def hostile_ingress(stack: DrillStack) -> DrillResult:
    """Events the ingress must refuse (4xx naming the field), none reaching the plan."""
    name = "hostile ingress events"
    verdict = Verdict()
    handle, status = await waiting_plan(stack)
    before = await Snapshot.take(stack)
    transfer = status.transfers[0].transfer_id
    good = {"event_id": "ev-drill-1", "transfer_id": transfer, "step": "picked"}
    cases: list[tuple[str, Any, tuple[int, ...], str | None]] = [
        ("not JSON", b"{'; DROP TABLE", (400, 422), None),
        (
            "no event_id",
            {"workflow_id": handle.id, "signal": WMS_EVENT, "event": {}},
            (400,),
            "event.event_id",
        ),
        (
            "wrong types",
            {
                "workflow_id": handle.id,
                "signal": WMS_EVENT,
                "event": {**good, "transfer_id": 12, "lines": "many"},
            },
            (422,),
            "event.",
        ),
        (
            "injection in the event",
            {
                "workflow_id": handle.id,
                "signal": WMS_EVENT,
                "event": {**good, "step": INJECTIONS[0]},
            },
            (422,),
            "event.step",
        ),
        (
            "3 MB event",
            {
                "workflow_id": handle.id,
                "signal": WMS_EVENT,
                "event": {**good, "note": "x" * HUGE_BYTES},
            },
            (400, 413, 422),
            None,
        ),
        (
            "unknown workflow",
            {"workflow_id": "rebalance-no-such-plan", "signal": WMS_EVENT, "event": good},
            (404,),
            "workflow_id",
        ),
        (
            "traversal id",
            {"workflow_id": INJECTIONS[2], "signal": WMS_EVENT, "event": good},
            (404,),
            "workflow_id",
        ),
        (
            "huge workflow id",
            {"workflow_id": "w" * 10_000, "signal": WMS_EVENT, "event": good},
            (400, 422),
            "workflow_id",
        ),
    ]
    async with httpx.AsyncClient(timeout=30) as http:
        for where, body, codes, field in cases:
            if isinstance(body, bytes):
                response = await http.post(
                    stack.backoffice.ingress.events_url,
                    content=body,
                    headers={"content-type": "application/json"},
                )
            else:
                response = await http.post(stack.backoffice.ingress.events_url, json=body)
            if response.status_code not in codes:
                verdict.problems.append(
                    f"{where}: answered {response.status_code} {response.text[:200]!r}, "
                    f"expected {codes}"
                )
                continue
            answer = response.json()
            refusal_ok(where, str(answer.get("message", "")), verdict)
            if field is not None and not str(answer.get("field", "")).startswith(field):
                verdict.problems.append(f"{where}: field {answer.get('field')!r}, not {field!r}")
    after: RebalanceStatus = await handle.query(InventoryRebalance.status)
    if after.unreadable_signals or len(after.audit) != len(status.audit):
        verdict.problems.append(
            f"the plan took something in: {after.unreadable_signals} / "
            f"{[a.detail for a in after.audit[len(status.audit) :]]}"
        )
    if [t.state for t in after.transfers] != [t.state for t in status.transfers]:
        verdict.problems.append("a transfer moved on a refused event")
    await before.unchanged(stack, verdict)
    await drop_plan(stack, handle, verdict)
    return DrillResult(name, verdict, None)  # nothing to recover from: refusals


# --------------------------------------------------------------------------- updates


async def accepted_updates(handle: WorkflowHandle[Any, Any]) -> int:
    history = await handle.fetch_history()
    return sum(
        1
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    )


async def awaiting_launch(stack: DrillStack) -> tuple[Any, Any, WorkflowHandle[Any, Any]]:
    plan, policy = drill_plan(timedelta(minutes=10)), drill_policy()
    handle = await promo.launch(
        stack.settings(), "-", plan=plan, policy=policy, client=stack.env.client
    )
    await wait_for(handle, PromotionState.AWAITING_APPROVAL)
    return plan, policy, handle


async def hostile_updates(stack: DrillStack) -> DrillResult:
    """Updates with wrong types, huge values and unknown names, straight to Temporal (no
    CLI in front): refused, none accepted into the history, the audit untouched."""
    name = "hostile updates"
    verdict = Verdict()
    plan, _, handle = await awaiting_launch(stack)
    before: PromotionStatus = await handle.query(PromotionLaunch.status)
    accepted = await accepted_updates(handle)
    cases: list[tuple[str, str, Any, tuple[str, ...]]] = [
        (
            "approve, wrong types",
            c.APPROVE,
            {"approver": 123, "role": ["category_manager"]},
            ("approver", "valid string"),
        ),
        ("approve, extra field", c.APPROVE, {"approver": "alice", "admin": True}, ("admin",)),
        ("approve, not an object", c.APPROVE, INJECTIONS[0], ("Decision",)),
        (
            "approve, 1.5 MB comment",
            c.APPROVE,
            {"approver": "alice", "comment": "x" * 1_500_000},
            ("unsigned",),
        ),
        (
            "change price, negative",
            c.CHANGE_PRICE,
            {
                "requested_by": "ana",
                "offer": {"type": "percent_off", "percent": "-50"},
                "reason": INJECTIONS[1],
            },
            ("percent",),
        ),
        ("cancel, empty reason", c.CANCEL, {"requested_by": "alice", "reason": ""}, ("reason",)),
        (
            "cancel, no token",
            c.CANCEL,
            {"requested_by": "alice", "reason": INJECTIONS[0]},
            ("unsigned",),
        ),
        ("unknown update", "drop_table", {"sql": INJECTIONS[0]}, ("not found",)),
    ]
    for where, update, arg, must in cases:
        try:
            await handle.execute_update(update, arg)
        except WorkflowUpdateFailedError as err:
            refusal_ok(where, failure_words(err), verdict, *must)
        except RPCError as err:
            refusal_ok(where, err.message, verdict, *must)
        else:
            verdict.problems.append(f"{where}: accepted")
    try:  # near Temporal's 2 MB limit an update wedges the run: the CLI refuses it unsent
        await send_update(
            handle,
            PromotionLaunch.approve,
            c.Decision(approver="alice", comment="x" * HUGE_BYTES),
            what="the drill's launch",
        )
    except CommandError as err:
        refusal_ok("approve, 3 MB comment via the CLI", str(err), verdict, "before sending")
    else:
        verdict.problems.append("approve, 3 MB comment via the CLI: sent")
    after: PromotionStatus = await handle.query(PromotionLaunch.status)
    if await accepted_updates(handle) != accepted:
        verdict.problems.append("a hostile update was accepted into the history")
    if len(after.audit) != len(before.audit) or after.state is not before.state:
        verdict.problems.append(
            f"the launch changed: {after.state} {[a.detail for a in after.audit[len(before.audit) :]]}"
        )
    await promo.cancel(
        stack.settings(),
        plan.promotion_id,
        "alice",
        "drill over",
        client=stack.env.client,
        signer=INBOX.signer,
    )
    if (await handle.result()).state is not PromotionState.CANCELLED:
        verdict.problems.append("the target launch did not end CANCELLED")
    return DrillResult(name, verdict, None)  # nothing to recover from: refusals


# --------------------------------------------------------------------------- decisions


async def refused_decision(
    where: str,
    handle: WorkflowHandle[Any, Any],
    update: Any,
    arg: Any,
    verdict: Verdict,
    *must: str,
) -> None:
    try:
        await handle.execute_update(update, arg)
    except WorkflowUpdateFailedError as err:
        refusal_ok(where, str(getattr(err.cause, "message", err.cause)), verdict, *must)
    except RPCError as err:
        refusal_ok(where, err.message, verdict, *must)
    else:
        verdict.problems.append(f"{where}: accepted")


async def unauthorized_decisions(stack: DrillStack) -> DrillResult:
    """Approvals with no token, from an untrusted issuer, forged, by a person without the
    role, signed for another run; then decisions on closed steps (an approval given, a
    launch cancelled): every one refused, the audit and the ledger unchanged by them."""
    name = "unauthorized decisions"
    verdict = Verdict()
    plan, policy, handle = await awaiting_launch(stack)
    _, _, other = await awaiting_launch(stack)
    status: PromotionStatus = await handle.query(PromotionLaunch.status)
    role = status.awaiting_role or "category_manager"
    alice = policy.approver_of(role)
    rogue = FakeInbox(issuer="rogue-inbox", kid="rogue-1").signer
    decision = c.Decision(approver=alice, role=role, comment="drill")
    for_other = await signed(other, decision, INBOX.signer, policy)
    cases = [
        ("no token", decision, ("unsigned",)),
        ("untrusted issuer", await signed(handle, decision, rogue, policy), ("rogue-inbox",)),
        (
            "forged signature",
            await signed(handle, decision, INBOX.forger(), policy),
            ("signature",),
        ),
        (
            "approver without the role",
            await signed(
                handle, decision.model_copy(update={"approver": "sam"}), INBOX.signer, policy
            ),
            ("sam",),
        ),
        ("token of another run", for_other, ("workflow",)),
    ]
    before = await Snapshot.take(stack)
    audit = len(status.audit)
    for where, arg, must in cases:
        await refused_decision(where, handle, PromotionLaunch.approve, arg, verdict, *must)
    after: PromotionStatus = await handle.query(PromotionLaunch.status)
    if len(after.audit) != audit or any(a.state.value != "PENDING" for a in after.approvals):
        verdict.problems.append(f"a refused decision left a mark: {after.audit[audit:]}")
    await before.unchanged(stack, verdict)
    # closed steps: approve everything, then decide again; cancel, then act on the closed run
    await promo.approve_pending(
        stack.settings(), after, policy, signer=INBOX.signer, client=stack.env.client
    )
    scheduled = await wait_for(handle, PromotionState.SCHEDULED)
    again = await signed(handle, decision, INBOX.signer, policy, approve=False)
    await refused_decision(
        "reject after approval closed",
        handle,
        PromotionLaunch.reject,
        again.model_copy(update={"comment": "too late"}),
        verdict,
        "closed",
    )
    if len((await handle.query(PromotionLaunch.status)).audit) != len(scheduled.audit):
        verdict.problems.append("a decision on a closed approval was audited as taken")
    final = await cancel_launch(stack, handle, plan.promotion_id, name, verdict)
    closed = await Snapshot.take(stack)
    for where, call in (
        (
            "cancel a cancelled launch",
            promo.cancel(
                stack.settings(),
                plan.promotion_id,
                alice,
                "again",
                client=stack.env.client,
                signer=INBOX.signer,
            ),
        ),
        (
            "approve a cancelled launch",
            promo.decide(
                stack.settings(),
                plan.promotion_id,
                alice,
                approve=True,
                role=role,
                client=stack.env.client,
                signer=INBOX.signer,
            ),
        ),
    ):
        try:
            await call
        except CommandError as err:
            refusal_ok(where, str(err), verdict, "CANCELLED")
        else:
            verdict.problems.append(f"{where}: accepted")
    await closed.unchanged(stack, verdict)
    if len((await handle.query(PromotionLaunch.status)).audit) != len(final.audit):
        verdict.problems.append("a decision on the closed launch was audited")
    await promo.cancel(
        stack.settings(),
        other.id.removeprefix("promotion-"),
        alice,
        "drill over",
        client=stack.env.client,
        signer=INBOX.signer,
    )
    await other.result()
    return DrillResult(name, verdict, None)  # nothing to recover from: refusals


FAST = [hostile_cli, hostile_ingress, hostile_updates, unauthorized_decisions]
SLOW: list[Any] = []
