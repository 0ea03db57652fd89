"""The returns surge's processes: Temporal dev server, backoffice + ingress, the workers.

Every process is started here and stopped by its pid; ports are picked free at run time.
The dev server is started directly (not through `WorkflowEnvironment`) so that its pid,
and so its CPU time, is known.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from temporalio.client import Client

from common.search_attributes import cli_declarations
from common.temporal import data_converter
from devstack.launch import BackofficeProcess
from devstack.processes import free_port, installed_binary

HERE = Path(__file__).resolve().parent


def _stop(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Stack:
    """Temporal dev server (in memory) and a backoffice seeded with `estate_doc`."""

    def __init__(self, work: Path, estate_doc: dict[str, Any]) -> None:
        self.work = work
        port = free_port()
        self.address = f"127.0.0.1:{port}"
        argv = [installed_binary("temporal"), "server", "start-dev", "--ip", "127.0.0.1"]
        argv += ["--port", str(port), "--headless", "--log-level", "error"]
        for declaration in cli_declarations():
            argv += ["--search-attribute", declaration]
        with open(work / "temporal.log", "wb") as log:
            self.temporal = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        (work / "estate.json").write_text(json.dumps(estate_doc))
        self.backoffice: BackofficeProcess | None = None
        self._client: Client | None = None

    async def up(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                await Client.connect(self.address)
                break
            except RuntimeError:
                if time.monotonic() > deadline or self.temporal.poll() is not None:
                    raise RuntimeError(f"the dev server did not start: see {self.work}") from None
                await asyncio.sleep(0.2)  # readiness poll
        self._client = await Client.connect(self.address, data_converter=data_converter())
        self.backoffice = await asyncio.to_thread(
            BackofficeProcess.start,
            temporal_address=self.address,
            extra_env={
                "BACKOFFICE_LOG_LEVEL": "error",
                "BACKOFFICE_ESTATE": str(self.work / "estate.json"),
            },
            ready_timeout_s=300,
            workdir=self.work,
        )

    @property
    def client(self) -> Client:
        assert self._client is not None
        return self._client

    @property
    def bo(self) -> BackofficeProcess:
        assert self.backoffice is not None
        return self.backoffice

    def pids(self) -> dict[str, int]:
        return {
            "temporal": self.temporal.pid,
            "backoffice": self.bo.process.pid,
            "ingress": self.bo.ingress.process.pid,
        }

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "TEMPORAL_ADDRESS": self.address,
            "BACKOFFICE_URL": self.bo.url,
            "PYTHONPATH": str(HERE.parent),
        }

    def down(self) -> None:
        if self.backoffice is not None:
            self.backoffice.stop()
        _stop(self.temporal)


class WorkerProcess:
    """`returns_worker.py` on its own task queue."""

    def __init__(self, stack: Stack, name: str) -> None:
        self.name = name
        self.queue = f"bench-returns-{name}-{uuid.uuid4().hex[:6]}"
        self.out = stack.work / f"worker-{name}.json"
        argv = [sys.executable, str(HERE / "returns_worker.py"), "--task-queue", self.queue]
        argv += ["--out", str(self.out)]
        with open(stack.work / f"worker-{name}.log", "wb") as log:
            self.process = subprocess.Popen(
                argv, env=stack.env(), stdout=log, stderr=subprocess.STDOUT
            )
        self.peak_rss_mib: float | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    async def ready(self) -> None:
        deadline = time.monotonic() + 60
        while not self.out.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {self.name} worker did not start: see {self.out.parent}")
            await asyncio.sleep(0.1)  # readiness poll

    def stop(self) -> None:
        _stop(self.process, timeout=60)
        if self.out.exists():
            self.peak_rss_mib = json.loads(self.out.read_text()).get("peak_rss_mib")
