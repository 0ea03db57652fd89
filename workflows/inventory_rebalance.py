"""`InventoryRebalance`: plan transfers from surplus to deficit and see them through to receipt.

Id `rebalance-{plan_id}` (names, messages and activities: `domain.rebalance.contract`).
Reads the estate, plans with the pure planner, waits for `approve` when the plan passes a
policy threshold, releases transfer orders to the WMS, follows `wms_event` signals
(duplicates and out-of-order events folded by event id), files ERP claims for variances
and lost shipments, escalates a missed need-by, and answers `cancel` by cancelling what has
not shipped. Works standalone and as a child of `PromotionLaunch`.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ApplicationError, CancelledError, FailureError

with workflow.unsafe.imports_passed_through():
    from common.search_attributes import (
        AMOUNT_AT_RISK,
        AWAITING_ROLE,
        PROMOTION_ID,
        RETAIL_KIND,
        RETAIL_STATE,
        STORE_COUNT,
    )
    from common.signals import reads
    from domain.audit import AuditEntry
    from domain.identity import REFUSE_ALL, VerifiedDecision
    from domain.rebalance import approvals, transfers
    from domain.rebalance.contract import (
        APPROVAL,
        APPROVE,
        CANCEL,
        CANCEL_TRANSFERS,
        FILE_CLAIM,
        READ_ESTATE,
        READ_TRANSFER,
        RELEASE_BATCH,
        RELEASE_TRANSFERS,
        STATUS,
        WMS_EVENT,
        WORKFLOW_TYPE,
        ApprovalDecision,
        CancelBatch,
        CancelOutcome,
        CancelReport,
        CancelRequest,
        EstateQuery,
        RebalanceRequest,
        RebalanceResult,
        ReleaseBatch,
        WmsEvent,
    )
    from domain.rebalance.outcome import final_state, result_from
    from domain.rebalance.plan import RebalancePlan, plan_audit
    from domain.rebalance.planner import (
        need_by_problem,
        needs_demand_read,
        plan_rebalance,
        plan_refusal,
    )
    from domain.rebalance.status import (
        CLOSED_STATES,
        ApprovalRecord,
        RebalanceState,
        RebalanceStatus,
        Transfer,
        TransferState,
        Variance,
        progress_words,
    )
    from domain.rebalance.transfers import ReadBack
    from domain.rebalance.wms_events import advance, apply_wms_event
    from workflows.activity_calls import call
    from workflows.identity import accept, trust_for, verified
    from workflows.refusals import refusing

WORKFLOW = "workflow"
"""The audit trail's actor for what the workflow does by itself."""


@workflow.defn(name=WORKFLOW_TYPE)
class InventoryRebalance:
    def __init__(self) -> None:
        self._request: RebalanceRequest | None = None
        self._state = RebalanceState.PLANNING
        self._plan: RebalancePlan | None = None
        self._transfers: dict[str, Transfer] = {}
        self._order: list[str] = []
        self._variances: list[Variance] = []
        self._pending_claims: list[Variance] = []
        self._approvals: list[ApprovalRecord] = []
        self._approval_reasons: list[str] = []
        self._awaiting: list[str] = []
        self._rejected = False
        self._seen_events: set[str] = set()
        self._early_events: list[WmsEvent] = []
        self._audit: list[AuditEntry] = []
        self._cancel_request: CancelRequest | None = None
        self._cancel_report: CancelReport | None = None
        self._escalated = False
        self._wake = False
        self._trust = REFUSE_ALL
        self._tokens: set[str] = set()
        self._unreadable: list[str] = []

    # ------------------------------------------------------------------ the process

    @workflow.run
    async def run(self, request: RebalanceRequest) -> RebalanceResult:
        try:
            return await self._run(request)
        except asyncio.CancelledError:
            # Cancelled as a workflow (a parent promotion rolling back, or the UI): the same
            # compensation as the `cancel` update, then end as cancelled.
            await self._on_workflow_cancelled()
            raise
        except FailureError as err:
            # The run fails: its status and search attributes say so, never the step it left.
            if not isinstance(err, CancelledError) and not isinstance(err.cause, CancelledError):
                self._mark_failed(err)
            raise

    def _mark_failed(self, err: FailureError) -> None:
        words = f"{self._state.value} failed: {getattr(err.cause or err, 'message', err)}"
        self._awaiting = []
        self._log("failed", words)
        self._set_state(RebalanceState.FAILED, words)

    async def _run(self, request: RebalanceRequest) -> RebalanceResult:
        self._request = request
        self._trust = trust_for(request.policy.trust, request.policy.model_fields_set)
        self._announce(request)
        plan = await self._plan_moves(request)
        if not self._order:
            return await self._finish(RebalanceState.NOTHING_TO_MOVE, "nothing to move")

        self._approval_reasons = approvals.approval_reasons(plan, request.policy)
        if self._approval_reasons:
            outcome = await self._await_approval(request)
            if outcome is not None:
                return outcome
        elif self._cancel_request is not None:
            return await self._cancel_before_release()
        for transfer in self._all():
            advance(transfer, TransferState.APPROVED)

        await self._release(request)
        await self._follow(request)
        final = final_state(
            cancel_requested=self._cancel_request is not None,
            variances=self._variances,
            transfers=self._all(),
        )
        return await self._finish(final, "all transfers settled")

    def _announce(self, request: RebalanceRequest) -> None:
        pairs: list[SearchAttributeUpdate[Any]] = [
            RETAIL_KIND.value_set("rebalance"),
            STORE_COUNT.value_set(len(request.scope.stores)),
        ]
        if request.parent_promotion_id:
            pairs.append(PROMOTION_ID.value_set(request.parent_promotion_id))
        workflow.upsert_search_attributes(pairs)
        self._set_state(RebalanceState.PLANNING, "reading positions and demand")
        self._log(
            "plan requested",
            f"({request.reason}) for {len(request.scope.stores)} store(s)"
            f" x {len(request.scope.items)} item(s), need by {request.need_by.isoformat()}",
            request.requested_by or WORKFLOW,
        )

    async def _plan_moves(self, request: RebalanceRequest) -> RebalancePlan:
        now = workflow.now()
        problem = need_by_problem(request, now)
        if problem:
            raise ApplicationError(problem, type="need_by_in_past", non_retryable=True)
        estate = await call(
            READ_ESTATE,
            EstateQuery(
                plan_id=request.plan_id,
                stores=request.scope.stores,
                items=request.scope.items,
                planned_at=now,
                need_by=request.need_by,
                read_demand=needs_demand_read(request),
            ),
            summary=f"read positions and demand for {len(request.scope.stores)} store(s)",
        )
        plan = plan_rebalance(request, estate, workflow.now())
        self._plan = plan
        for transfer in transfers.transfers_for(plan):
            self._transfers[transfer.transfer_id] = transfer
            self._order.append(transfer.transfer_id)
        for event in self._early_events:
            self._apply(event)
        self._early_events.clear()
        for action, detail in plan_audit(plan):
            self._log(action, detail)
        workflow.upsert_search_attributes([AMOUNT_AT_RISK.value_set(float(plan.total_cost))])
        refused = plan_refusal(plan, estate, request.policy)
        if refused:
            raise ApplicationError(refused[1], type=refused[0], non_retryable=True)
        return plan

    async def _await_approval(self, request: RebalanceRequest) -> RebalanceResult | None:
        roles = list(request.policy.approval.roles)
        self._awaiting = roles
        self._log("approval needed", "; ".join(self._approval_reasons))
        self._set_state(
            RebalanceState.AWAITING_APPROVAL,
            f"waiting for approval by {', '.join(roles)}: " + "; ".join(self._approval_reasons),
        )
        try:
            await workflow.wait_condition(
                lambda: self._rejected or not self._awaiting or self._cancel_request is not None,
                timeout=request.need_by - workflow.now(),
            )
        except TimeoutError:
            self._awaiting = []
            self._log("plan withdrawn", "no approval before the need-by time")
            self._cancel_report = CancelReport(
                cancelled=list(self._order), already_moving=[], finished=[]
            )
            transfers.cancel_all(self._all())
            return await self._finish(RebalanceState.CANCELLED, "approval never came")
        self._awaiting = []
        if self._cancel_request is not None:
            return await self._cancel_before_release()
        if self._rejected:
            transfers.cancel_all(self._all())
            return await self._finish(RebalanceState.REJECTED, "plan rejected")
        self._log("plan approved")
        return None

    async def _cancel_before_release(self) -> RebalanceResult:
        assert self._cancel_request is not None
        transfers.cancel_all(self._all())
        self._cancel_report = CancelReport(
            cancelled=list(self._order), already_moving=[], finished=[]
        )
        self._log(
            "cancelled before release",
            self._cancel_request.reason,
            self._cancel_request.requested_by,
        )
        return await self._finish(RebalanceState.CANCELLED, "cancelled before release")

    async def _release(self, request: RebalanceRequest) -> None:
        self._set_state(RebalanceState.RELEASING, f"releasing {len(self._order)} transfer order(s)")
        workflow_id = workflow.info().workflow_id
        for start in range(0, len(self._order), RELEASE_BATCH):
            batch = [self._transfers[t] for t in self._order[start : start + RELEASE_BATCH]]
            released = await call(
                RELEASE_TRANSFERS,
                ReleaseBatch(
                    plan_id=request.plan_id,
                    workflow_id=workflow_id,
                    transfers=[transfers.order_for(t) for t in batch],
                    progress=request.wms_progress,
                ),
                summary=f"release transfers {start + 1}-{start + len(batch)} to the WMS",
            )
            for item in released:
                advance(self._transfers[item.transfer_id], TransferState.RELEASED)
        self._log("released", f"{len(self._order)} transfer order(s) to the WMS")

    async def _follow(self, request: RebalanceRequest) -> None:
        """Until every transfer is settled: cancel on request, claim variances, wait for an
        event or the next deadline (escalation, an overdue transfer)."""
        policy = request.policy
        while True:
            if self._cancel_request is not None and self._cancel_report is None:
                await self._cancel_in_flight()
            await self._file_claims(request)
            open_ids = [t for t in self._order if not self._transfers[t].terminal]
            if not open_ids:
                return
            self._set_state(
                RebalanceState.IN_PROGRESS, progress_words(self._all(), escalated=self._escalated)
            )
            deadline = transfers.next_deadline(
                [self._transfers[t] for t in open_ids],
                need_by=request.need_by,
                in_transit_max=policy.in_transit_max,
                escalated=self._escalated,
            )
            wait = max(deadline - workflow.now(), timedelta(seconds=1))
            self._wake = False
            try:
                await workflow.wait_condition(lambda: self._wake, timeout=wait)
                continue
            except TimeoutError:
                pass
            await self._on_deadlines(request, open_ids)

    async def _on_deadlines(self, request: RebalanceRequest, open_ids: list[str]) -> None:
        policy = request.policy
        now = workflow.now()
        if not self._escalated and now >= request.need_by:
            self._escalated = True
            self._awaiting = [policy.escalation_role]
            self._log(
                "escalated",
                f"need-by missed with {len(open_ids)} transfer(s) open: escalated to "
                f"{policy.escalation_role}",
            )
        for transfer_id in open_ids:
            transfer = self._transfers[transfer_id]
            if transfer.terminal:
                continue
            if now < transfers.check_due_at(transfer, request.need_by, policy.in_transit_max):
                continue
            await self._check_overdue(transfer, request)
        self._refresh_awaiting()

    async def _check_overdue(self, transfer: Transfer, request: RebalanceRequest) -> None:
        """Read an overdue transfer back from the WMS and act on what it says."""
        transfer_id = transfer.transfer_id
        shipped = transfer.shipped_at is not None
        back = await call(
            READ_TRANSFER, transfer_id, summary=f"check transfer {transfer_id} with the WMS"
        )
        self._log("checked with the WMS", f"{transfer_id}: {back.wms_status}")
        verdict = transfers.judge_read_back(back, shipped=shipped)
        if verdict in (ReadBack.RECEIVED, ReadBack.SHIPPED):
            # the events never reached us (a shipment found here ages from now)
            for event in transfers.read_back_events(transfer, back, verdict):
                self._apply(event)
        elif verdict == ReadBack.LOST:
            variance = transfers.declare_lost(transfer, back, request.policy.in_transit_max)
            self._variances.append(variance)
            self._pending_claims.append(variance)
            self._log("declared lost", f"{transfer_id}: {variance.units} units")
        elif verdict == ReadBack.CANCELLED:
            transfer.state = TransferState.CANCELLED
        else:
            for outcome in await self._cancel_in_wms([transfer_id], "never shipped in time"):
                if outcome.cancelled:
                    transfer.state = TransferState.CANCELLED
                    transfer.note = "never shipped; cancelled after the need-by time"
                    self._log("never shipped", f"{transfer_id}: cancelled in the WMS")
                else:
                    # it shipped while we looked: follow it (aging starts now)
                    advance(transfer, TransferState.SHIPPED)
                    transfer.shipped_at = workflow.now()
                    self._log("shipped meanwhile", f"{transfer_id}: {outcome.detail}")

    async def _cancel_in_flight(self) -> None:
        assert self._cancel_request is not None
        request = self._cancel_request
        self._log("cancel requested", request.reason, request.requested_by)
        split = transfers.split_for_cancel(self._all())
        moving = list(split.moving)
        cancelled: list[str] = []
        if split.to_cancel:
            for outcome in await self._cancel_in_wms(split.to_cancel, request.reason):
                transfer = self._transfers[outcome.transfer_id]
                if outcome.cancelled:
                    transfer.state = TransferState.CANCELLED
                    cancelled.append(outcome.transfer_id)
                else:
                    moving.append(outcome.transfer_id)
                    advance(transfer, TransferState.SHIPPED)
                    if transfer.shipped_at is None:
                        transfer.shipped_at = workflow.now()
        self._cancel_report = CancelReport(
            cancelled=cancelled, already_moving=sorted(moving), finished=split.finished
        )
        self._log(
            "cancelled",
            f"{len(cancelled)} transfer(s); {len(moving)} already moving will be followed "
            "to receipt",
        )

    async def _on_workflow_cancelled(self) -> None:
        self._log("workflow cancellation requested", "cancelling transfers that have not shipped")
        in_wms = transfers.in_wms_unshipped(
            self._all(), releasing=self._state == RebalanceState.RELEASING
        )
        cancelled: list[str] = []
        moving: list[str] = []
        if in_wms:
            for outcome in await self._cancel_in_wms(in_wms, "rebalance cancelled"):
                if outcome.cancelled:
                    self._transfers[outcome.transfer_id].state = TransferState.CANCELLED
                    cancelled.append(outcome.transfer_id)
                else:
                    moving.append(outcome.transfer_id)
        transfers.cancel_unreleased(self._all())
        if self._cancel_report is None:
            shipped = transfers.split_for_cancel(self._all()).moving
            self._cancel_report = CancelReport(
                cancelled=cancelled, already_moving=moving + shipped, finished=[]
            )
        self._awaiting = []
        self._set_state(RebalanceState.CANCELLED, "cancelled as a workflow")
        self._log(
            "cancelled",
            f"{len(cancelled)} transfer(s) in the WMS; {len(moving)} already moving",
        )
        await workflow.wait_condition(workflow.all_handlers_finished)

    async def _cancel_in_wms(self, transfer_ids: list[str], reason: str) -> list[CancelOutcome]:
        assert self._request is not None
        return await call(
            CANCEL_TRANSFERS,
            CancelBatch(plan_id=self._request.plan_id, transfer_ids=transfer_ids, reason=reason),
            summary=f"cancel {len(transfer_ids)} unshipped transfer(s) in the WMS",
        )

    async def _file_claims(self, request: RebalanceRequest) -> None:
        while self._pending_claims:
            variance = self._pending_claims.pop(0)
            transfer = self._transfers[variance.transfer_id]
            filed = await call(
                FILE_CLAIM,
                transfers.claim_for(request.plan_id, variance, transfer),
                summary=f"ERP claim for {variance.kind.lower()} {variance.transfer_id}",
            )
            variance.claim_id = filed.claim_id
            self._log(
                "claim filed",
                f"{filed.claim_id} for {variance.transfer_id}: {variance.kind} "
                f"{variance.units} units ({filed.amount})",
            )

    async def _finish(self, state: RebalanceState, words: str) -> RebalanceResult:
        assert self._request is not None
        self._awaiting = []
        if self._cancel_request is not None and self._cancel_report is None:
            self._cancel_report = CancelReport(cancelled=[], already_moving=[], finished=[])
        self._set_state(state, words)
        self._log("finished", state.value)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return result_from(
            self._request.plan_id, state, self._plan, self._all(), list(self._variances)
        )

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
        if self._request is None:
            raise ValueError("the plan has not started yet")
        approvals.check_decision(decision, self._request.policy, self._state)
        self._proof(decision)
        approvals.check_role_open(decision, self._awaiting, self._approvals)

    @workflow.signal(name=APPROVAL)
    def approval(self, decision: ApprovalDecision) -> None:
        """The same decision from a system that can only signal; a refusal is audited."""
        try:
            self._check_approve(decision)
        except ValueError as err:
            self._log("decision refused", f"sent by signal: {err}", decision.approver)
            return
        self._record_decision(decision, self._proof(decision))

    def _proof(self, decision: ApprovalDecision | CancelRequest) -> VerifiedDecision:
        if self._request is None:
            raise ValueError("the plan has not started yet")
        args = (self._request, self._plan, self._trust, workflow.now(), workflow.info().workflow_id)
        return verified(lambda: approvals.prove(decision, *args, self._tokens))

    def _record_decision(self, decision: ApprovalDecision, proof: VerifiedDecision) -> None:
        self._tokens.update([proof.jti] if proof.jti else [])
        if not approvals.already_recorded(decision, self._approvals):
            self._approvals.append(approvals.record_of(decision, workflow.now()))
            action, detail = approvals.decision_words(decision)
            self._log(action, f"{detail}; {proof.words()}", decision.approver, proof)
            self._rejected = self._rejected or not decision.approve
            self._awaiting = approvals.still_awaiting(self._awaiting, decision)
        self._refresh_awaiting()

    @workflow.update(name=CANCEL)
    async def cancel(self, request: CancelRequest) -> CancelReport:
        """Cancel what has not shipped; report what is already moving."""
        if self._cancel_request is None:
            proof = accept(lambda: self._proof(request), self._tokens)
            self._log("cancel accepted", proof.words(), request.requested_by, proof)
            self._cancel_request = request
            self._wake = True
        await workflow.wait_condition(lambda: self._cancel_report is not None)
        assert self._cancel_report is not None
        return self._cancel_report

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        with refusing():
            if self._state in CLOSED_STATES:
                raise ValueError(f"the plan is closed ({self._state.value}); nothing to cancel")
            self._proof(request)

    @workflow.signal(name=WMS_EVENT)
    @reads(WmsEvent, WMS_EVENT, lambda wf, words: wf._unreadable_signal(words))
    def wms_event(self, event: WmsEvent) -> None:
        """Picked / shipped / received from the WMS; duplicates dropped by event id."""
        if event.event_id in self._seen_events:
            return
        self._seen_events.add(event.event_id)
        if not self._transfers:
            self._early_events.append(event)
            return
        self._apply(event)
        self._wake = True

    @workflow.query(name=STATUS)
    def status(self) -> RebalanceStatus:
        request = self._request
        return RebalanceStatus(
            plan_id=request.plan_id if request else workflow.info().workflow_id,
            state=self._state,
            reason=request.reason if request else "",
            parent_promotion_id=request.parent_promotion_id if request else None,
            need_by=request.need_by if request else workflow.now(),
            awaiting_roles=list(self._awaiting),
            approval_reasons=list(self._approval_reasons),
            approvals=list(self._approvals),
            plan=self._plan,
            transfers=self._all(),
            variances=list(self._variances),
            excluded=self._plan.excluded if self._plan else [],
            escalated=self._escalated,
            audit=list(self._audit),
            unreadable_signals=list(self._unreadable),
        )

    # ------------------------------------------------------------------ helpers

    def _all(self) -> list[Transfer]:
        """Every transfer, in plan order."""
        return [self._transfers[t] for t in self._order]

    def _apply(self, event: WmsEvent) -> None:
        transfer = self._transfers.get(event.transfer_id)
        if transfer is None:
            self._log(
                "event ignored",
                f"{event.step} event {event.event_id} for unknown transfer {event.transfer_id}",
            )
            return
        assert self._request is not None
        before = transfer.state
        variance = apply_wms_event(
            transfer, event, workflow.now(), tolerance=self._request.policy.receipt_tolerance_units
        )
        if transfer.state != before:
            self._log(
                "wms event",
                f"{transfer.transfer_id}: {event.step} {event.quantity} -> {transfer.state.value}",
            )
        if variance is not None:
            self._variances.append(variance)
            self._pending_claims.append(variance)
            self._log("variance", f"{transfer.transfer_id}: {variance.detail}")

    def _unreadable_signal(self, words: str) -> None:
        self._unreadable.append(words)
        self._log("signal unreadable", words)

    def _refresh_awaiting(self) -> None:
        role = self._awaiting[0] if self._awaiting else None
        workflow.upsert_search_attributes(
            [AWAITING_ROLE.value_set(role) if role else AWAITING_ROLE.value_unset()]
        )

    def _set_state(self, state: RebalanceState, words: str) -> None:
        self._state = state
        role = self._awaiting[0] if self._awaiting else None
        workflow.upsert_search_attributes(
            [
                RETAIL_STATE.value_set(state.value),
                AWAITING_ROLE.value_set(role) if role else AWAITING_ROLE.value_unset(),
            ]
        )
        workflow.set_current_details(f"{state.value}: {words}")

    def _log(self, action: str, detail: str = "", actor: str = WORKFLOW, proof: Any = None) -> None:
        at, fields = workflow.now(), proof.audit_fields() if proof else {}
        self._audit.append(AuditEntry(at=at, actor=actor, action=action, detail=detail, **fields))
