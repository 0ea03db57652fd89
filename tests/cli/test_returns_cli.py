"""`starter.py return`: bad input refused in words with no workflow started; commands work."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from cli.common import EXIT_BAD_INPUT, EXIT_REFUSED, CommandError, InputError, load_model
from cli.returns import decide, inspect_item, open_return, receive_item, return_status
from common.config import Settings
from domain.returns.contract import (
    APPROVE,
    REJECT,
    Decision,
    InspectionResult,
    ItemReceived,
    workflow_id,
)
from domain.returns.disposition import Condition
from domain.returns.request import ReturnRequest
from domain.returns.status import ReturnState
from starter import app
from tests.fixtures.identity import DEMO_SIGNER
from tests.fixtures.returns import (
    LOSS_PREVENTION,
    MEDIUM_SCORE,
    SUPERVISOR,
    ScriptedReturnSystems,
    return_request,
    wait_for_state,
)
from workflows.return_to_refund import ReturnToRefund


def write_request(tmp_path: Path, **changes: Any) -> tuple[Path, str]:
    data = json.loads(return_request().model_dump_json())
    data.update(changes)
    path = tmp_path / "return.json"
    path.write_text(json.dumps(data))
    return path, str(data["rma_id"])


async def assert_not_started(env: WorkflowEnvironment, rma_id: str) -> None:
    with pytest.raises(RPCError, match="not found"):
        await env.client.get_workflow_handle(workflow_id(rma_id)).describe()


def test_cli_refuses_a_bad_request_naming_each_field(tmp_path: Path) -> None:
    path, _ = write_request(tmp_path, reason="bored", lines=[{"sku": "TV", "quantity": 0}])
    result = CliRunner().invoke(app, ["return", "open", str(path)])
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert "reason" in out and "'defective'" in out
    assert "lines.0.quantity" in out and "greater than 0" in out
    path, _ = write_request(tmp_path, store_id=None)
    result = CliRunner().invoke(app, ["return", "open", str(path)])
    assert result.exit_code == 2
    assert "a store return needs store_id" in " ".join(result.output.split())


def test_cli_refuses_missing_file_and_bad_options(tmp_path: Path) -> None:
    missing = CliRunner().invoke(app, ["return", "open", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    bad_role = CliRunner().invoke(
        app, ["return", APPROVE, "RMA-1", "--approver", "sam", "--role", "cashier"]
    )
    assert bad_role.exit_code == 2 and "cashier" in bad_role.output
    bad_condition = CliRunner().invoke(
        app, ["return", "inspect", "RMA-1", "--inspector", "x", "--condition", "shiny"]
    )
    assert bad_condition.exit_code == 2 and "shiny" in bad_condition.output


async def test_bad_input_starts_no_workflow(env: WorkflowEnvironment, tmp_path: Path) -> None:
    path, rma_id = write_request(
        tmp_path, customer={"customer_id": "C", "name": "A", "email": "not-an-address"}
    )
    with pytest.raises(InputError, match=r"customer.email.*not an e-mail address"):
        await open_return(Settings(), path, client=env.client)
    await assert_not_started(env, rma_id)


async def test_open_receive_inspect_approve_status_through_the_cli_functions(
    env: WorkflowEnvironment,
    run_worker: Any,
    task_queue: str,
    tmp_path: Path,
    scripted_returns: ScriptedReturnSystems,
) -> None:
    scripted_returns.score = MEDIUM_SCORE + 10  # medium: a store supervisor decides
    settings = replace(Settings(), task_queue=task_queue)
    path, rma_id = write_request(tmp_path)
    async with run_worker(env.client, fakes=scripted_returns.activities()):
        with env.with_time_skipping_disabled():
            wid = await open_return(settings, path, client=env.client)
        assert wid == workflow_id(rma_id)
        with pytest.raises(CommandError, match="already runs as workflow") as again:
            await open_return(settings, path, client=env.client)
        assert again.value.code == EXIT_REFUSED
        with pytest.raises(CommandError, match="no such return") as unknown:
            await return_status(settings, "RMA-does-not-exist", client=env.client)
        assert unknown.value.code == EXIT_BAD_INPUT

        await receive_item(settings, rma_id, ItemReceived(receipt_id="S-1"), client=env.client)
        await inspect_item(
            settings,
            wid,
            InspectionResult(inspector="ines", condition=Condition.OPENED),
            client=env.client,
        )
        await wait_for_state(env.client.get_workflow_handle(wid), ReturnState.AWAITING_APPROVAL)
        status = await return_status(settings, rma_id, client=env.client)
        assert status.awaiting_role == [SUPERVISOR]
        refusal = f"approve refused: role {LOSS_PREVENTION.value} cannot"
        with pytest.raises(CommandError, match=refusal) as refused_role:
            await decide(
                settings,
                rma_id,
                ReturnToRefund.approve,
                Decision(approver="lee", role=LOSS_PREVENTION),
                client=env.client,
            )
        assert refused_role.value.code == EXIT_REFUSED
        with pytest.raises(CommandError, match="unsigned and this policy accepts only signed"):
            await decide(
                settings,
                rma_id,
                ReturnToRefund.approve,
                Decision(approver="sam", role=SUPERVISOR),
                client=env.client,
            )
        after = await decide(
            settings,
            rma_id,
            ReturnToRefund.approve,
            Decision(approver="sam", role=SUPERVISOR),
            client=env.client,
            signer=DEMO_SIGNER,
        )
        assert any(a.issuer == "demo-inbox" and a.token_id for a in after.audit)
        assert after.state is not ReturnState.AWAITING_APPROVAL
        final = await env.client.get_workflow_handle_for(ReturnToRefund.run, wid).result()
        address = env.client.service_client.config.target_host
        shown = await asyncio.to_thread(
            CliRunner().invoke,
            app,
            ["--address", address, "return", "status", rma_id, "--watch", "--interval", "0.2"],
        )
        refused = await asyncio.to_thread(
            CliRunner().invoke,
            app,
            [
                "--address",
                address,
                "return",
                REJECT,
                rma_id,
                "--approver",
                "sam",
                "--role",
                SUPERVISOR.value,
            ],
        )
    assert final.state is ReturnState.CLOSED
    assert shown.exit_code == 0, shown.output
    assert "CLOSED" in shown.output and "awaiting" not in shown.output
    assert SUPERVISOR.value not in shown.output or APPROVE not in shown.output
    assert refused.exit_code == 2
    assert "this return is closed (CLOSED): nothing to change" in " ".join(refused.output.split())


@pytest.mark.parametrize(
    "path",
    sorted((Path(__file__).resolve().parents[2] / "examples" / "returns").glob("*.json")),
    ids=lambda p: p.name,
)
def test_examples_parse_and_the_invalid_one_is_refused(path: Path) -> None:
    if path.name.startswith("invalid"):
        with pytest.raises(InputError) as err:
            load_model(path, ReturnRequest)
        assert {"rma_id", "reason", "customer.email", "lines.0.quantity"} <= {
            field for field, _ in err.value.problems
        }
    else:
        assert load_model(path, ReturnRequest).lines
