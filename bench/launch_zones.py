"""A weekly ad aimed at store groups across price zones, launched to SCHEDULED.

    python bench/launch_zones.py                      # 1,000 items x 500 stores
    python bench/launch_zones.py --items 200 --stores 100

Like `launch_scale.py` (scripted systems, every channel confirms at once), but the plan
names store groups (the three regions) instead of stores, the stores sit in three price
zones with their own shelf prices, every tenth item has a price per zone and every fifth a
group offer for the hypermarkets with a higher priority. So the look-up records the groups'
members and the zone shelf prices, and POS gets one publication per (window, price set).
Figures: price sets, biggest payload (512 KiB limit), longest history (10,240 events),
status size (1 MB), approval -> SCHEDULED time; and that every store got one price per item.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from launch_scale import OFFERS, cancel_and_finish, histories, start_server, to_scheduled  # noqa: E402  (bench/ is the script folder)
from results import save  # noqa: E402
from temporalio.client import Client, WorkflowHandle  # noqa: E402

from common.config import Settings  # noqa: E402
from domain.promotion.plan import PromotionPlan, StoreFacts  # noqa: E402
from fakes.promotion import ScriptedRetail  # noqa: E402
from worker import build_worker  # noqa: E402

REGIONS = ("east", "central", "west")
ZONES = ("Z1", "Z2", "Z3")
SHELF = {"Z1": Decimal("10.80"), "Z3": Decimal("9.40")}  # Z2: the regular 10.00


def estate(stores: int) -> list[StoreFacts]:
    return [
        StoreFacts(
            store_id=f"S{n:05d}",
            region=REGIONS[n % 3],
            price_zone=ZONES[(n // 3) % 3],
            format="hypermarket" if n % 5 == 0 else "supermarket",
            store_class="A" if n % 5 == 0 else "B",
        )
        for n in range(stores)
    ]


def zoned_ad(items: int) -> PromotionPlan:
    start = datetime.now(UTC) + timedelta(days=3)
    lines: list[dict[str, Any]] = []
    for n in range(items):
        line: dict[str, Any] = {
            "item_id": f"I{n:05d}",
            "forecast_units_per_store": 2,
            "offer": OFFERS[n % 5],
        }
        if n % 10 == 0:
            line["zone_prices"] = {"Z1": "8.49", "Z2": "7.99", "Z3": "7.49"}
        if n % 5 == 1:
            line["group_offers"] = [
                {
                    "store_groups": ["format:hypermarket"],
                    "offer": {"type": "percent_off", "percent": "25"},
                    "priority": 1,
                }
            ]
        lines.append(line)
    return PromotionPlan.model_validate(
        {
            "promotion_id": f"ZONES-{uuid.uuid4().hex[:8]}",
            "name": f"zoned weekly ad: {items} items",
            "offer": OFFERS[0],
            "items": lines,
            "store_groups": [f"region:{r}" for r in REGIONS],
            "channels": ["erp", "pos", "ecommerce", "marketplace"],
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(days=3)).isoformat(),
            "submitted_by": "ana",
        }
    )


async def launch(
    client: Client, settings: Settings, plan: PromotionPlan, retail: ScriptedRetail
) -> dict[str, Any]:
    handle, policy, inp, scheduled, seconds = await to_scheduled(client, settings, plan)
    status_bytes = len(scheduled.model_dump_json())
    pos_sends = [x for x in retail.sends if x[0] == "pos" and x[1] == "publish"]
    per_store = {x[2] for x in pos_sends}
    one_price = len(pos_sends) == len(per_store) == len(scheduled.stores) and all(
        len(retail.prices[("pos", s)]) == len(plan.items) for s in per_store
    )
    await cancel_and_finish(handle, policy)
    workflows, longest, biggest = await histories(client, handle.id)
    task_s, task_event = await longest_task(handle)
    return {
        "items": len(plan.items),
        "stores": len(scheduled.stores),
        "price sets": len(scheduled.price_sets),
        "one price a store": one_price,
        "seconds to scheduled": round(seconds, 1),
        "workflows": workflows,
        "longest history": longest,
        "biggest payload KiB": round(biggest / 1024),
        "status KiB": round(status_bytes / 1024),
        "plan and policy KiB": round(len(inp.model_dump_json()) / 1024),
        "longest workflow task s": round(task_s, 2),
        "at event": task_event,
    }


async def longest_task(handle: WorkflowHandle[Any, Any]) -> tuple[float, int]:
    """The launch's longest workflow task (started to completed) and its started event id:
    the workflow code's own time per activation (the task timeout is 10 s)."""
    history = await handle.fetch_history()
    started: dict[int, float] = {}
    longest, at = 0.0, 0
    for event in history.events:
        kind = event.WhichOneof("attributes")
        if kind == "workflow_task_started_event_attributes":
            started[event.event_id] = event.event_time.ToDatetime().timestamp()
        elif kind == "workflow_task_completed_event_attributes":
            begin = event.workflow_task_completed_event_attributes.started_event_id
            if begin in started:
                took = event.event_time.ToDatetime().timestamp() - started[begin]
                if took > longest:
                    longest, at = took, begin
    return longest, at


async def main(items: int, stores: int) -> None:
    env = await start_server()
    settings = replace(Settings.from_env(), task_queue=f"bench-zones-{uuid.uuid4().hex[:6]}")
    try:
        plan = zoned_ad(items)
        retail = ScriptedRetail.for_plan(plan, estate=estate(stores), zone_shelf=SHELF)
        async with build_worker(
            env.client, settings, fakes=retail.activities(), max_concurrent_activities=100
        ):
            row = await launch(env.client, settings, plan, retail)
    finally:
        await env.shutdown()
    save(
        "launch_zones",
        rows=[row],
        headlines={
            f"zoned launch {items}x{stores}: biggest payload KiB (limit 512)": row[
                "biggest payload KiB"
            ],
            f"zoned launch {items}x{stores}: status KiB (limit 1,024)": row["status KiB"],
            f"zoned launch {items}x{stores}: longest history (limit 10,240)": row[
                "longest history"
            ],
            f"zoned launch {items}x{stores}: price sets": row["price sets"],
            f"zoned launch {items}x{stores}: longest workflow task s": row[
                "longest workflow task s"
            ],
        },
    )
    if not row["one price a store"]:
        raise SystemExit("a store was published more or less than once")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--stores", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(main(args.items, args.stores))
