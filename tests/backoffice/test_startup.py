"""Starting the backoffice: clear errors for bad settings, seeded once, state kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from backoffice.config import BackofficeConfig
from backoffice.db import Database
from backoffice.seed import seed_if_empty, seeded_at


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("BACKOFFICE_PORT", "abc", "BACKOFFICE_PORT='abc' is not a whole number"),
        ("BACKOFFICE_PORT", "70000", "is not a TCP port"),
        ("BACKOFFICE_WMS_PROGRESS", "sometimes", "must be 'auto' or 'manual'"),
        ("EVENT_INGRESS_URL", "ingress:8301", "is not an http(s) URL"),
    ],
)
def test_bad_settings_exit_2_in_words(
    name: str,
    value: str,
    words: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from backoffice.__main__ import main

    monkeypatch.setenv(name, value)
    assert main() == 2  # before anything listens or is written
    assert words in capsys.readouterr().err


def test_seeding_happens_once(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'bo.db'}")
    first = seed_if_empty(db, BackofficeConfig().estate_path)
    assert seeded_at(db) == first
    assert seed_if_empty(db, BackofficeConfig().estate_path) == first
    db.dispose()
