"""`python -m devstack up | down | status` in a temporary directory on free ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from common.search_attributes import ALL_KEYS
from devstack.processes import free_port, is_alive, read_pid

REPO = Path(__file__).resolve().parent.parent


def run_devstack(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devstack", command],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.fixture
def stack_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = dict(os.environ)
    env.update(
        {
            "RETAIL_DEVSTACK_DIR": str(tmp_path / "state"),
            "RETAIL_TEMPORAL_PORT": str(free_port()),
            "RETAIL_UI_PORT": str(free_port()),
            "RETAIL_BACKOFFICE_PORT": str(free_port()),
            "RETAIL_INGRESS_PORT": str(free_port()),
            "RETAIL_CODEC_PORT": str(free_port()),
            "RETAIL_INBOX_PORT": str(free_port()),
        }
    )
    env.pop("DATABASE_URL", None)
    # as `make demo`: no key in the environment, `up` creates the key file in its folder
    env.pop("RETAIL_CODEC_KEYS", None)
    env.pop("RETAIL_CODEC_KEY_FILE", None)
    yield env
    run_devstack("down", env)


def recorded_pids(state: Path) -> dict[str, int]:
    pids = {}
    for path in sorted((state / "pids").glob("*.json")):
        record = read_pid(path)
        assert record is not None
        pids[record.name] = record.pid
    return pids


async def test_up_serves_temporal_ui_and_search_attributes_and_down_stops_everything(
    stack_env: dict[str, str],
) -> None:
    state = Path(stack_env["RETAIL_DEVSTACK_DIR"])
    first = run_devstack("up", stack_env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Everything is up" in first.stdout

    client = await Client.connect(f"127.0.0.1:{stack_env['RETAIL_TEMPORAL_PORT']}")
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace="default")
    )
    assert {key.name for key in ALL_KEYS} <= set(listed.custom_attributes)
    async with httpx.AsyncClient() as http:
        ui = await http.get(f"http://127.0.0.1:{stack_env['RETAIL_UI_PORT']}/")
        ingress = await http.get(f"http://127.0.0.1:{stack_env['RETAIL_INGRESS_PORT']}/health")
        backoffice = await http.get(
            f"http://127.0.0.1:{stack_env['RETAIL_BACKOFFICE_PORT']}/health"
        )
        inbox = await http.get(f"http://127.0.0.1:{stack_env['RETAIL_INBOX_PORT']}/health")
    assert inbox.json()["issuer"] == "demo-inbox"
    assert ui.status_code == 200
    assert ingress.status_code == 200
    assert backoffice.json()["ingress"] == (
        f"http://127.0.0.1:{stack_env['RETAIL_INGRESS_PORT']}/ingress/events"
    )

    pids = recorded_pids(state)
    assert {"temporal", "codec", "ingress", "backoffice", "worker", "inbox"} <= set(pids)

    second = run_devstack("up", stack_env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "nothing started" in second.stdout
    assert recorded_pids(state) == pids

    # a starter run later from another folder finds the key file `up` created
    elsewhere = state.parent / "elsewhere"
    elsewhere.mkdir()
    starter = subprocess.run(
        [sys.executable, str(REPO / "starter.py"), "rebalance", "list"],
        cwd=elsewhere,
        env=stack_env | {"TEMPORAL_ADDRESS": f"127.0.0.1:{stack_env['RETAIL_TEMPORAL_PORT']}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert starter.returncode == 0, starter.stdout + starter.stderr
    assert (state / "codec-keys.json").exists()

    down = run_devstack("down", stack_env)
    assert down.returncode == 0, down.stdout + down.stderr
    records = [read_pid(p) for p in (state / "pids").glob("*.json")]
    assert records == []
    for name, pid in pids.items():
        assert not _running(pid), f"{name} (pid {pid}) still runs after down"

    # right after a stop (TIME-WAIT sockets on the ports) `up` starts again
    again = run_devstack("up", stack_env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already in use" not in again.stdout


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rpartition(")")[2].split()[0] != "Z"


def test_a_taken_port_is_reported_in_words_without_a_traceback(
    stack_env: dict[str, str],
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(stack_env["RETAIL_TEMPORAL_PORT"])))
        squatter.listen()
        result = run_devstack("up", stack_env)
    assert result.returncode == 1
    assert f"port {stack_env['RETAIL_TEMPORAL_PORT']} (Temporal frontend) is already in use" in (
        result.stdout
    )
    assert "Traceback" not in result.stdout + result.stderr
    state = Path(stack_env["RETAIL_DEVSTACK_DIR"])
    assert recorded_pids(state) == {}


def test_status_without_a_stack_says_everything_is_stopped(stack_env: dict[str, str]) -> None:
    result = run_devstack("status", stack_env)
    assert result.returncode == 0
    assert "running" not in result.stdout
    assert "temporal" in result.stdout and "stopped" in result.stdout


def test_down_never_signals_a_pid_that_is_not_ours(tmp_path: Path) -> None:
    """A stale pid file naming some other program is ignored, not killed."""
    from devstack.processes import PidRecord

    record = PidRecord(name="worker", pid=os.getpid(), marker="no-such-marker", log="")
    assert not is_alive(record)
