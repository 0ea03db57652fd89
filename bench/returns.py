"""Returns benchmark: low-tier returns completed per second on a local dev server.

    python bench/returns.py                 # 1,000 low-tier returns
    python bench/returns.py --count 200     # a smaller batch
    python bench/returns.py --encrypted     # the same with the AES-GCM payload codec

Starts its own `temporal server start-dev` (the pip-installed binary, in-memory), one worker
built from the worker's registry (`worker.build_worker`) with the scripted systems of
`fakes/returns.py` answering at once (the figure is the orchestration's cost, not the
backoffice's), and for a baseline in the same run the same number of no-op workflows. Each return is opened, its item received and inspected at once
(store scan), scored low, refunded over a split tender and closed.

Prints: returns/s, no-op workflows/s, the ratio, and p50/p95 of receipt -> refunded as the
workflow measured it (`receipt_to_refund_seconds` in its status).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from temporalio import workflow
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from common.codec import EncryptionCodec, KeyRing, new_key, with_codec
from common.config import Settings
from common.search_attributes import ALL_KEYS
from devstack.processes import installed_binary
from domain.returns.contract import InspectionResult, ItemReceived, ReturnInput, workflow_id
from domain.returns.disposition import Condition
from domain.returns.request import ReturnRequest
from domain.returns.status import ReturnState, ReturnStatus
from fakes.returns import ScriptedReturnSystems, two_shirts_split_tender
from worker import build_worker
from workflows.return_to_refund import ReturnToRefund


@workflow.defn(sandboxed=False)
class BenchNoop:
    @workflow.run
    async def run(self, n: int) -> int:
        return n


def instant_systems() -> ScriptedReturnSystems:
    """Low fraud score, every tender refunds, nothing recorded: the orchestration's cost."""
    return ScriptedReturnSystems(
        score=5, purchased_days_ago=3, sale=two_shirts_split_tender, record=False
    )


def request(n: int, run: str) -> ReturnInput:
    return ReturnInput(
        request=ReturnRequest.model_validate(
            {
                "rma_id": f"BENCH-{run}-{n:05d}",
                "order_id": f"O{n:05d}",
                "channel": "store",
                "store_id": "S001",
                "reason": "size",
                "customer": {
                    "customer_id": "C-1",
                    "name": "Bench Customer",
                    "email": f"bench{n}@example.com",
                },
                "lines": [{"sku": "SHIRT", "quantity": 2}],
            }
        )
    )


async def one_return(
    client: Client, queue: str, n: int, run: str, gate: asyncio.Semaphore
) -> ReturnStatus:
    async with gate:
        inp = request(n, run)
        handle = await client.start_workflow(
            ReturnToRefund.run, inp, id=workflow_id(inp.request.rma_id), task_queue=queue
        )
        await handle.signal(ReturnToRefund.item_received, ItemReceived(receipt_id=f"SCAN-{n}"))
        await handle.signal(
            ReturnToRefund.inspection_result,
            InspectionResult(inspector="bench", condition=Condition.UNOPENED),
        )
        return await handle.result()


async def one_noop(client: Client, queue: str, n: int, run: str, gate: asyncio.Semaphore) -> int:
    async with gate:
        return await client.execute_workflow(
            BenchNoop.run, n, id=f"bench-noop-{run}-{n}", task_queue=queue
        )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def workflow_runner(sandbox: str) -> SandboxedWorkflowRunner:
    """`package`: the default sandbox, as worker.py runs it: a run re-imports its own
    module and the (empty) `workflows/__init__.py`. `isolated`: the other workflow modules
    are also passed through from the host explicitly (the figure `package` should match
    since `workflows/registry.py` holds the list)."""
    if sandbox == "package":
        return SandboxedWorkflowRunner()
    from workflows.registry import ALL_WORKFLOWS

    siblings = {cls.__module__ for cls in ALL_WORKFLOWS} - {ReturnToRefund.__module__}
    restrictions = SandboxRestrictions.default.with_passthrough_modules(*sorted(siblings))
    return SandboxedWorkflowRunner(restrictions=restrictions)


async def main(count: int, concurrency: int, encrypted: bool, sandbox: str) -> None:
    converter = pydantic_data_converter
    if encrypted:
        ring = KeyRing(active="bench", keys={"bench": new_key()})
        converter = with_codec(pydantic_data_converter, EncryptionCodec(ring))
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=installed_binary("temporal"),
        search_attributes=list(ALL_KEYS),
        data_converter=converter,
        dev_server_log_level="error",
    )
    run = uuid.uuid4().hex[:6]
    queue = f"bench-returns-{run}"
    try:
        async with build_worker(
            env.client,
            replace(Settings.from_env(), task_queue=queue),
            fakes=instant_systems().activities(),
            extra_workflows=[BenchNoop],
            max_concurrent_activities=200,
            workflow_runner=workflow_runner(sandbox),
        ):
            gate = asyncio.Semaphore(concurrency)
            # warm up (first workflow tasks, sandbox imports)
            await asyncio.gather(
                *(one_noop(env.client, queue, -i - 1, run, gate) for i in range(5))
            )
            started = time.perf_counter()
            await asyncio.gather(*(one_noop(env.client, queue, i, run, gate) for i in range(count)))
            noop_s = time.perf_counter() - started

            started = time.perf_counter()
            results = await asyncio.gather(
                *(one_return(env.client, queue, i, run, gate) for i in range(count))
            )
            returns_s = time.perf_counter() - started
    finally:
        await env.shutdown()

    closed = sum(1 for r in results if r.state is ReturnState.CLOSED)
    refunded = sum((r.refunded_total for r in results), Decimal("0"))
    latencies = [r.receipt_to_refund_seconds or 0.0 for r in results]
    returns_rate = count / returns_s
    noop_rate = count / noop_s
    print(
        f"returns bench: sandbox {sandbox}, {count} low-tier returns, concurrency {concurrency}, "
        f"{'AES-GCM codec' if encrypted else 'no codec'}, local dev server, instant systems"
    )
    print(f"  closed {closed}/{count}, refunded {refunded}")
    print(f"  returns completed/s     {returns_rate:8.1f}  ({returns_s:.1f} s)")
    print(f"  no-op workflows/s       {noop_rate:8.1f}  ({noop_s:.1f} s)  baseline")
    print(f"  ratio returns/no-op     {returns_rate / noop_rate:8.2f}")
    print(f"  receipt->refunded p50   {statistics.median(latencies) * 1000:8.0f} ms")
    print(f"  receipt->refunded p95   {pct(latencies, 0.95) * 1000:8.0f} ms")


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument(
        "--concurrency", type=int, default=50, help="returns in flight at once (default 50)"
    )
    parser.add_argument("--encrypted", action="store_true", help="use the payload codec")
    parser.add_argument(
        "--sandbox",
        choices=("isolated", "package"),
        default="isolated",
        help="isolated: sibling workflow modules passed through explicitly (default); "
        "package: the default sandbox, as worker.py runs it",
    )
    args = parser.parse_args(argv)
    if args.count < 1 or args.concurrency < 1:
        parser.error("--count and --concurrency must be at least 1")
    asyncio.run(main(args.count, args.concurrency, args.encrypted, args.sandbox))


if __name__ == "__main__":
    cli()
