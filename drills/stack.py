"""The stack a drill runs on: a local Temporal dev server (from pip), a live backoffice with
its ingress, and the worker as its own process (so a drill can SIGKILL it)."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.testing import WorkflowEnvironment

from common.codec import ENV_KEYS, EncryptionCodec, KeyRing, new_key
from common.search_attributes import ALL_KEYS
from common.temporal import data_converter
from devstack.launch import BackofficeProcess
from devstack.processes import installed_binary

REPO = Path(__file__).resolve().parents[1]
WORKER_READY_S = 60.0


@dataclass
class DrillStack:
    env: WorkflowEnvironment
    backoffice: BackofficeProcess
    task_queue: str
    worker_env: dict[str, str]
    workdir: Path
    previous_keys: str | None = None
    """RETAIL_CODEC_KEYS before the drill set its own (put back by `stop`)."""
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def address(self) -> str:
        return self.env.client.service_client.config.target_host

    def _spawn_worker(self) -> tuple[subprocess.Popen[bytes], Path]:
        log_path = self.workdir / f"worker-{len(self.workers)}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, str(REPO / "worker.py")],
                cwd=REPO,
                env=self.worker_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.workers.append(process)
        return process, log_path

    async def start_worker(self) -> subprocess.Popen[bytes]:
        """A worker process; returns once it polls the drill's task queue."""
        process, log_path = self._spawn_worker()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WORKER_READY_S
        while loop.time() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the worker exited ({process.returncode}); see {log_path}")
            if await self._polling(process.pid):
                return process
            await asyncio.sleep(0.1)
        raise RuntimeError("the worker did not poll its task queue in time")

    def kill_worker(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL: no graceful shutdown, activities die mid-call."""
        process.send_signal(signal.SIGKILL)
        process.wait()

    async def _polling(self, pid: int) -> bool:
        response = await self.env.client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=self.env.client.namespace,
                task_queue=TaskQueue(name=self.task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
            )
        )
        return any(p.identity.startswith(f"{pid}@") for p in response.pollers)

    async def stop(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.backoffice.stop()
        await self.env.shutdown()
        if self.previous_keys is None:
            os.environ.pop(ENV_KEYS, None)
        else:
            os.environ[ENV_KEYS] = self.previous_keys


async def start_stack(workdir: Path) -> DrillStack:
    """A fresh stack with its own codec key (the drill is its only user)."""
    key = new_key()
    previous = os.environ.get(ENV_KEYS)
    os.environ[ENV_KEYS] = f"drill:{base64.b64encode(key).decode()}"  # for its processes
    codec = EncryptionCodec(KeyRing(active="drill", keys={"drill": key}))
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=installed_binary("temporal"),
        search_attributes=list(ALL_KEYS),
        data_converter=data_converter(codec),
        dev_server_log_level="error",
    )
    address = env.client.service_client.config.target_host
    backoffice = BackofficeProcess.start(temporal_address=address, workdir=workdir / "backoffice")
    queue = f"drill-{uuid.uuid4().hex[:8]}"
    worker_env = dict(
        os.environ,
        TEMPORAL_ADDRESS=address,
        RETAIL_TASK_QUEUE=queue,
        BACKOFFICE_URL=backoffice.url,
        RETAIL_SHUTDOWN_GRACE_S="2",
    )
    return DrillStack(env, backoffice, queue, worker_env, workdir, previous)
