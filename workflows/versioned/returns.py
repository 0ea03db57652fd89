"""`ReturnToRefund` on a versioned worker (`workflows.versioned`)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.returns import contract as c
    from domain.returns.contract import ReturnInput
    from domain.returns.status import ReturnStatus

from workflows.return_to_refund import ReturnToRefund


@workflow.defn(name=c.WORKFLOW_TYPE, versioning_behavior=c.VERSIONING)
class VersionedReturnToRefund(ReturnToRefund):
    """`ReturnToRefund`, declaring its contract's versioning behaviour."""

    @workflow.run
    async def run(self, inp: ReturnInput) -> ReturnStatus:
        return await super().run(inp)
