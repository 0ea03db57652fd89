"""`python -m inbox` refuses to start without its issuer key, in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("key", ["", "no/such/key.pem"])
def test_the_inbox_refuses_to_start_without_its_key(key: str, tmp_path: Path) -> None:
    env = dict(os.environ, RETAIL_INBOX_KEY=key, RETAIL_DEVSTACK_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "inbox"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "RETAIL_INBOX_KEY" in lines[0], done.stderr
