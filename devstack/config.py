"""Where the local stack lives and listens; every value has an environment variable."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from common.config import DEFAULT_TASK_QUEUE, devstack_dir


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"{name}={raw!r} is not a port number (1-65535)")
    return int(raw)


@dataclass(frozen=True)
class StackConfig:
    state_dir: Path
    host: str
    temporal_port: int
    ui_port: int
    backoffice_port: int
    ingress_port: int
    codec_port: int
    inbox_port: int
    namespace: str
    task_queue: str

    @classmethod
    def from_env(cls) -> StackConfig:
        return cls(
            state_dir=devstack_dir(),
            host=os.environ.get("RETAIL_HOST", "127.0.0.1"),
            temporal_port=_port("RETAIL_TEMPORAL_PORT", 7233),
            ui_port=_port("RETAIL_UI_PORT", 8233),
            backoffice_port=_port("RETAIL_BACKOFFICE_PORT", 8300),
            ingress_port=_port("RETAIL_INGRESS_PORT", 8301),
            codec_port=_port("RETAIL_CODEC_PORT", 8234),
            inbox_port=_port("RETAIL_INBOX_PORT", 8302),
            namespace=os.environ.get("TEMPORAL_NAMESPACE", "default") or "default",
            task_queue=os.environ.get("RETAIL_TASK_QUEUE", DEFAULT_TASK_QUEUE)
            or DEFAULT_TASK_QUEUE,
        )

    @property
    def temporal_address(self) -> str:
        return f"{self.host}:{self.temporal_port}"

    @property
    def ui_url(self) -> str:
        return f"http://localhost:{self.ui_port}"

    @property
    def backoffice_url(self) -> str:
        return f"http://{self.host}:{self.backoffice_port}"

    @property
    def ingress_url(self) -> str:
        return f"http://{self.host}:{self.ingress_port}"

    @property
    def codec_url(self) -> str:
        return f"http://{self.host}:{self.codec_port}"

    @property
    def inbox_url(self) -> str:
        return f"http://{self.host}:{self.inbox_port}"

    @property
    def pid_dir(self) -> Path:
        return self.state_dir / "pids"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    def child_env(self) -> dict[str, str]:
        """The environment every component runs with: they find each other through it."""
        env = dict(os.environ)
        env.update(
            {
                "TEMPORAL_ADDRESS": self.temporal_address,
                "TEMPORAL_NAMESPACE": self.namespace,
                "RETAIL_TASK_QUEUE": self.task_queue,
                "BACKOFFICE_URL": self.backoffice_url,
                "BACKOFFICE_HOST": self.host,
                "BACKOFFICE_PORT": str(self.backoffice_port),
                "RETAIL_INGRESS_HOST": self.host,
                "RETAIL_INGRESS_PORT": str(self.ingress_port),
                "EVENT_INGRESS_URL": f"{self.ingress_url}/ingress/events",
                "TEMPORAL_UI_URL": self.ui_url,
                "RETAIL_HOST": self.host,
                "RETAIL_INBOX_PORT": str(self.inbox_port),
                "RETAIL_DEVSTACK_DIR": str(self.state_dir),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.setdefault("DATABASE_URL", f"sqlite:///{self.state_dir / 'backoffice.db'}")
        return env
