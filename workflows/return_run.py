"""What every phase of a ReturnToRefund shares: its input and status, the approval it
waits for, the item and inspection it received, the audit trail, the story the Temporal
UI tells, and how it tells the customer or opens an exception for a person.

Workflow code (deterministic): `workflow.now()` for every time, no I/O.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from common.search_attributes import AMOUNT_AT_RISK, AWAITING_ROLE, RETAIL_KIND, RETAIL_STATE
    from domain.audit import AuditEntry
    from domain.identity import REFUSE_ALL
    from domain.returns import contract as c
    from domain.returns.approval import awaited_role
    from domain.returns.contract import (
        CustomerNotice,
        Decision,
        InspectionResult,
        ItemReceived,
        NotificationKind,
        ReturnException,
        ReturnInput,
    )
    from domain.returns.policy import Role
    from domain.returns.status import ReturnState, ReturnStatus

from workflows.activity_calls import best_effort

EXCEPTION_DUE = timedelta(days=1)
"""How long a person has to look at an exception (the store task's due time)."""


class ReturnRun:
    """One return in progress; `status` is what the `status` query answers."""

    def __init__(self) -> None:
        self.inp: ReturnInput | None = None
        self.status: ReturnStatus | None = None
        self.allowed: list[Role] = []
        self.decision: tuple[str, Decision] | None = None
        self.received: ItemReceived | None = None
        self.receipts: set[str] = set()
        self.inspection: InspectionResult | None = None
        self.early: list[AuditEntry] = []
        self.store_id: str | None = None
        self.checked_at: datetime | None = None
        self.trust, self.tokens = REFUSE_ALL, set[str]()

    @property
    def in_(self) -> ReturnInput:
        assert self.inp is not None
        return self.inp

    @property
    def checked(self) -> datetime:
        """When eligibility was checked: the clock of the fraud query and the item deadline."""
        assert self.checked_at is not None
        return self.checked_at

    @property
    def st(self) -> ReturnStatus:
        assert self.status is not None
        return self.status

    def audit(self, actor: str, action: str, detail: str = "", **proof: str | None) -> None:
        entry = AuditEntry(at=workflow.now(), actor=actor, action=action, detail=detail, **proof)
        if self.status is None:
            self.early.append(entry)
        else:
            self.status.audit.append(entry)

    def set_state(self, state: ReturnState, details: str) -> None:
        self.st.state = state
        self.st.awaiting_role = list(self.allowed)
        self.audit("workflow", state.value, details)
        workflow.set_current_details(f"**{state.value}**: {details}")
        awaiting = awaited_role(self.allowed)
        pairs: list[SearchAttributeUpdate[Any]] = [
            RETAIL_KIND.value_set(c.RETAIL_KIND),
            RETAIL_STATE.value_set(state.value),
            AWAITING_ROLE.value_set(awaiting.value) if awaiting else AWAITING_ROLE.value_unset(),
        ]
        if self.st.expected_refund is not None:
            pairs.append(AMOUNT_AT_RISK.value_set(float(self.st.expected_refund)))
        workflow.upsert_search_attributes(pairs)

    async def notify(self, kind: NotificationKind, message: str, *, about: str = "") -> None:
        """Tell the customer; `about` tells apart several notices of one kind (per tender).
        A notice that cannot be sent never blocks the money; it is on the record."""
        req = self.in_.request
        failed = await best_effort(
            c.NOTIFY_CUSTOMER,
            CustomerNotice(
                rma_id=req.rma_id,
                store_id=self.store_id,
                customer=req.customer,
                kind=kind,
                message=message,
                idempotency_key=c.notice_key(req.rma_id, kind, about),
            ),
            summary=f"tell the customer: {kind.value}",
        )
        if failed:
            self.audit("workflow", "notification failed", f"{kind.value}: {failed}")
        else:
            self.audit("workflow", "customer notified", f"{kind.value}: {message}")

    async def exception(self, kind: str, message: str) -> None:
        """Open an exception for a person (a store task); never fails the return."""
        rma_id = self.in_.request.rma_id
        failed = await best_effort(
            c.OPEN_EXCEPTION,
            ReturnException(
                rma_id=rma_id,
                store_id=self.store_id,
                kind=kind,
                message=message,
                due_at=workflow.now() + EXCEPTION_DUE,
                idempotency_key=c.exception_key(rma_id, kind),
            ),
            summary=f"open exception: {kind}",
        )
        if failed:
            self.audit("workflow", "exception not opened", f"{kind}: {failed}")
        else:
            self.audit("workflow", "exception opened", f"{kind}: {message}")

    async def finish(self) -> ReturnStatus:
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.st
