"""The stack a simulated week runs on: a Temporal dev server (from pip), the backoffice on
SQLite seeded with the week's estate, its ingress, and one worker process. Free ports,
a throwaway payload key, every process stopped by its pid (`drills.stack.DrillStack.stop`)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from common.config import Settings
from drills.stack import DrillStack, start_stack

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
    stack = await start_stack(
        workdir,
        backoffice_env={"BACKOFFICE_ESTATE": str(estate_path), **BACKOFFICE_PACING},
        label="sim",
    )
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
