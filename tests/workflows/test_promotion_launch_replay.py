"""The recorded PromotionLaunch history replays against the current workflow code.

Re-record the current one (after an intended, patched change) with:

    RECORD_HISTORIES=1 .venv/bin/python -m pytest tests/workflows/test_promotion_launch_replay.py

The recorded run: the sample supplier-funded plan, an unauthorized approver refused, an
`approval` signal refused into the audit trail, two approvals, a price change after
approval (re-opens category_manager, republishes version 2), then the whole window on the
skipped clock: live with the sell-through monitor, revert verified, funding claimed, KPIs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from cli import promotion as cli
from cli.common import CommandError
from common.temporal import data_converter
from domain.promotion.contract import CREATE_TASKS, SignalledDecision, TasksResult
from domain.promotion.plan import Offer
from domain.promotion.status import PromotionStatus
from domain.publication.contract import SEND_BATCH, SendBatchResult
from tests.fixtures.promotion import PromoRig
from workflows.promotion_close import SETTLE_AT_END
from workflows.promotion_launch import PromotionLaunch
from workflows.promotion_prepare import COVERAGE_SUMMARIES
from workflows.promotion_publish import INLINE_BATCHES, ONE_ROUND

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
HISTORY = HISTORIES / "promotion_launch.json"
"""Recorded before the patches since: replays through their unpatched branches."""
INLINE = HISTORIES / "promotion_launch_inline.json"
"""Recorded with publication in one round and the batches one call covers run in the
launch itself, before bulk answers came back grouped (one answer a target)."""
CURRENT = HISTORIES / "promotion_launch_grouped.json"
"""Recorded with bulk sends and store tasks answered in groups (re-recorded)."""
RECORD = os.environ.get("RECORD_HISTORIES") == "1"
RECORDED_ID = "RECORDED-1"


@pytest.mark.skipif(not RECORD, reason="set RECORD_HISTORIES=1 to re-record the history")
async def test_record_history(promo_rig: PromoRig) -> None:
    rig = promo_rig
    plan = rig.plan(promotion_id=RECORDED_ID)
    handle = await rig.launch(plan)
    await rig.wait_state(handle, "AWAITING_APPROVAL")
    with pytest.raises(CommandError):
        await cli.decide(
            rig.settings,
            plan.promotion_id,
            "mallory",
            approve=True,
            client=rig.client,
            signer=rig.signer,
        )
    await handle.signal(PromotionLaunch.approval, SignalledDecision(approver="eve", approve=True))
    await rig.approve_all(handle, plan)
    await rig.wait_state(handle, "SCHEDULED")
    await cli.change_price(
        rig.settings,
        plan.promotion_id,
        "ana",
        Offer.model_validate({"type": "percent_off", "percent": "35"}),
        "competitor price",
        client=rig.client,
        signer=rig.signer,
    )
    await rig.wait_state(handle, "AWAITING_APPROVAL")
    await cli.decide(
        rig.settings, plan.promotion_id, "alice", approve=True, client=rig.client, signer=rig.signer
    )
    await rig.wait_for(
        handle,
        lambda s: s.state.value == "SCHEDULED" and all(c.version == 2 for c in s.channels),
        what="republished",
    )
    await rig.env.fast_forward(handle)
    result: PromotionStatus = await handle.result()
    assert result.state.value == "ENDED", result.reasons
    history = await handle.fetch_history()
    CURRENT.write_text(history.to_json())


@pytest.mark.parametrize("path", [HISTORY, INLINE, CURRENT], ids=lambda p: p.stem)
async def test_recorded_history_replays_against_current_code(path: Path) -> None:
    if not path.exists():
        pytest.fail(f"{path.name} is missing: record it with RECORD_HISTORIES=1")
    history = WorkflowHistory.from_json(f"promotion-{RECORDED_ID}", path.read_text())
    replayer = Replayer(workflows=[PromotionLaunch], data_converter=data_converter())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


@pytest.mark.parametrize("patch_id", [SETTLE_AT_END, COVERAGE_SUMMARIES, INLINE_BATCHES])
async def test_the_same_change_without_its_patch_would_break_the_recorded_run(
    patch_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why the changes since the recording sit behind `workflow.patched`: taken as if every
    run had them (the patch answering yes in a history recorded before it), the recorded
    run no longer replays, as a launch running at the deploy would fail."""
    failure = await replay_forcing(HISTORY, patch_id, True, monkeypatch)
    assert isinstance(failure, NondeterminismError), failure


@pytest.mark.parametrize("patch_id", [ONE_ROUND, INLINE_BATCHES])
async def test_the_current_recording_needs_each_of_its_patches(
    patch_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other way round: the run recorded with the newest patches, replayed as if one of
    them answered no, takes the branch of the runs before and no longer replays; so each
    patch guards a change of commands, and both branches stay until no run needs the old."""
    failure = await replay_forcing(CURRENT, patch_id, False, monkeypatch)
    assert isinstance(failure, NondeterminismError), failure


async def replay_forcing(
    path: Path, patch_id: str, answer: bool, monkeypatch: pytest.MonkeyPatch
) -> Exception | None:
    """Replay the history at `path` with `workflow.patched(patch_id)` answering `answer`;
    the replay's failure, if any."""
    history = WorkflowHistory.from_json(f"promotion-{RECORDED_ID}", path.read_text())
    patched = workflow.patched
    monkeypatch.setattr(
        workflow, "patched", lambda pid: answer if pid == patch_id else patched(pid)
    )
    replayer = Replayer(workflows=[PromotionLaunch], data_converter=data_converter())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    return result.replay_failure


async def test_the_current_recording_holds_grouped_answers() -> None:
    """The newest recording is the one that replays the grouped shapes: every bulk send and
    store task creation in it answered in groups (the older recordings answer one entry a
    target and still replay, above)."""
    history = WorkflowHistory.from_json(f"promotion-{RECORDED_ID}", CURRENT.read_text())
    kinds: dict[int, str] = {}
    answered: dict[str, list[bool]] = {SEND_BATCH.name: [], CREATE_TASKS.name: []}
    converter = data_converter()
    for event in history.events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            kinds[event.event_id] = (
                event.activity_task_scheduled_event_attributes.activity_type.name
            )
        if event.HasField("activity_task_completed_event_attributes"):
            done = event.activity_task_completed_event_attributes
            kind = kinds[done.scheduled_event_id]
            if kind in answered:
                result_type = SendBatchResult if kind == SEND_BATCH.name else TasksResult
                [result] = await converter.decode(done.result.payloads, [result_type])
                answered[kind].append(bool(result.groups) and not getattr(result, "sends", []))
    assert answered[SEND_BATCH.name] and all(answered[SEND_BATCH.name])
    assert answered[CREATE_TASKS.name] and all(answered[CREATE_TASKS.name])
