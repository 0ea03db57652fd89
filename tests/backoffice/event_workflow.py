"""A test workflow that collects the events the backoffice signals to it."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

# Names of this test-only workflow's messages (its contract; no literals elsewhere).
EVENT_SIGNAL = "evt"
FINISH_SIGNAL = "finish"
COUNT_QUERY = "count"


@workflow.defn
class EventCollector:
    """Records every delivery of :data:`EVENT_SIGNAL` (duplicates included) until told to stop."""

    def __init__(self) -> None:
        self.raw: list[dict[str, Any]] = []
        self.stop = False

    @workflow.run
    async def run(self, expected_deliveries: int) -> list[dict[str, Any]]:
        await workflow.wait_condition(lambda: self.stop or len(self.raw) >= expected_deliveries)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.raw

    @workflow.signal(name=EVENT_SIGNAL)
    def evt(self, event: dict[str, Any]) -> None:
        self.raw.append(event)

    @workflow.signal(name=FINISH_SIGNAL)
    def finish(self) -> None:
        self.stop = True

    @workflow.query(name=COUNT_QUERY)
    def count(self) -> int:
        return len(self.raw)
