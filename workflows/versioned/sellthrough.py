"""`SellThroughMonitor` on a versioned worker (`workflows.versioned`)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.sellthrough import contract as c
    from domain.sellthrough.contract import MonitorInput, MonitorSummary

from workflows.sell_through_monitor import SellThroughMonitor


@workflow.defn(name=c.WORKFLOW_TYPE, versioning_behavior=c.VERSIONING)
class VersionedSellThroughMonitor(SellThroughMonitor):
    """`SellThroughMonitor`, declaring its contract's versioning behaviour."""

    @workflow.run
    async def run(self, data: MonitorInput) -> MonitorSummary:
        return await super().run(data)
