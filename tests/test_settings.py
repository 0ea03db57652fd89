"""Settings from the environment: one resolution for the starter, the worker and devstack."""

from __future__ import annotations

import pytest

from common.config import Settings


def test_the_ui_address_follows_the_stacks_ui_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEMPORAL_UI_URL", raising=False)
    monkeypatch.setenv("RETAIL_UI_PORT", "18233")
    assert Settings.from_env().ui_url == "http://localhost:18233"
    monkeypatch.setenv("TEMPORAL_UI_URL", "https://temporal.example.internal")
    assert Settings.from_env().ui_url == "https://temporal.example.internal"
