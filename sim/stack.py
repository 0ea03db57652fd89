"""The stack a simulated week runs on: a Temporal dev server (from pip), the backoffice on
SQLite seeded with the week's estate, its ingress, and one worker process. Free ports,
a throwaway payload key, every process stopped by its pid (`drills.stack.DrillStack.stop`)."""

from __future__ import annotations

import base64
import json
import os
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from common.codec import ENV_KEYS, EncryptionCodec, KeyRing, new_key
from common.config import Settings
from common.search_attributes import ALL_KEYS
from common.temporal import data_converter
from devstack.launch import BackofficeProcess
from devstack.processes import installed_binary
from drills.stack import DrillStack

BACKOFFICE_PACING = {
    "BACKOFFICE_WMS_STEP_S": "1.0",
    "BACKOFFICE_CONFIRM_DELAY_S": "0.3",
    "BACKOFFICE_TICK_S": "0.2",
}


def write_estate(workdir: Path, estate: dict[str, Any]) -> Path:
    """The estate document in `workdir` (and the backoffice's folder beside it)."""
    (workdir / "backoffice").mkdir(parents=True, exist_ok=True)
    path = workdir / "estate.json"
    path.write_text(json.dumps(estate))
    return path


async def start_sim_stack(workdir: Path, estate: dict[str, Any]) -> DrillStack:
    """A fresh stack whose backoffice is seeded from `estate` (written to `workdir`)."""
    estate_path = write_estate(workdir, estate)
    key = new_key()
    previous = os.environ.get(ENV_KEYS)
    os.environ[ENV_KEYS] = f"sim:{base64.b64encode(key).decode()}"
    codec = EncryptionCodec(KeyRing(active="sim", keys={"sim": key}))
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=installed_binary("temporal"),
        search_attributes=list(ALL_KEYS),
        data_converter=data_converter(codec),
        dev_server_log_level="error",
    )
    address = env.client.service_client.config.target_host
    try:
        backoffice = BackofficeProcess.start(
            temporal_address=address,
            workdir=workdir / "backoffice",
            extra_env={"BACKOFFICE_ESTATE": str(estate_path), **BACKOFFICE_PACING},
        )
    except BaseException:
        await env.shutdown()
        raise
    queue = f"sim-{uuid.uuid4().hex[:8]}"
    worker_env = dict(
        os.environ,
        TEMPORAL_ADDRESS=address,
        RETAIL_TASK_QUEUE=queue,
        BACKOFFICE_URL=backoffice.url,
        RETAIL_SHUTDOWN_GRACE_S="2",
    )
    stack = DrillStack(env, backoffice, queue, worker_env, workdir, previous)
    try:
        await stack.start_worker()
    except BaseException:
        await stack.stop()
        raise
    return stack


def settings_for(stack: DrillStack) -> Settings:
    return replace(
        Settings(),
        temporal_address=stack.address,
        task_queue=stack.task_queue,
        backoffice_url=stack.backoffice.url,
    )
