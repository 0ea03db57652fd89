"""`InventoryRebalance` on a versioned worker (`workflows.versioned`)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.rebalance import contract as c
    from domain.rebalance.contract import RebalanceRequest, RebalanceResult

from workflows.inventory_rebalance import InventoryRebalance


@workflow.defn(name=c.WORKFLOW_TYPE, versioning_behavior=c.VERSIONING)
class VersionedInventoryRebalance(InventoryRebalance):
    """`InventoryRebalance`, declaring its contract's versioning behaviour."""

    @workflow.run
    async def run(self, request: RebalanceRequest) -> RebalanceResult:
        return await super().run(request)
