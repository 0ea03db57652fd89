"""`python -m drills [--fast]`: every drill on a fresh stack, then the table."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from drills.input_drills import INPUT_ALL, INPUT_FAST
from drills.launch_drills import ALL, FAST, DrillResult
from drills.process_drills import PROCESS_ALL, PROCESS_FAST
from drills.stack import DrillStack, start_stack

Drill = Callable[[DrillStack], Awaitable[DrillResult]]
RUN_FAST: list[Drill] = [*FAST, *INPUT_FAST, *PROCESS_FAST]
RUN_ALL: list[Drill] = [*ALL, *INPUT_ALL, *PROCESS_ALL]


async def run(fast: bool, only: list[str] | None = None) -> list[DrillResult]:
    workdir = Path(tempfile.mkdtemp(prefix="drills-"))
    (workdir / "backoffice").mkdir()
    stack = await start_stack(workdir)
    results = []
    try:
        await stack.start_worker()
        for drill in RUN_FAST if fast else RUN_ALL:
            if only and not any(word in drill.__name__ for word in only):
                continue
            results.append(await drill(stack))
    finally:
        await stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def table(results: list[DrillResult]) -> str:
    rows = [("drill", "passed", "doubled", "lost", "time to recover")]
    for r in results:
        rows.append(
            (
                r.drill,
                "yes" if r.verdict.passed else "NO",
                str(len(r.verdict.doubled)),
                str(len(r.verdict.lost)),
                "-" if r.recovered_s is None else f"{r.recovered_s:.1f} s",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    for r in results:
        for words in r.verdict.doubled + r.verdict.lost + r.verdict.problems:
            lines.append(f"  {r.drill}: {words}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description="fault drills, counted from the ledger")
    parser.add_argument("--fast", action="store_true", help="only the drills the suite runs")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="WORD",
        help="only the drills whose function name contains one of these words",
    )
    args = parser.parse_args()
    results = asyncio.run(run(args.fast, args.only))
    print(table(results))
    return 0 if all(r.verdict.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
