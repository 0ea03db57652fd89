"""One module per workflow: orchestration only. `ALL_WORKFLOWS` is what the worker registers."""

from __future__ import annotations

ALL_WORKFLOWS: list[type] = []
