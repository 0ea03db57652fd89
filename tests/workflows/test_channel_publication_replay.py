"""Recorded ChannelFanout / ChannelPublication histories replay against the current code.

Re-record (after an intended, patched change) with:

    RECORD_HISTORIES=1 .venv/bin/python -m pytest tests/workflows/test_channel_publication_replay.py

The recorded run: a fan-out of POS (5 stores in batches of 3) and e-commerce against the
live backoffice, whose e-commerce confirmation was dropped (so the e-commerce child waits
for its deadline, reads the channel back and reconciles), and a second e-commerce child that
receives its confirmation as a `channel_ack` signal.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from common.temporal import data_converter
from domain.publication.contract import Channel, FanoutInput, workflow_id
from tests.fixtures.publication import ChannelRig, price_lines, publication_request
from workflows.channel_publication import ChannelFanout, ChannelPublication

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
FILES = {
    "fanout": HISTORIES / "channel_publication_fanout.json",
    "pos_batch": HISTORIES / "channel_publication_pos_batch.json",
    "reconciled": HISTORIES / "channel_publication_reconciled.json",
    "acked": HISTORIES / "channel_publication_acked.json",
}
RECORD = os.environ.get("RECORD_HISTORIES") == "1"


@pytest.mark.skipif(not RECORD, reason="set RECORD_HISTORIES=1 to re-record the histories")
async def test_record_histories(
    local_env: WorkflowEnvironment, run_worker: Any, channel_rig: ChannelRig, task_queue: str
) -> None:
    client = local_env.client
    lines = price_lines({"I0001": ("37.99", "30.39")})
    pos = publication_request(
        "REC-PUB-1", Channel.POS, ["S001", "S002", "S003", "S004", "S005"], lines=lines
    )
    ecommerce = publication_request(
        "REC-PUB-1", Channel.ECOMMERCE, lines=lines, ack_timeout=timedelta(seconds=2)
    )
    acked = publication_request("REC-PUB-2", Channel.ECOMMERCE, lines=lines)
    async with run_worker(client, settings=channel_rig.settings):
        async with channel_rig.backoffice.fault("ecommerce", "events", drop_rate=1.0):
            outcomes = await client.execute_workflow(
                ChannelFanout.run,
                FanoutInput(requests=[pos, ecommerce], batch_size=3),
                id="rec-fanout",
                task_queue=task_queue,
            )
        assert outcomes[1].reconciled_by_readback == 1
        outcome = await client.execute_workflow(
            ChannelPublication.run, acked, id="rec-acked", task_queue=task_queue
        )
        assert outcome.confirmed == 1 and outcome.reconciled_by_readback == 0
    ids = {
        "fanout": "rec-fanout",
        "pos_batch": workflow_id("rec-fanout", pos, 0),
        "reconciled": workflow_id("rec-fanout", ecommerce, 0),
        "acked": "rec-acked",
    }
    for name, wid in ids.items():
        history = await client.get_workflow_handle(wid).fetch_history()
        FILES[name].write_text(history.to_json())


@pytest.mark.parametrize("name", sorted(FILES))
async def test_recorded_history_replays(name: str) -> None:
    path = FILES[name]
    if not path.exists():
        pytest.fail(f"{path.name} is missing: record it with RECORD_HISTORIES=1")
    text = path.read_text()
    workflow_id = json.loads(text)["events"][0].get("workflowExecutionStartedEventAttributes", {})
    history = WorkflowHistory.from_json(str(workflow_id.get("workflowId", name)), text)
    replayer = Replayer(
        workflows=[ChannelFanout, ChannelPublication], data_converter=data_converter()
    )
    await replayer.replay_workflow(history)
