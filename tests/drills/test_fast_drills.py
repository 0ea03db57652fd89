"""The fast fault drills, in the suite: each counts every effect in the backoffice ledger.

`make drills` runs every drill (the POS outage one waits out a 30 s outage, the worker kills
wait out 30 s activity timeouts, the backoffice outage lasts 60 s) and prints the table;
the fast ones run here, each on its own stack (dev server, backoffice, worker process)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drills.launch_drills import FAST
from drills.process_drills import PROCESS_FAST
from drills.stack import start_stack

DRILLS = [*FAST, *PROCESS_FAST]


@pytest.mark.parametrize("drill", DRILLS, ids=[d.__name__ for d in DRILLS])
async def test_a_fault_drill_doubles_nothing_and_loses_nothing(
    drill: object, tmp_path: Path
) -> None:
    (tmp_path / "backoffice").mkdir()
    stack = await start_stack(tmp_path)
    try:
        await stack.start_worker()
        result = await drill(stack)  # type: ignore[operator]
    finally:
        await stack.stop()
    assert result.verdict.passed, (
        result.verdict.doubled,
        result.verdict.lost,
        result.verdict.problems,
    )
