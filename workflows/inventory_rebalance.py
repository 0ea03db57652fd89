"""`InventoryRebalance`: plan transfers from surplus to deficit and see them through to receipt.

Id `rebalance-{plan_id}` (names, messages and activities: `domain.rebalance.contract`).
Reads the estate, plans with the pure planner, waits for `approve` when the plan passes a
policy threshold, releases transfer orders to the WMS, follows `wms_event` signals
(duplicates and out-of-order events folded by event id), files ERP claims for variances
and lost shipments, escalates a missed need-by, and answers `cancel` by cancelling what has
not shipped. Works standalone and as a child of `PromotionLaunch`.

This module is the process, top to bottom, and its message handlers; the phases' steps are
in `workflows.rebalance_plan` (planning, approval) and `rebalance_follow` (release, follow,
claims, cancel); the shared state, audit trail and UI story in `workflows.rebalance_run`.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import CancelledError, FailureError

with workflow.unsafe.imports_passed_through():
    from common.signals import reads
    from domain.identity import VerifiedDecision
    from domain.rebalance import approvals
    from domain.rebalance.contract import (
        APPROVAL,
        APPROVE,
        CANCEL,
        STATUS,
        WMS_EVENT,
        WORKFLOW_TYPE,
        ApprovalDecision,
        CancelReport,
        CancelRequest,
        RebalanceRequest,
        RebalanceResult,
        WmsEvent,
    )
    from domain.rebalance.outcome import final_state
    from domain.rebalance.status import (
        CLOSED_STATES,
        RebalanceState,
        RebalanceStatus,
        TransferState,
    )
    from domain.rebalance.wms_events import advance

from workflows import rebalance_follow, rebalance_plan
from workflows.identity import accept, trust_for, verified
from workflows.rebalance_run import RebalanceRun
from workflows.refusals import refusing

__all__ = ["InventoryRebalance"]


@workflow.defn(name=WORKFLOW_TYPE)
class InventoryRebalance:
    def __init__(self) -> None:
        self.r = RebalanceRun()

    # ------------------------------------------------------------------ the process

    @workflow.run
    async def run(self, request: RebalanceRequest) -> RebalanceResult:
        try:
            return await self._run(request)
        except asyncio.CancelledError:
            # Cancelled as a workflow (a parent promotion rolling back, or the UI): the same
            # compensation as the `cancel` update, then end as cancelled.
            await rebalance_follow.on_workflow_cancelled(self.r)
            raise
        except FailureError as err:
            # The run fails: its status and search attributes say so, never the step it left.
            if not isinstance(err, CancelledError) and not isinstance(err.cause, CancelledError):
                self.r.mark_failed(err)
            raise

    async def _run(self, request: RebalanceRequest) -> RebalanceResult:
        r = self.r
        r.request = request
        r.trust = trust_for(request.policy.trust, request.policy.model_fields_set)
        rebalance_plan.announce(r, request)
        plan = await rebalance_plan.plan_moves(r, request)
        if not r.order:
            return await r.finish(RebalanceState.NOTHING_TO_MOVE, "nothing to move")

        r.approval_reasons = approvals.approval_reasons(plan, request.policy)
        if r.approval_reasons:
            outcome = await rebalance_plan.await_approval(r, request)
            if outcome is not None:
                return outcome
        elif r.cancel_request is not None:
            return await rebalance_plan.cancel_before_release(r)
        for transfer in r.all():
            advance(transfer, TransferState.APPROVED)

        await rebalance_follow.release(r, request)
        await rebalance_follow.follow(r, request)
        final = final_state(
            cancel_requested=r.cancel_request is not None,
            variances=r.variances,
            transfers=r.all(),
        )
        return await r.finish(final, "all transfers settled")

    # ------------------------------------------------------------------ messages

    @workflow.update(name=APPROVE)
    async def approve(self, decision: ApprovalDecision) -> RebalanceStatus:
        """Approve (or, with approve=false, reject) a plan awaiting approval."""
        self._record_decision(decision, accept(lambda: self._proof(decision)))
        return self.status()

    @approve.validator
    def _validate_approve(self, decision: ApprovalDecision) -> None:
        with refusing():
            self._check_approve(decision)

    def _check_approve(self, decision: ApprovalDecision) -> None:
        r = self.r
        if r.request is None:
            raise ValueError("the plan has not started yet")
        approvals.check_decision(decision, r.request.policy, r.state)
        self._proof(decision)
        approvals.check_role_open(decision, r.awaiting, r.approvals)

    @workflow.signal(name=APPROVAL)
    def approval(self, decision: ApprovalDecision) -> None:
        """The same decision from a system that can only signal; a refusal is audited."""
        try:
            self._check_approve(decision)
        except ValueError as err:
            self.r.log("decision refused", f"sent by signal: {err}", decision.approver)
            return
        self._record_decision(decision, self._proof(decision))

    def _proof(self, decision: ApprovalDecision | CancelRequest) -> VerifiedDecision:
        r = self.r
        if r.request is None:
            raise ValueError("the plan has not started yet")
        args = (r.request, r.plan, r.trust, workflow.now(), workflow.info().workflow_id)
        return verified(lambda: approvals.prove(decision, *args, r.tokens))

    def _record_decision(self, decision: ApprovalDecision, proof: VerifiedDecision) -> None:
        r = self.r
        r.tokens.update([proof.jti] if proof.jti else [])
        if not approvals.already_recorded(decision, r.approvals):
            r.approvals.append(approvals.record_of(decision, workflow.now()))
            action, detail = approvals.decision_words(decision)
            r.log(action, f"{detail}; {proof.words()}", decision.approver, proof)
            r.rejected = r.rejected or not decision.approve
            r.awaiting = approvals.still_awaiting(r.awaiting, decision)
        r.refresh_awaiting()

    @workflow.update(name=CANCEL)
    async def cancel(self, request: CancelRequest) -> CancelReport:
        """Cancel what has not shipped; report what is already moving."""
        r = self.r
        if r.cancel_request is None:
            proof = accept(lambda: self._proof(request), r.tokens)
            r.log("cancel accepted", proof.words(), request.requested_by, proof)
            r.cancel_request = request
            r.wake = True
        await workflow.wait_condition(lambda: r.cancel_report is not None)
        assert r.cancel_report is not None
        return r.cancel_report

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        with refusing():
            if self.r.state in CLOSED_STATES:
                raise ValueError(f"the plan is closed ({self.r.state.value}); nothing to cancel")
            self._proof(request)

    @workflow.signal(name=WMS_EVENT)
    @reads(WmsEvent, WMS_EVENT, lambda wf, words: wf.r.unreadable_signal(words))
    def wms_event(self, event: WmsEvent) -> None:
        """Picked / shipped / received from the WMS; duplicates dropped by event id."""
        r = self.r
        if event.event_id in r.seen_events:
            return
        r.seen_events.add(event.event_id)
        if not r.transfers:
            r.early_events.append(event)
            return
        r.apply(event)
        r.wake = True

    @workflow.query(name=STATUS)
    def status(self) -> RebalanceStatus:
        r = self.r
        request = r.request
        return RebalanceStatus(
            plan_id=request.plan_id if request else workflow.info().workflow_id,
            state=r.state,
            reason=request.reason if request else "",
            parent_promotion_id=request.parent_promotion_id if request else None,
            need_by=request.need_by if request else workflow.now(),
            awaiting_roles=list(r.awaiting),
            approval_reasons=list(r.approval_reasons),
            approvals=list(r.approvals),
            plan=r.plan,
            transfers=r.all(),
            variances=list(r.variances),
            excluded=r.plan.excluded if r.plan else [],
            escalated=r.escalated,
            audit=list(r.audit),
            unreadable_signals=list(r.unreadable),
        )
