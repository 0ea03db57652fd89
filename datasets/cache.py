"""Where prepared data is kept: `.datasets/` at the repo root (git-ignored), or RETAIL_DATASETS."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "RETAIL_DATASETS"


def cache_dir() -> Path:
    """The folder prepared data sets are cached in (created on first use)."""
    configured = os.environ.get(ENV_VAR)
    root = Path(configured) if configured else Path(__file__).resolve().parent.parent / ".datasets"
    root.mkdir(parents=True, exist_ok=True)
    return root
