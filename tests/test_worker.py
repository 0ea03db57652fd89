"""The worker process starts against a local server and stops on SIGTERM / SIGINT."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.testing import WorkflowEnvironment

REPO = Path(__file__).resolve().parent.parent


async def _polling(env: WorkflowEnvironment, queue: str, pid: int) -> bool:
    response = await env.client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=env.client.namespace,
            task_queue=TaskQueue(name=queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        )
    )
    return any(p.identity.startswith(f"{pid}@") for p in response.pollers)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
async def test_worker_polls_the_task_queue_and_stops_cleanly_on_signal(
    local_env: WorkflowEnvironment, tmp_path: Path, stop_signal: signal.Signals
) -> None:
    queue = f"worker-test-{uuid.uuid4().hex[:8]}"
    env = dict(os.environ)
    env.update(
        {
            "TEMPORAL_ADDRESS": local_env.client.service_client.config.target_host,
            "RETAIL_TASK_QUEUE": queue,
            "RETAIL_SHUTDOWN_GRACE_S": "2",
        }
    )
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(REPO / "worker.py")],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(200):
            if process.poll() is not None or await _polling(local_env, queue, process.pid):
                break
            await asyncio.sleep(0.1)
        assert process.poll() is None, log_path.read_text()
        assert await _polling(local_env, queue, process.pid)
        process.send_signal(stop_signal)
        returncode = await asyncio.to_thread(process.wait, 30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = log_path.read_text()
    assert returncode == 0, output
    assert "worker stopped cleanly" in output
    assert "Traceback" not in output


def test_worker_says_in_one_line_when_temporal_is_unreachable(tmp_path: Path) -> None:
    from devstack.processes import free_port

    env = dict(os.environ, TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}")
    result = subprocess.run(
        [sys.executable, str(REPO / "worker.py")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3
    assert "Temporal is not reachable at" in result.stderr
    assert "Traceback" not in result.stderr


def test_worker_says_in_one_line_when_a_setting_cannot_be_used(tmp_path: Path) -> None:
    """A client certificate that cannot be read: one line naming it, exit 2, no traceback."""
    env = dict(
        os.environ,
        TEMPORAL_TLS_CERT=str(tmp_path / "missing-cert.pem"),
        TEMPORAL_TLS_KEY=str(tmp_path / "missing-key.pem"),
    )
    result = subprocess.run(
        [sys.executable, str(REPO / "worker.py")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "TEMPORAL_TLS_CERT=" in result.stderr and "cannot read the PEM file" in result.stderr
    assert "Traceback" not in result.stderr
