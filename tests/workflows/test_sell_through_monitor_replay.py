"""Recorded SellThroughMonitor histories replay against the current workflow code.

Re-record (after an intended, patched change) with:

    RECORD_HISTORIES=1 .venv/bin/python -m pytest tests/workflows/test_sell_through_monitor_replay.py

Recorded runs against the live backoffice's POS:

* ``sell_through_monitor_decide.json``: a markdown outside the policy bounds awaits
  ``decide``; a decision by an unauthorized role is refused (and absent from history), the
  category manager approves, the markdown is published to the region's price books.
* ``sell_through_monitor_continued.json``: the first run of a monitor that applies a
  markdown automatically and continues-as-new after two checks.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
from temporalio.client import WorkflowHandle, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from common.temporal import data_converter
from domain.publication.prices import PriceLine
from domain.sellthrough.contract import Decision, MonitorInput, MonitorSummary, workflow_id
from domain.sellthrough.policy import MonitorPolicy
from domain.sellthrough.status import Recommendation
from tests.fixtures.publication import ChannelRig, wait_until
from workflows.channel_publication import ChannelPublication
from workflows.sell_through_monitor import SellThroughMonitor

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
DECIDE = HISTORIES / "sell_through_monitor_decide.json"
CONTINUED = HISTORIES / "sell_through_monitor_continued.json"
RECORD = os.environ.get("RECORD_HISTORIES") == "1"


async def _decide(handle: WorkflowHandle[Any, Any], decision: Decision) -> Recommendation:
    """`decide` by typed reference (the SDK types a named async update's result as the
    coroutine, so the result is cast back)."""
    result: Any = await handle.execute_update(SellThroughMonitor.decide, decision)
    return cast(Recommendation, result)


def _input(promotion_id: str, auto_pct: str, checks_per_run: int) -> MonitorInput:
    starts = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    return MonitorInput(
        promotion_id=promotion_id,
        items=[
            PriceLine(
                item_id="I0002",
                regular_price=Decimal("20.00"),
                promo_price=Decimal("16.00"),
                offer="20% off",
            )
        ],
        stores_by_region={"west": ["S003", "S006"], "east": ["S001"]},
        forecast_units={"west": {"I0002": 1_000_000}},
        starts_at=starts,
        ends_at=starts + timedelta(hours=5),
        policy=MonitorPolicy(
            check_interval=timedelta(hours=1),
            auto_markdown_max_pct=Decimal(auto_pct),
            max_markdown_pct=Decimal("40"),
            checks_per_run=checks_per_run,
        ),
    )


@pytest.mark.skipif(not RECORD, reason="set RECORD_HISTORIES=1 to re-record the histories")
async def test_record_histories(
    local_env: WorkflowEnvironment,
    env: WorkflowEnvironment,
    run_worker: Any,
    channel_rig: ChannelRig,
    monitor_rig: ChannelRig,
    task_queue: str,
) -> None:
    client = local_env.client
    data = _input("REC-ST-1", auto_pct="10", checks_per_run=50)
    async with run_worker(client, settings=channel_rig.settings):
        handle = await client.start_workflow(
            SellThroughMonitor.run, data, id=workflow_id(data.promotion_id), task_queue=task_queue
        )

        async def awaiting() -> MonitorSummary | None:
            status = await handle.query(SellThroughMonitor.status)
            return status if status.awaiting else None

        [rec] = (await wait_until(awaiting)).awaiting
        decision = Decision(recommendation_id=rec.id, approve=True, by="olga", role="store_ops")
        with pytest.raises(WorkflowUpdateFailedError):
            await _decide(handle, decision)
        await _decide(
            handle,
            decision.model_copy(update={"by": "carla", "role": "category_manager"}),
        )
        await handle.terminate("recorded")
    DECIDE.write_text((await handle.fetch_history()).to_json())

    data = _input("REC-ST-2", auto_pct="40", checks_per_run=2)
    async with run_worker(env.client, settings=monitor_rig.settings):
        handle = await env.client.start_workflow(
            SellThroughMonitor.run, data, id=workflow_id(data.promotion_id), task_queue=task_queue
        )
        first_run = handle.result_run_id
        await handle.result()
    first = env.client.get_workflow_handle(workflow_id(data.promotion_id), run_id=first_run)
    CONTINUED.write_text((await first.fetch_history()).to_json())


@pytest.mark.parametrize("path", [DECIDE, CONTINUED], ids=lambda p: p.stem)
async def test_recorded_history_replays(path: Path) -> None:
    if not path.exists():
        pytest.fail(f"{path.name} is missing: record it with RECORD_HISTORIES=1")
    text = path.read_text()
    started = json.loads(text)["events"][0].get("workflowExecutionStartedEventAttributes", {})
    history = WorkflowHistory.from_json(str(started.get("workflowId", path.stem)), text)
    replayer = Replayer(
        workflows=[SellThroughMonitor, ChannelPublication], data_converter=data_converter()
    )
    await replayer.replay_workflow(history)
