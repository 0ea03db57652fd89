"""`PromotionLaunch` on a versioned worker (`workflows.versioned`)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.promotion import contract as c
    from domain.promotion.status import PromotionStatus

from workflows.promotion_launch import PromotionLaunch


@workflow.defn(name=c.WORKFLOW_TYPE, versioning_behavior=c.VERSIONING)
class VersionedPromotionLaunch(PromotionLaunch):
    """`PromotionLaunch`, declaring its contract's versioning behaviour."""

    @workflow.run
    async def run(self, inp: c.LaunchInput) -> PromotionStatus:
        return await super().run(inp)
