"""Configuration read from the environment, with the embedded defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DEFAULT_TASK_QUEUE = "retail-ops"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as err:
        raise ValueError(f"environment variable {name}={raw!r} is not a whole number") from err


@dataclass(frozen=True)
class Settings:
    """Where everything is. Every field has an environment variable."""

    temporal_address: str = field(
        default_factory=lambda: _env("TEMPORAL_ADDRESS", "localhost:7233")
    )
    namespace: str = field(default_factory=lambda: _env("TEMPORAL_NAMESPACE", "default"))
    task_queue: str = field(default_factory=lambda: _env("RETAIL_TASK_QUEUE", DEFAULT_TASK_QUEUE))
    backoffice_url: str = field(
        default_factory=lambda: _env("BACKOFFICE_URL", "http://127.0.0.1:8300")
    )
    ui_url: str = field(
        default_factory=lambda: _env(
            "TEMPORAL_UI_URL", f"http://localhost:{_env('RETAIL_UI_PORT', '8233')}"
        )
    )
    """Where links point: TEMPORAL_UI_URL, else the devstack's UI port (RETAIL_UI_PORT)."""
    http_timeout_s: float = field(
        default_factory=lambda: float(_env("RETAIL_HTTP_TIMEOUT_S", "10"))
    )

    @classmethod
    def from_env(cls) -> Settings:
        return cls()


__all__ = ["DEFAULT_TASK_QUEUE", "Settings", "_env_int"]
