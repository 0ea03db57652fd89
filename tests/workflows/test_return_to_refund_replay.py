"""Recorded ReturnToRefund histories replay against the current workflow code.

`tests/histories/return_to_refund*.json` were recorded from real runs (medium tier with a
supervisor's approval, a card that failed for good and fell back to store credit, the
restock follow-up). A change that breaks determinism fails here: put it behind
`workflow.patched`. To re-record (only for an intended, patched change):
`RECORD_HISTORIES=1 .venv/bin/python -m pytest tests/workflows/test_return_to_refund_replay.py`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from domain.returns.contract import Decision, InspectionResult, ItemReceived, workflow_id
from domain.returns.disposition import Condition
from domain.returns.request import TenderType
from domain.returns.status import ReturnState
from fakes.returns import ScriptedReturnSystems
from tests.fixtures.returns import (
    MEDIUM_SCORE,
    SUPERVISOR,
    decide,
    return_input,
    return_request,
    wait_for_state,
)
from workflows.return_to_refund import ReturnToRefund

HISTORIES = Path(__file__).resolve().parents[1] / "histories"


@pytest.mark.skipif(not os.environ.get("RECORD_HISTORIES"), reason="set RECORD_HISTORIES=1")
async def test_record_history(
    env: WorkflowEnvironment,
    run_worker: Any,
    task_queue: str,
    scripted_returns: ScriptedReturnSystems,
) -> None:
    scripted_returns.score = MEDIUM_SCORE + 10
    scripted_returns.declined_methods = {TenderType.CARD}
    request = return_request(rma_id="RMA-RECORDED-1")
    async with run_worker(env.client, fakes=scripted_returns.activities()):
        with env.with_time_skipping_disabled():
            handle = await env.client.start_workflow(
                ReturnToRefund.run,
                return_input(request),
                id=f"{workflow_id(request.rma_id)}-{task_queue}",  # re-recordable in a session
                task_queue=task_queue,
            )
        await handle.signal(ReturnToRefund.item_received, ItemReceived(receipt_id="SCAN-1"))
        await handle.signal(ReturnToRefund.item_received, ItemReceived(receipt_id="SCAN-1"))
        await handle.signal(
            ReturnToRefund.inspection_result,
            InspectionResult(inspector="ines", condition=Condition.UNOPENED),
        )
        await wait_for_state(handle, ReturnState.AWAITING_APPROVAL)
        await decide(handle, ReturnToRefund.approve, Decision(approver="sam", role=SUPERVISOR))
        await handle.result()
        history = await handle.fetch_history()
    document = _scrub(json.loads(history.to_json()))  # no machine paths in stack traces
    (HISTORIES / "return_to_refund.json").write_text(
        json.dumps(document, indent=1) + "\n", encoding="utf-8"
    )


def _scrub(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: ("" if k == "stackTrace" else _scrub(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_scrub(v) for v in node]
    return node


@pytest.mark.parametrize(
    "path", sorted(HISTORIES.glob("return_to_refund*.json")), ids=lambda p: p.name
)
async def test_recorded_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json("return-recorded", path.read_text(encoding="utf-8"))
    replayer = Replayer(workflows=[ReturnToRefund], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)
