"""Process faults: the worker SIGKILLed mid-rebalance and mid-refund, the dev server stopped
(SIGTERM, SIGKILL) and restarted on its database file, the backoffice down for 60 s. Each
lands its fault while the flow is in flight (and says so when it did not), then counts every
effect in the backoffice ledger; the time to recover runs from the fault's end (the worker,
the server or the backoffice back) to the interrupted flows moving on."""

from __future__ import annotations

import asyncio
import functools
import signal
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from domain.promotion.status import PromotionState
from domain.rebalance.status import CLOSED_STATES, RebalanceState
from domain.returns.status import LegState, ReturnState
from drills.invariants import Verdict
from drills.launch_drills import DrillResult, clear_faults, set_faults, wait_for
from drills.process_flows import (
    WAIT_S,
    LaunchCase,
    ReturnCase,
    bring_in,
    check_rebalance,
    check_return,
    close_launch,
    ledger_count,
    open_return,
    rebalance_status,
    refunds_done,
    return_status,
    split_tender_return,
    start_launch,
    start_rebalance,
    wait_rebalance,
    wait_return,
)
from drills.stack import DrillStack, until
from workflows.promotion_launch import PromotionLaunch

SLOW_MS = 1500
"""Latency on the interrupted calls, so the fault lands with one of them in flight."""
SERVER_DOWN_S = 5.0
BACKOFFICE_DOWN_S = 60.0
MOVED_ON = (ReturnState.REFUNDED, ReturnState.PARTIALLY_REFUNDED, ReturnState.CLOSED)
"""A return past its refund saga."""
IN_FLIGHT = (PromotionState.PREPARING, PromotionState.PUBLISHING)
PAST_PUBLISHING = (
    PromotionState.SCHEDULED,
    PromotionState.LIVE,
    PromotionState.FAILED,
    PromotionState.CANCELLED,
)


Drill = Callable[[DrillStack], Awaitable[DrillResult]]


def reported(drill: Drill) -> Drill:
    """A drill that cannot finish (a wait timed out, a process would not start) fails in
    the table with its reason, and the next drill still finds a worker polling."""

    @functools.wraps(drill)
    async def run(stack: DrillStack) -> DrillResult:
        try:
            return await drill(stack)
        except Exception as err:  # the drill's own failure, reported, not raised
            name = drill.__name__.replace("_", " ")
            result = DrillResult(name, Verdict(problems=[f"did not finish: {err!r}"]), None)
        # the stack whole again for the next drill: server, backoffice, a worker
        if stack.server.process is None or stack.server.process.poll() is not None:
            await stack.server.start()
        if stack.backoffice.process.poll() is not None:
            await stack.start_backoffice_again()
        if not stack.running_workers():
            await stack.start_worker()
        return result

    return run


def kill_workers(stack: DrillStack) -> None:
    for process in stack.running_workers():
        stack.kill_worker(process)


def slow_refunds(case: ReturnCase) -> list[dict[str, object]]:
    return [
        {"system": "pos", "operation": f"refund.{method.value}", "latency_ms": SLOW_MS}
        for method in sorted(set(case.tender_types))
    ]


@reported
async def worker_killed_mid_rebalance(stack: DrillStack) -> DrillResult:
    """SIGKILL while the release activity creates and releases the transfers (each WMS create
    slowed), then a new worker: every transfer exactly once, the plan completes."""
    verdict = Verdict()
    await set_faults(
        stack, {"system": "wms", "operation": "create_transfer", "latency_ms": SLOW_MS // 5}
    )
    try:
        case = await start_rebalance(stack)
        prefix = f"transfer:{case.transfer_prefix}"

        async def some_created() -> bool:
            return await ledger_count(stack, system="wms", subject_prefix=prefix) >= 2

        await until(some_created, "two transfers created", WAIT_S)
        planned = len((await rebalance_status(case)).transfers)
        kill_workers(stack)
        created = await ledger_count(stack, system="wms", subject_prefix=prefix)
        if created >= planned:
            verdict.problems.append(f"the kill came after the release ({created}/{planned})")
    finally:
        await clear_faults(stack)
    back = time.monotonic()
    await stack.start_worker()
    await wait_rebalance(case, RebalanceState.IN_PROGRESS, *CLOSED_STATES)
    recovered = time.monotonic() - back
    await check_rebalance(stack, case, verdict)
    return DrillResult(f"worker SIGKILL mid-rebalance ({planned} transfers)", verdict, recovered)


@reported
async def worker_killed_mid_refund(stack: DrillStack) -> DrillResult:
    """SIGKILL with the first tender refunded and the next refund call in flight, then a new
    worker: each tender refunded exactly once, the return closes."""
    verdict = Verdict()
    case = await open_return(stack, await split_tender_return(stack))
    legs = len(case.allocations)
    await set_faults(stack, *slow_refunds(case))
    try:
        await bring_in(stack, case)

        async def next_leg_called() -> bool:
            # the first refund in the ledger and in the workflow: the next leg's call is out
            status = await return_status(case)
            recorded = status.tenders and status.tenders[0].state is not LegState.PENDING
            return bool(recorded) and await refunds_done(stack, case) >= 1

        await until(next_leg_called, "the first tender refunded", WAIT_S)
        kill_workers(stack)
        done = await refunds_done(stack, case)
        if done >= legs:
            verdict.problems.append(f"the kill came after the last refund ({done}/{legs})")
    finally:
        await clear_faults(stack)
    back = time.monotonic()
    await stack.start_worker()
    await wait_return(case, *MOVED_ON)
    recovered = time.monotonic() - back
    await check_return(stack, case, verdict)
    return DrillResult(f"worker SIGKILL mid-refund ({legs} tenders)", verdict, recovered)


async def _mid_flight_words(stack: DrillStack, launch: LaunchCase, ret: ReturnCase) -> list[str]:
    """Whether the launch still prepares or publishes and the return still refunds (a fault
    that lands after them is no drill): the problems, in words."""
    problems = []
    launch_state = (await launch.handle.query(PromotionLaunch.status)).state
    if launch_state not in IN_FLIGHT:
        problems.append(f"the fault came with the launch {launch_state.value}, not publishing")
    ret_state = (await return_status(ret)).state
    done = await refunds_done(stack, ret)
    if ret_state is not ReturnState.REFUNDING or done >= len(ret.allocations):
        problems.append(
            f"the fault came with the return {ret_state.value} ({done} refunds), not refunding"
        )
    return problems


async def _launch_and_return(
    stack: DrillStack, go_live_in: timedelta
) -> tuple[LaunchCase, ReturnCase]:
    """A return waiting for its item, then a launch approved, the POS slowed (price books
    and refunds); the item brought in: both flows in flight together."""
    ret = await open_return(stack, await split_tender_return(stack))
    await set_faults(
        stack,
        {"system": "pos", "operation": "publish_prices", "latency_ms": SLOW_MS},
        *slow_refunds(ret),
    )
    launch = await start_launch(stack, go_live_in)
    await bring_in(stack, ret)
    await wait_for(launch.handle, *IN_FLIGHT, *PAST_PUBLISHING)
    await wait_return(ret, ReturnState.REFUNDING)
    return launch, ret


async def _dev_server_stopped(stack: DrillStack, sig: signal.Signals) -> DrillResult:
    verdict = Verdict()
    launch, ret = await _launch_and_return(stack, timedelta(minutes=10))
    verdict.problems += await _mid_flight_words(stack, launch, ret)
    stopped_in = stack.server.stop(sig)
    await asyncio.sleep(SERVER_DOWN_S)  # the outage itself, not a wait for a condition
    await stack.server.start()
    back = time.monotonic()
    try:
        await wait_for(launch.handle, PromotionState.SCHEDULED)
        await wait_return(ret, *MOVED_ON)
    except TimeoutError as err:
        verdict.problems.append(str(err))
    recovered = time.monotonic() - back
    await clear_faults(stack)
    if not stack.running_workers():
        verdict.problems.append("the worker exited while the server was down")
        await stack.start_worker()
    await close_launch(stack, launch, f"dev server {sig.name}", verdict)
    await check_return(stack, ret, verdict)
    name = f"dev server {sig.name} mid-flow (exit {stopped_in:.1f} s)"
    return DrillResult(name, verdict, recovered)


@reported
async def dev_server_sigterm(stack: DrillStack) -> DrillResult:
    """The dev server stopped with SIGTERM while a launch publishes and a return refunds,
    restarted on its database file: the worker reconnects, both complete."""
    return await _dev_server_stopped(stack, signal.SIGTERM)


@reported
async def dev_server_sigkill(stack: DrillStack) -> DrillResult:
    """The same with SIGKILL: nothing flushed, nothing said to the clients."""
    return await _dev_server_stopped(stack, signal.SIGKILL)


@reported
async def backoffice_down_60s(stack: DrillStack) -> DrillResult:
    """The backoffice process stopped by its pid for 60 s while a launch three minutes from
    go-live publishes and a return refunds, then started again on the same database and
    port: the launch still goes live (retries by deadline), the refunds complete."""
    verdict = Verdict()
    launch, ret = await _launch_and_return(stack, timedelta(minutes=3))
    verdict.problems += await _mid_flight_words(stack, launch, ret)
    stack.stop_backoffice(signal.SIGTERM)
    await asyncio.sleep(BACKOFFICE_DOWN_S)  # the outage itself
    await stack.start_backoffice_again()  # faults live in memory: the latency is gone
    back = time.monotonic()
    try:
        await wait_for(launch.handle, PromotionState.SCHEDULED, PromotionState.LIVE)
        await wait_return(ret, *MOVED_ON)
    except TimeoutError as err:
        verdict.problems.append(str(err))
    recovered = time.monotonic() - back
    try:
        await wait_for(launch.handle, PromotionState.LIVE, timeout_s=240)
    except TimeoutError as err:
        verdict.problems.append(f"never went live: {err}")
    await close_launch(stack, launch, "backoffice outage", verdict)
    await check_return(stack, ret, verdict)
    return DrillResult("backoffice down 60 s (publish + refunds)", verdict, recovered)


PROCESS_FAST: list[Drill] = [dev_server_sigkill]
"""In the test suite (about 25 s with its stack). The others wait out timeouts by design: a
SIGKILLed worker's call is retried after its 30 s start-to-close or heartbeat timeout, the
backoffice outage lasts 60 s and its launch goes live three minutes out; the SIGTERM
server drill is as quick as the SIGKILL one but adds nothing the suite needs twice."""
PROCESS_ALL: list[Drill] = [
    worker_killed_mid_rebalance,
    worker_killed_mid_refund,
    dev_server_sigterm,
    dev_server_sigkill,
    backoffice_down_60s,
]
