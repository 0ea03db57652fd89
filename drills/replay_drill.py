"""The replay drill: a workflow code change without `workflow.patched` breaks replay of
recorded histories; behind `workflow.patched` it replays, and a workflow started on the old
code and still running completes on the new code after a worker restart.

It uses its own example workflow (`drills.replay_example`), never a product workflow: a
worker of the drill's own (in this process, on its own task queue of the drill stack's
server) runs version 1; the drill records one completed history and leaves one run waiting
for a signal; then it replays both against the unpatched and the patched change, restarts
the worker on the patched code, and lets the waiting run finish. Counted from the
histories: each order reserved and shipped exactly once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.worker import Replayer, Worker
from temporalio.workflow import NondeterminismError

from drills.invariants import Verdict
from drills.launch_drills import DrillResult
from drills.replay_example import (
    ACTIVITIES,
    CREDIT_CHECK_PATCH,
    GO,
    STAGE,
    OrderV1,
    OrderV2Patched,
    OrderV2Unpatched,
    ship,
)
from drills.stack import DrillStack

WAIT_S = 30.0


def example_worker(client: Client, queue: str, workflow: type) -> Worker:
    return Worker(client, task_queue=queue, workflows=[workflow], activities=ACTIVITIES)


async def wait_stage(handle: WorkflowHandle[Any, Any], stage: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while loop.time() < deadline:
        if await handle.query(STAGE) == stage:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{handle.id} not {stage!r} in {WAIT_S:.0f} s")


async def replays(client: Client, workflow: type, history: WorkflowHistory) -> BaseException | None:
    """The failure replaying `history` against `workflow` raises (None: it replays)."""
    replayer = Replayer(workflows=[workflow], data_converter=client.data_converter)
    try:
        await replayer.replay_workflow(history)
    except Exception as err:
        return err
    return None


def activity_counts(history: WorkflowHistory) -> dict[str, int]:
    counts: dict[str, int] = {}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            counts[name] = counts.get(name, 0) + 1
    return counts


def has_marker(history: WorkflowHistory) -> bool:
    return any(e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED for e in history.events)


async def workflow_change_replay(stack: DrillStack) -> DrillResult:
    name = "workflow change: replay, patch, restart"
    verdict = Verdict()
    client = stack.env.client
    queue = f"drill-replay-{uuid.uuid4().hex[:8]}"
    done_id, running_id, new_id = (f"drill-order-{uuid.uuid4().hex[:8]}" for _ in range(3))
    async with example_worker(client, queue, OrderV1):
        done = await client.start_workflow(OrderV1.run, done_id, id=done_id, task_queue=queue)
        await wait_stage(done, "waiting for go")
        await done.signal(GO)
        await done.result()
        running = await client.start_workflow(
            OrderV1.run, running_id, id=running_id, task_queue=queue
        )
        await wait_stage(running, "waiting for go")
    recorded = await done.fetch_history()
    partial = await running.fetch_history()
    for label, history in (("completed", recorded), ("running", partial)):
        failure = await replays(client, OrderV2Unpatched, history)
        if not isinstance(failure, NondeterminismError):
            verdict.problems.append(
                f"the unpatched change replayed the {label} history: {failure!r} "
                "(expected a NondeterminismError)"
            )
        failure = await replays(client, OrderV2Patched, history)
        if failure is not None:
            verdict.problems.append(f"the patched change broke the {label} history: {failure!r}")
    restarted = time.monotonic()
    async with example_worker(client, queue, OrderV2Patched):
        await running.signal(GO)
        old_path = await running.result()
        recovered = time.monotonic() - restarted
        fresh = await client.start_workflow(OrderV2Patched.run, new_id, id=new_id, task_queue=queue)
        await wait_stage(fresh, "waiting for go")
        await fresh.signal(GO)
        new_path = await fresh.result()
    if old_path != [f"reserved {running_id}", f"shipped {running_id}"]:
        verdict.problems.append(f"the run started on v1 took {old_path} on the new code")
    if new_path != [f"credit ok for {new_id}", f"reserved {new_id}", f"shipped {new_id}"]:
        verdict.problems.append(f"a run started on the new code took {new_path}")
    new_history = await fresh.fetch_history()
    if not has_marker(new_history):
        verdict.problems.append(f"no {CREDIT_CHECK_PATCH!r} marker in the new run's history")
    if await replays(client, OrderV2Patched, new_history) is not None:
        verdict.problems.append("the new run's history does not replay on the patched code")
    for handle in (done, running, fresh):
        counts = activity_counts(await handle.fetch_history())
        shipped = counts.get(ship.__temporal_activity_definition.name, 0)  # type: ignore[attr-defined]
        if shipped > 1:
            verdict.doubled.append(f"{handle.id} shipped {shipped} times")
        elif shipped < 1:
            verdict.lost.append(f"{handle.id} never shipped")
    return DrillResult(name, verdict, recovered)


FAST = [workflow_change_replay]
