"""Fail closed: a starter, worker, ingress or codec server without a codec key refuses to
start in one line naming where it looked; none writes customer data into history in clear.

Each runs as its own process from a folder outside the project, with no key in its
environment and an empty devstack folder (`RETAIL_DEVSTACK_DIR`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.codec import ENV_KEY_FILE, ENV_KEYS, ensure_key_file

REPO = Path(__file__).resolve().parent.parent
RMA = REPO / "examples" / "returns" / "store-defective-low.json"


def keyless_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (ENV_KEYS, ENV_KEY_FILE)}
    env["RETAIL_DEVSTACK_DIR"] = str(tmp_path / "state")
    env["TEMPORAL_ADDRESS"] = "127.0.0.1:1"  # never reached: the refusal comes first
    env["PYTHONPATH"] = str(REPO)
    return env


def run(argv: list[str], tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, *argv],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_refused(result: subprocess.CompletedProcess[str], tmp_path: Path) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if "codec key" in line]
    assert len(lines) == 1, result.stderr
    assert str(tmp_path / "state" / "codec-keys.json") in lines[0]
    assert ENV_KEYS in lines[0] and ENV_KEY_FILE in lines[0]
    assert "Traceback" not in result.stderr


def test_a_starter_run_from_another_folder_without_keys_refuses(tmp_path: Path) -> None:
    result = run(
        [str(REPO / "starter.py"), "return", "open", str(RMA)], tmp_path, keyless_env(tmp_path)
    )
    assert_refused(result, tmp_path)


def test_the_worker_without_keys_refuses(tmp_path: Path) -> None:
    result = run([str(REPO / "worker.py")], tmp_path, keyless_env(tmp_path))
    assert_refused(result, tmp_path)


def test_the_codec_server_without_keys_refuses(tmp_path: Path) -> None:
    result = run(["-m", "devstack.codec_server", "--port", "1"], tmp_path, keyless_env(tmp_path))
    assert_refused(result, tmp_path)


def test_the_ingress_without_keys_refuses(tmp_path: Path) -> None:
    env = keyless_env(tmp_path) | {"RETAIL_INGRESS_PORT": "1"}
    result = run(["-m", "ingress"], tmp_path, env)
    assert_refused(result, tmp_path)


@pytest.mark.parametrize("variable", ["RETAIL_DEVSTACK_DIR", None])
def test_a_starter_from_another_folder_finds_the_devstack_key_file(
    tmp_path: Path, variable: str | None
) -> None:
    """What `devstack up` created is found from anywhere (here Temporal is unreachable, so
    the starter gets as far as connecting: past the key check)."""
    env = keyless_env(tmp_path)
    ensure_key_file(tmp_path / "state" / "codec-keys.json")
    if variable is None:  # the key file named directly
        env.pop("RETAIL_DEVSTACK_DIR")
        env[ENV_KEY_FILE] = str(tmp_path / "state" / "codec-keys.json")
    result = run([str(REPO / "starter.py"), "return", "open", str(RMA)], tmp_path, env)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "not reachable" in " ".join(result.stderr.split())
    assert "codec key" not in result.stderr
