"""How the backoffice is configured: environment variables, with the embedded defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ESTATE = REPO_ROOT / "examples" / "estate" / "estate.json"
DEFAULT_EVENT_INGRESS_URL = "http://127.0.0.1:8301/ingress/events"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _float(name: str, default: float) -> float:
    raw = _env(name, str(default))
    try:
        return float(raw)
    except ValueError as err:
        raise ValueError(f"environment variable {name}={raw!r} is not a number") from err


def _int(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        return int(raw)
    except ValueError as err:
        raise ValueError(f"environment variable {name}={raw!r} is not a whole number") from err


@dataclass(frozen=True)
class BackofficeConfig:
    """Every field has an environment variable (name in the comment)."""

    host: str = field(default_factory=lambda: _env("BACKOFFICE_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: _int("BACKOFFICE_PORT", 8300))
    database_url: str = field(
        default_factory=lambda: _env("DATABASE_URL", "sqlite:///.devstack/backoffice.db")
    )
    # where the outbox posts events: the event ingress (`python -m ingress`)
    event_ingress_url: str = field(
        default_factory=lambda: _env("EVENT_INGRESS_URL", DEFAULT_EVENT_INGRESS_URL)
    )
    estate_path: str = field(default_factory=lambda: _env("BACKOFFICE_ESTATE", str(DEFAULT_ESTATE)))
    # pacing of the simulated world
    wms_progress: str = field(default_factory=lambda: _env("BACKOFFICE_WMS_PROGRESS", "auto"))
    wms_step_s: float = field(default_factory=lambda: _float("BACKOFFICE_WMS_STEP_S", 2.0))
    confirm_delay_s: float = field(
        default_factory=lambda: _float("BACKOFFICE_CONFIRM_DELAY_S", 0.5)
    )
    tick_s: float = field(default_factory=lambda: _float("BACKOFFICE_TICK_S", 0.2))
    inline_sqlite_writes: bool = field(
        default_factory=lambda: _env("BACKOFFICE_INLINE_SQLITE_WRITES", "1") not in ("0", "false")
    )
    log_level: str = field(default_factory=lambda: _env("BACKOFFICE_LOG_LEVEL", "warning"))

    def validate(self) -> None:
        if self.wms_progress not in ("auto", "manual"):
            raise ValueError(
                f"BACKOFFICE_WMS_PROGRESS={self.wms_progress!r} must be 'auto' or 'manual'"
            )
        if not 0 < self.port < 65536:
            raise ValueError(f"BACKOFFICE_PORT={self.port} is not a TCP port")
        if not self.event_ingress_url.startswith(("http://", "https://")):
            raise ValueError(
                f"EVENT_INGRESS_URL={self.event_ingress_url!r} is not an http(s) URL "
                "(the event ingress's POST /ingress/events)"
            )
        if self.wms_step_s < 0 or self.confirm_delay_s < 0 or self.tick_s <= 0:
            raise ValueError("pacing settings must not be negative (tick must be > 0)")
