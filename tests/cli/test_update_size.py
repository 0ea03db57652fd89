"""An update argument near Temporal's 2 MB payload limit wedges the run it is sent to (the
worker's answer carries the request back, over the limit, and every workflow task fails),
so every command refuses an oversized one before sending anything."""

from __future__ import annotations

from typing import Any

import pytest

from cli.common import EXIT_BAD_INPUT, MAX_UPDATE_BYTES, CommandError, send_update
from domain.promotion.contract import Decision
from workflows.promotion_launch import PromotionLaunch


class NeverCalled:
    """A handle whose update must not be sent (the edge this test is about)."""

    id = "promotion-P1"

    async def execute_update(self, *_: Any) -> Any:
        raise AssertionError("an oversized update was sent")


async def test_an_oversized_update_is_refused_before_sending() -> None:
    decision = Decision(approver="alice", comment="x" * (MAX_UPDATE_BYTES + 1))
    with pytest.raises(CommandError) as refused:
        await send_update(NeverCalled(), PromotionLaunch.approve, decision, what="promotion P1")  # type: ignore[arg-type]
    assert refused.value.code == EXIT_BAD_INPUT
    assert "approve refused before sending" in str(refused.value)
    assert f"at most {MAX_UPDATE_BYTES:,}" in str(refused.value)
