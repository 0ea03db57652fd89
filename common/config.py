"""Configuration read from the environment, with the embedded defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_TASK_QUEUE = "retail-ops"

ENV_DEVSTACK_DIR = "RETAIL_DEVSTACK_DIR"
ENV_CODEC_KEY_FILE = "RETAIL_CODEC_KEY_FILE"
CODEC_KEY_FILE_NAME = "codec-keys.json"


def project_root() -> Path:
    """The checkout this code runs from (the folder holding `common/`)."""
    return Path(__file__).resolve().parent.parent


def devstack_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where `python -m devstack` keeps its state: `RETAIL_DEVSTACK_DIR`, else `.devstack`
    in the project (never the current folder: a command run elsewhere finds the same)."""
    env = os.environ if environ is None else environ
    raw = env.get(ENV_DEVSTACK_DIR, "").strip()
    return Path(raw).resolve() if raw else project_root() / ".devstack"


def codec_key_file(environ: Mapping[str, str] | None = None) -> Path:
    """The one place the payload key file is looked for and created by `devstack up`:
    `RETAIL_CODEC_KEY_FILE`, else `codec-keys.json` in `devstack_dir()`."""
    env = os.environ if environ is None else environ
    raw = env.get(ENV_CODEC_KEY_FILE, "").strip()
    return Path(raw).resolve() if raw else devstack_dir(env) / CODEC_KEY_FILE_NAME


ENV_TLS_CERT = "TEMPORAL_TLS_CERT"
ENV_TLS_KEY = "TEMPORAL_TLS_KEY"
ENV_TLS_CA = "TEMPORAL_TLS_CA"
ENV_TLS_SERVER_NAME = "TEMPORAL_TLS_SERVER_NAME"
ENV_TLS = "TEMPORAL_TLS"
ENV_API_KEY = "TEMPORAL_API_KEY"
# Worker versioning (README, "Safe upgrades"): the names the Temporal Worker Controller sets
ENV_DEPLOYMENT_NAME = "TEMPORAL_DEPLOYMENT_NAME"
ENV_BUILD_ID = "TEMPORAL_WORKER_BUILD_ID"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


class ConfigError(ValueError):
    """A setting from the environment that cannot be used, said in words (processes exit 2
    with this one line instead of a traceback)."""


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as err:
        raise ConfigError(f"environment variable {name}={raw!r} is not a whole number") from err


def _env_flag(name: str) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"environment variable {name}={raw!r} is not a yes/no (1/0, true/false)")


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
    # A Temporal cluster or Temporal Cloud (README, "Scaling out"): mutual TLS with a client
    # certificate (paths to PEM files), or an API key; none of them: plain gRPC (devstack).
    tls_cert: str = field(default_factory=lambda: _env(ENV_TLS_CERT, ""))
    tls_key: str = field(default_factory=lambda: _env(ENV_TLS_KEY, ""))
    tls_ca: str = field(default_factory=lambda: _env(ENV_TLS_CA, ""))
    """The CA that signed the server's certificate; empty: the system roots."""
    tls_server_name: str = field(default_factory=lambda: _env(ENV_TLS_SERVER_NAME, ""))
    """The name the server's certificate is checked against, when not the address's host."""
    tls: bool = field(default_factory=lambda: _env_flag(ENV_TLS))
    """TLS without a client certificate (server-authenticated only); implied by the others."""
    api_key: str = field(default_factory=lambda: _env(ENV_API_KEY, ""), repr=False)
    # Worker Deployment versioning: a worker with both is one version of the deployment
    # (`<deployment>.<build id>`), polls only for the tasks routed to that version, and its
    # workflows declare pinned or auto-upgrade; neither: an unversioned worker (devstack).
    deployment_name: str = field(default_factory=lambda: _env(ENV_DEPLOYMENT_NAME, ""))
    build_id: str = field(default_factory=lambda: _env(ENV_BUILD_ID, ""))
    """This build of the worker code (an image tag, a commit): a new one per deployment."""

    def __post_init__(self) -> None:
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ConfigError(
                f"{ENV_TLS_CERT} and {ENV_TLS_KEY} go together: a client certificate needs its "
                "private key (both PEM file paths)"
            )
        if bool(self.deployment_name) != bool(self.build_id):
            given, missing = (
                (ENV_DEPLOYMENT_NAME, ENV_BUILD_ID)
                if self.deployment_name
                else (ENV_BUILD_ID, ENV_DEPLOYMENT_NAME)
            )
            raise ConfigError(
                f"{given} is set but {missing} is not: a versioned worker needs both its "
                "deployment name and its build id (or neither, for an unversioned worker)"
            )
        if "." in self.deployment_name:
            raise ConfigError(
                f"{ENV_DEPLOYMENT_NAME}={self.deployment_name!r} has a '.': Temporal names a "
                "version `<deployment>.<build id>`, so the deployment name cannot contain one"
            )

    @property
    def versioned(self) -> bool:
        """Whether the worker runs as a version of a Worker Deployment."""
        return bool(self.deployment_name and self.build_id)

    @classmethod
    def from_env(cls) -> Settings:
        return cls()


__all__ = [
    "DEFAULT_TASK_QUEUE",
    "Settings",
    "_env_int",
    "codec_key_file",
    "devstack_dir",
    "project_root",
]
