"""One way for every benchmark to print its table and keep its figures.

A benchmark calls `save(name, rows=..., headlines=..., extra=...)` once at the end: the rows
are printed as a table, each headline as one line `<name>: <value>` (the figures the issue
quotes, e.g. `launch ratio to plain script: 1.04`), and everything is written as JSON to
`bench/results/<name>.json` (git-ignored). `bench/suite.py` reads those files back to print
the headlines of a whole run together.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rows (dicts with the same keys) as aligned text columns."""
    if not rows:
        return "(no rows)"
    columns = list(rows[0].keys())
    cells = [columns] + [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(
            cell.rjust(w) if i else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in cells
    )


def headline_lines(headlines: Mapping[str, float | int | str]) -> list[str]:
    return [f"{name}: {_cell(value)}" for name, value in headlines.items()]


def save(
    name: str,
    *,
    rows: Sequence[Mapping[str, Any]],
    headlines: Mapping[str, float | int | str],
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Print the table and the headline lines, and write them to bench/results/<name>.json."""
    print(table(rows))
    for line in headline_lines(headlines):
        print(line)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    document = {
        "bench": name,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": _cpus(), "python": platform.python_version()},
        "rows": list(rows),
        "headlines": dict(headlines),
        "extra": dict(extra or {}),
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return path


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS_DIR / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) >= 0.01 or value == 0 else f"{value:.4f}"
    return "-" if value is None else str(value)


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0
