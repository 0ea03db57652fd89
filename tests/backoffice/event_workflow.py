"""A test workflow that collects the events the backoffice signals to it."""

from __future__ import annotations

from typing import Any

from temporalio import workflow


@workflow.defn
class EventCollector:
    """Records every delivery of signal ``evt`` (duplicates included) until told to stop."""

    def __init__(self) -> None:
        self.raw: list[dict[str, Any]] = []
        self.stop = False

    @workflow.run
    async def run(self, expected_deliveries: int) -> list[dict[str, Any]]:
        await workflow.wait_condition(lambda: self.stop or len(self.raw) >= expected_deliveries)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.raw

    @workflow.signal(name="evt")
    def evt(self, event: dict[str, Any]) -> None:
        self.raw.append(event)

    @workflow.signal(name="finish")
    def finish(self) -> None:
        self.stop = True

    @workflow.query(name="count")
    def count(self) -> int:
        return len(self.raw)
