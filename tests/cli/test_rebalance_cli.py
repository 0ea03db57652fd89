"""`starter.py rebalance`: bad input refused in words with no workflow started; commands work."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from cli.common import EXIT_BAD_INPUT, CommandError, InputError
from cli.rebalance import approve_command, cancel_command, plan_command, status_command
from common.config import Settings
from domain.rebalance.contract import ApprovalDecision, CancelRequest, RebalanceRequest, workflow_id
from domain.rebalance.status import RebalanceState
from fakes.rebalance import FakeInventory
from starter import app
from tests.fixtures.identity import DEMO_KEY, DEMO_SIGNER
from tests.fixtures.rebalance import approver_of, wait_for_status

EXAMPLE = Path("examples/rebalance/periodic.json")


def write_request(tmp_path: Path, **changes: Any) -> Path:
    data = json.loads(EXAMPLE.read_text())
    data["plan_id"] = changes.pop("plan_id", f"cli-{tmp_path.name[-12:]}").replace("_", "-")
    data["need_by"] = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    data["scope"] = {"stores": ["S1", "S2"], "items": ["I1"]}
    for key, value in changes.items():
        data[key] = value
    path = tmp_path / "request.json"
    path.write_text(json.dumps(data))
    return path


async def assert_not_started(env: WorkflowEnvironment, plan_id: str) -> None:
    with pytest.raises(RPCError):
        await env.client.get_workflow_handle(workflow_id(plan_id)).describe()


def test_cli_negative_quantity_refused_in_words(tmp_path: Path) -> None:
    path = write_request(
        tmp_path, demand_override=[{"store_id": "S1", "item_id": "I1", "units": -4}]
    )
    result = CliRunner().invoke(app, ["rebalance", "plan", str(path)])
    assert result.exit_code == 2
    assert "demand_override.0.units" in result.output
    assert "greater than or equal to 0" in result.output


def test_cli_need_by_in_the_past_refused(tmp_path: Path) -> None:
    path = write_request(tmp_path, need_by="2020-01-01T00:00:00Z")
    result = CliRunner().invoke(app, ["rebalance", "plan", str(path)])
    assert result.exit_code == 2
    assert "need_by" in result.output and "is in the past" in result.output


def test_cli_naive_need_by_and_unknown_reason_refused(tmp_path: Path) -> None:
    path = write_request(tmp_path, need_by="2030-01-01T00:00:00", reason="whim")
    result = CliRunner().invoke(app, ["rebalance", "plan", str(path)])
    assert result.exit_code == 2
    assert "need_by" in result.output and "timezone-aware" in result.output
    assert "reason" in result.output


def test_cli_approver_missing_for_role_refused(tmp_path: Path) -> None:
    data = json.loads(EXAMPLE.read_text())
    policy = data["policy"]
    policy["approval"]["roles"] = ["supply_chain", "finance"]
    path = write_request(tmp_path, policy=policy)
    result = CliRunner().invoke(app, ["rebalance", "plan", str(path)])
    assert result.exit_code == 2
    assert "no approvers listed for role(s): finance" in result.output


async def test_bad_input_starts_no_workflow(env: WorkflowEnvironment, tmp_path: Path) -> None:
    settings = Settings()
    negative = write_request(
        tmp_path,
        plan_id="cli-negative",
        demand_override=[{"store_id": "S1", "item_id": "I1", "units": -1}],
    )
    with pytest.raises(InputError):
        await plan_command(settings, negative, client=env.client, check_master=False)
    await assert_not_started(env, "cli-negative")
    past = write_request(tmp_path, plan_id="cli-past", need_by="2020-01-01T00:00:00Z")
    with pytest.raises(InputError, match="is in the past"):
        await plan_command(settings, past, client=env.client, check_master=False)
    await assert_not_started(env, "cli-past")


async def test_plan_approve_status_cancel_through_the_cli_functions(
    env: WorkflowEnvironment,
    task_queue: str,
    tmp_path: Path,
    fake_inventory: FakeInventory,
) -> None:
    settings = replace(Settings(), task_queue=task_queue)
    data = json.loads(EXAMPLE.read_text())
    policy = data["policy"]
    policy["approval"]["cost_threshold"] = "1"
    path = write_request(tmp_path, policy=policy)
    request = RebalanceRequest.model_validate_json(path.read_text())
    plan_id, sam = request.plan_id, approver_of(request.policy)
    with env.with_time_skipping_disabled():
        wf_id = await plan_command(settings, path, client=env.client, check_master=False)
    assert wf_id == workflow_id(plan_id)
    with pytest.raises(CommandError, match="already runs"):
        with env.with_time_skipping_disabled():
            await plan_command(settings, path, client=env.client, check_master=False)
    handle = env.client.get_workflow_handle(wf_id)
    await wait_for_status(handle, lambda s: s.state == RebalanceState.AWAITING_APPROVAL)
    with pytest.raises(CommandError, match="unsigned and this policy accepts only signed"):
        await approve_command(
            settings,
            plan_id,
            ApprovalDecision(approver=sam, role="supply_chain"),
            client=env.client,
        )
    with pytest.raises(CommandError, match="does not hold the role"):
        await approve_command(
            settings,
            plan_id,
            ApprovalDecision(approver="eve", role="supply_chain"),
            client=env.client,
            signer=DEMO_SIGNER,
        )
    address = env.client.service_client.config.target_host
    approve = ["--address", address, "--task-queue", task_queue, "rebalance", "approve", plan_id]
    approve += ["--approver", sam, "--role", "supply_chain"]
    unsigned = await asyncio.to_thread(CliRunner().invoke, app, approve)
    assert unsigned.exit_code == 1 and "only signed" in " ".join(unsigned.output.split())
    approved = await asyncio.to_thread(
        CliRunner().invoke, app, [*approve, "--key", str(DEMO_KEY), "--comment", "ok"]
    )
    assert approved.exit_code == 0, approved.output
    status = await status_command(settings, wf_id, client=env.client)
    assert status.approvals[0].approver == sam
    entry = next(a for a in status.audit if a.action == "approved")
    assert entry.issuer == "demo-inbox" and entry.kid == "demo-inbox-1" and entry.token_id
    assert status.plan_id == plan_id
    report = await cancel_command(
        settings,
        plan_id,
        CancelRequest(requested_by=sam, reason="cli test", role="supply_chain"),
        client=env.client,
        signer=DEMO_SIGNER,
    )
    assert len(report.cancelled) == 2
    await handle.result()
    with pytest.raises(CommandError, match="no rebalance workflow") as unknown:
        await status_command(settings, "never-planned", client=env.client)
    assert unknown.value.code == EXIT_BAD_INPUT
