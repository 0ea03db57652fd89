"""How the ingress is configured: environment variables, with the embedded defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from common.config import Settings

DEFAULT_PORT = 8301


def _port() -> int:
    raw = os.environ.get("RETAIL_INGRESS_PORT", "").strip()
    if not raw:
        return DEFAULT_PORT
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"RETAIL_INGRESS_PORT={raw!r} is not a port number (1-65535)")
    return int(raw)


@dataclass(frozen=True)
class IngressConfig:
    """Where the ingress listens (RETAIL_INGRESS_HOST, RETAIL_INGRESS_PORT) and the
    Temporal it signals (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, through ``Settings``)."""

    host: str = field(
        default_factory=lambda: os.environ.get("RETAIL_INGRESS_HOST", "").strip() or "127.0.0.1"
    )
    port: int = field(default_factory=_port)
    temporal: Settings = field(default_factory=Settings.from_env)
    log_level: str = field(
        default_factory=lambda: os.environ.get("RETAIL_INGRESS_LOG_LEVEL", "").strip() or "warning"
    )
