"""The stack a drill runs on: a local Temporal dev server (from pip) as a process of its own
on a database file (so a drill can stop it, SIGTERM or SIGKILL, and start it again on that
file), a live backoffice with its ingress (a drill can stop the backoffice and start it again
on the same database and port), and the worker as its own process (so a drill can SIGKILL it)."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest, GetSystemInfoRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from common.codec import ENV_KEYS, EncryptionCodec, KeyRing, new_key
from common.config import Settings
from common.search_attributes import cli_declarations
from common.temporal import data_converter
from devstack.launch import BackofficeProcess
from devstack.processes import free_port, installed_binary

REPO = Path(__file__).resolve().parents[1]
WORKER_READY_S = 60.0
SERVER_READY_S = 60.0


@dataclass
class DevServer:
    """`temporal server start-dev` on a database file and a fixed port, started and stopped
    by its pid: `stop(signal)` then `start()` brings it back with every workflow it had."""

    port: int
    db_file: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        argv = [
            installed_binary("temporal"),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--headless",
            "--db-filename",
            str(self.db_file),
            "--log-level",
            "error",
            # WAL, synced at checkpoints: a killed process loses no committed write (only
            # a power cut could), and the drills do not wait on an fsync per transaction
            "--sqlite-pragma",
            "journal_mode=wal",
            "--sqlite-pragma",
            "synchronous=normal",
        ]
        for declaration in cli_declarations():
            argv += ["--search-attribute", declaration]
        return argv

    def _spawn(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv(), cwd=self.db_file.parent, stdout=log, stderr=subprocess.STDOUT
            )

    async def start(self) -> None:
        """Start it (on the file it had, if any); returns once it answers."""
        self._spawn()
        await self.wait_ready()

    async def wait_ready(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SERVER_READY_S
        while loop.time() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"the dev server exited ({self.process.returncode}); see {self.log_path}"
                )
            try:
                client = await Client.connect(self.address)
                await client.workflow_service.get_system_info(GetSystemInfoRequest())
                return
            except RuntimeError:
                await asyncio.sleep(0.2)  # readiness poll
        raise RuntimeError(f"the dev server did not answer in {SERVER_READY_S:.0f} s")

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 30.0) -> float:
        """Send `sig` to our server by its pid and wait for it to exit; returns the seconds
        it took (SIGKILL after `timeout_s`)."""
        started = time.monotonic()
        process = self.process
        if process is None or process.poll() is not None:
            return 0.0
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        return time.monotonic() - started


async def until(
    check: Callable[[], Awaitable[bool]], what: str, timeout_s: float, every_s: float = 0.1
) -> None:
    """Poll `check` until it holds (a condition wait); TimeoutError naming `what`. A check
    that raises counts as not yet (a server or worker being restarted answers nothing)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        try:
            if await check():
                return
        except Exception:
            pass
        await asyncio.sleep(every_s)
    raise TimeoutError(f"not {what} in {timeout_s:.0f} s")


@dataclass
class DrillStack:
    env: WorkflowEnvironment
    backoffice: BackofficeProcess
    task_queue: str
    worker_env: dict[str, str]
    workdir: Path
    server: DevServer
    previous_keys: str | None = None
    """RETAIL_CODEC_KEYS before the drill set its own (put back by `stop`)."""
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    taken: set[str] = field(default_factory=set)
    """Stores and customers a drill has used on this stack (the next drill picks others)."""

    @property
    def address(self) -> str:
        return self.env.client.service_client.config.target_host

    def settings(self) -> Settings:
        """The CLI's and activities' settings for this stack (its task queue and backoffice)."""
        return replace(
            Settings.from_env(), task_queue=self.task_queue, backoffice_url=self.backoffice.url
        )

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

    def running_workers(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in self.workers if p.poll() is None]

    def stop_backoffice(self, sig: int = signal.SIGTERM) -> None:
        """Stop the backoffice process alone (by its pid; its ingress keeps running)."""
        process = self.backoffice.process
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _spawn_backoffice(self) -> None:
        bo = self.backoffice
        pythonpath = [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(pythonpath),
            "BACKOFFICE_HOST": "127.0.0.1",
            "BACKOFFICE_PORT": str(bo.port),
            "DATABASE_URL": bo.database_url,
            "EVENT_INGRESS_URL": bo.ingress.events_url,
        }
        with open(bo.log_path, "ab") as log:
            bo.process = subprocess.Popen(
                [sys.executable, "-m", "backoffice"],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def start_backoffice_again(self) -> None:
        """The backoffice back on the same database, port and ingress; returns once healthy."""
        self._spawn_backoffice()
        await self.wait_backoffice()

    async def wait_backoffice(self, timeout_s: float = 60.0) -> None:
        import httpx

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        async with httpx.AsyncClient(timeout=2) as http:
            while loop.time() < deadline:
                if self.backoffice.process.poll() is not None:
                    raise RuntimeError(
                        f"the backoffice exited ({self.backoffice.process.returncode}); "
                        f"see {self.backoffice.log_path}"
                    )
                try:
                    if (await http.get(f"{self.backoffice.url}/health")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)  # readiness poll
        raise RuntimeError(f"the backoffice did not answer /health in {timeout_s:.0f} s")

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
        self.server.stop()
        if self.previous_keys is None:
            os.environ.pop(ENV_KEYS, None)
        else:
            os.environ[ENV_KEYS] = self.previous_keys


async def start_stack(
    workdir: Path, *, backoffice_env: dict[str, str] | None = None, label: str = "drill"
) -> DrillStack:
    """A fresh stack with its own codec key (the drill, or the simulation, is its only
    user); `backoffice_env` goes to the backoffice process (estate, pacing)."""
    key = new_key()
    previous = os.environ.get(ENV_KEYS)
    os.environ[ENV_KEYS] = f"{label}:{base64.b64encode(key).decode()}"  # for its processes
    codec = EncryptionCodec(KeyRing(active=label, keys={label: key}))
    server = DevServer(free_port(), workdir / "temporal.db", workdir / "temporal.log")
    await server.start()
    client = await Client.connect(server.address, data_converter=data_converter(codec))
    env = WorkflowEnvironment.from_client(client)
    address = server.address
    try:
        backoffice = BackofficeProcess.start(
            temporal_address=address, workdir=workdir / "backoffice", extra_env=backoffice_env
        )
    except RuntimeError:
        server.stop()
        raise
    queue = f"{label}-{uuid.uuid4().hex[:8]}"
    worker_env = dict(
        os.environ,
        TEMPORAL_ADDRESS=address,
        RETAIL_TASK_QUEUE=queue,
        BACKOFFICE_URL=backoffice.url,
        RETAIL_SHUTDOWN_GRACE_S="2",
    )
    return DrillStack(env, backoffice, queue, worker_env, workdir, server, previous)
