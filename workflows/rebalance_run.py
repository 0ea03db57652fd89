"""What every phase of an InventoryRebalance shares: its state, the audit trail, the story
the Temporal UI tells, the WMS event fold, and how a run ends.

Workflow code (deterministic): `workflow.now()` for every time, no I/O.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from common.search_attributes import AWAITING_ROLE, RETAIL_STATE
    from domain.audit import AuditEntry
    from domain.identity import REFUSE_ALL
    from domain.rebalance.contract import (
        CANCEL_TRANSFERS,
        CancelBatch,
        CancelOutcome,
        CancelReport,
        CancelRequest,
        RebalanceRequest,
        RebalanceResult,
        WmsEvent,
    )
    from domain.rebalance.outcome import result_from
    from domain.rebalance.plan import RebalancePlan
    from domain.rebalance.status import (
        ApprovalRecord,
        RebalanceState,
        Transfer,
        Variance,
    )
    from domain.rebalance.wms_events import apply_wms_event

from workflows.activity_calls import call

WORKFLOW = "workflow"
"""The audit trail's actor for what the workflow does by itself."""


class RebalanceRun:
    """One rebalance in progress: the request, the plan and its transfers, approvals,
    variances and claims, the cancel request and its report, the audit trail."""

    def __init__(self) -> None:
        self.request: RebalanceRequest | None = None
        self.state = RebalanceState.PLANNING
        self.plan: RebalancePlan | None = None
        self.transfers: dict[str, Transfer] = {}
        self.order: list[str] = []
        self.variances: list[Variance] = []
        self.pending_claims: list[Variance] = []
        self.approvals: list[ApprovalRecord] = []
        self.approval_reasons: list[str] = []
        self.awaiting: list[str] = []
        self.rejected = False
        self.seen_events: set[str] = set()
        self.early_events: list[WmsEvent] = []
        self.audit: list[AuditEntry] = []
        self.cancel_request: CancelRequest | None = None
        self.cancel_report: CancelReport | None = None
        self.escalated = False
        self.wake = False
        self.trust = REFUSE_ALL
        self.tokens: set[str] = set()
        self.unreadable: list[str] = []

    @property
    def req(self) -> RebalanceRequest:
        assert self.request is not None
        return self.request

    def all(self) -> list[Transfer]:
        """Every transfer, in plan order."""
        return [self.transfers[t] for t in self.order]

    def apply(self, event: WmsEvent) -> None:
        """Fold one WMS event into its transfer; a variance it reveals waits for a claim."""
        transfer = self.transfers.get(event.transfer_id)
        if transfer is None:
            self.log(
                "event ignored",
                f"{event.step} event {event.event_id} for unknown transfer {event.transfer_id}",
            )
            return
        before = transfer.state
        variance = apply_wms_event(
            transfer, event, workflow.now(), tolerance=self.req.policy.receipt_tolerance_units
        )
        if transfer.state != before:
            self.log(
                "wms event",
                f"{transfer.transfer_id}: {event.step} {event.quantity} -> {transfer.state.value}",
            )
        if variance is not None:
            self.variances.append(variance)
            self.pending_claims.append(variance)
            self.log("variance", f"{transfer.transfer_id}: {variance.detail}")

    def unreadable_signal(self, words: str) -> None:
        self.unreadable.append(words)
        self.log("signal unreadable", words)

    def refresh_awaiting(self) -> None:
        role = self.awaiting[0] if self.awaiting else None
        workflow.upsert_search_attributes(
            [AWAITING_ROLE.value_set(role) if role else AWAITING_ROLE.value_unset()]
        )

    def set_state(self, state: RebalanceState, words: str) -> None:
        self.state = state
        role = self.awaiting[0] if self.awaiting else None
        workflow.upsert_search_attributes(
            [
                RETAIL_STATE.value_set(state.value),
                AWAITING_ROLE.value_set(role) if role else AWAITING_ROLE.value_unset(),
            ]
        )
        workflow.set_current_details(f"{state.value}: {words}")

    def log(self, action: str, detail: str = "", actor: str = WORKFLOW, proof: Any = None) -> None:
        at, fields = workflow.now(), proof.audit_fields() if proof else {}
        self.audit.append(AuditEntry(at=at, actor=actor, action=action, detail=detail, **fields))

    def mark_failed(self, err: FailureError) -> None:
        """The run fails: its status and search attributes say so, never the step it left."""
        words = f"{self.state.value} failed: {getattr(err.cause or err, 'message', err)}"
        self.awaiting = []
        self.log("failed", words)
        self.set_state(RebalanceState.FAILED, words)

    async def cancel_in_wms(self, transfer_ids: list[str], reason: str) -> list[CancelOutcome]:
        return await call(
            CANCEL_TRANSFERS,
            CancelBatch(plan_id=self.req.plan_id, transfer_ids=transfer_ids, reason=reason),
            summary=f"cancel {len(transfer_ids)} unshipped transfer(s) in the WMS",
        )

    async def finish(self, state: RebalanceState, words: str) -> RebalanceResult:
        request = self.req
        self.awaiting = []
        if self.cancel_request is not None and self.cancel_report is None:
            self.cancel_report = CancelReport(cancelled=[], already_moving=[], finished=[])
        self.set_state(state, words)
        self.log("finished", state.value)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return result_from(request.plan_id, state, self.plan, self.all(), list(self.variances))
