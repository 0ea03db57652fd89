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


async def test_the_fast_input_drills_refuse_what_they_must_and_count_every_effect(
    tmp_path: Path,
) -> None:
    """Late confirmations, a region's POS down (held), a price change while publishing,
    negative and inflated stock feeds, hostile CLI/ingress/update input, unauthorized
    decisions and the replay drill, one after another on one stack (drills/input_drills.py;
    `make drills` adds the slower ones)."""
    from drills.input_drills import INPUT_FAST

    (tmp_path / "backoffice").mkdir()
    stack = await start_stack(tmp_path)
    try:
        await stack.start_worker()
        results = [await drill(stack) for drill in INPUT_FAST]
    finally:
        await stack.stop()
    failed = {
        r.drill: r.verdict.doubled + r.verdict.lost + r.verdict.problems
        for r in results
        if not r.verdict.passed
    }
    assert failed == {}
