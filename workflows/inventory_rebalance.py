"""`InventoryRebalance`: plan transfers from surplus to deficit and see them through to receipt.

Id `rebalance-{plan_id}`. Reads the estate through an activity, plans with the pure planner
(`domain.rebalance.plan_rebalance`), waits for `approve` when the plan passes a policy
threshold, releases transfer orders to the WMS, follows `wms_event` signals (duplicates and
out-of-order events folded by event id), files ERP claims for variances and lost shipments,
escalates a missed need-by, and answers `cancel` by cancelling what has not shipped.
Works standalone and as a child of `PromotionLaunch`.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from common.search_attributes import (
        AMOUNT_AT_RISK,
        AWAITING_ROLE,
        PROMOTION_ID,
        RETAIL_KIND,
        RETAIL_STATE,
        STORE_COUNT,
    )
    from domain.inventory import Estate
    from domain.rebalance import (
        CANCEL_TRANSFERS,
        CLOSED_STATES,
        FILE_CLAIM,
        READ_ESTATE,
        READ_TRANSFER,
        RELEASE_TRANSFERS,
        TERMINAL_TRANSFER_STATES,
        ApprovalDecision,
        ApprovalRecord,
        AuditEntry,
        CancelBatch,
        CancelOutcome,
        CancelReport,
        CancelRequest,
        ClaimFiled,
        ClaimInput,
        EstateQuery,
        EventLine,
        RebalancePlan,
        RebalanceRequest,
        RebalanceResult,
        RebalanceState,
        RebalanceStatus,
        ReleaseBatch,
        ReleasedTransfer,
        Transfer,
        TransferOrder,
        TransferReadBack,
        TransferState,
        Variance,
        WmsEvent,
        apply_wms_event,
        approval_reasons,
        check_decision,
        plan_rebalance,
        result_from,
        transfers_for,
    )

READ_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=8,
    non_retryable_error_types=["unknown_store", "unknown_item", "invalid_input", "not_found"],
)
WRITE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=20,
    non_retryable_error_types=["invalid_input", "idempotency_conflict", "not_found"],
)
RELEASE_BATCH = 50
_STARTED = {
    TransferState.APPROVED: 0,
    TransferState.PLANNED: 0,
    TransferState.RELEASED: 1,
    TransferState.PICKED: 2,
}


@workflow.defn(name="InventoryRebalance")
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

    # ------------------------------------------------------------------ run

    @workflow.run
    async def run(self, request: RebalanceRequest) -> RebalanceResult:
        try:
            return await self._run(request)
        except asyncio.CancelledError:
            # Cancelled as a workflow (a parent promotion rolling back, or the UI): the same
            # compensation as the `cancel` update, then end as cancelled.
            await self._on_workflow_cancelled()
            raise

    async def _on_workflow_cancelled(self) -> None:
        self._log("workflow cancellation requested: cancelling transfers that have not shipped")
        released = [
            t
            for t in self._order
            if self._transfers[t].state in (TransferState.RELEASED, TransferState.PICKED)
            or (self._state == RebalanceState.RELEASING and self._transfers[t].state in _STARTED)
        ]
        cancelled: list[str] = []
        moving: list[str] = []
        if released:
            for outcome in await self._cancel_in_wms(released, "rebalance cancelled"):
                if outcome.cancelled:
                    self._transfers[outcome.transfer_id].state = TransferState.CANCELLED
                    cancelled.append(outcome.transfer_id)
                else:
                    moving.append(outcome.transfer_id)
        for transfer_id in self._order:
            transfer = self._transfers[transfer_id]
            if transfer.state in (TransferState.PLANNED, TransferState.APPROVED):
                transfer.state = TransferState.CANCELLED
        if self._cancel_report is None:
            self._cancel_report = CancelReport(
                cancelled=cancelled,
                already_moving=moving
                + [t for t in self._order if self._transfers[t].state == TransferState.SHIPPED],
                finished=[],
            )
        self._awaiting = []
        self._set_state(RebalanceState.CANCELLED, "cancelled as a workflow")
        self._log(
            f"cancelled {len(cancelled)} transfer(s) in the WMS; {len(moving)} already moving"
        )
        await workflow.wait_condition(workflow.all_handlers_finished)

    async def _run(self, request: RebalanceRequest) -> RebalanceResult:
        self._request = request
        pairs: list[SearchAttributeUpdate[Any]] = [
            RETAIL_KIND.value_set("rebalance"),
            STORE_COUNT.value_set(len(request.scope.stores)),
        ]
        if request.parent_promotion_id:
            pairs.append(PROMOTION_ID.value_set(request.parent_promotion_id))
        workflow.upsert_search_attributes(pairs)
        self._set_state(RebalanceState.PLANNING, "reading positions and demand")
        self._log(
            f"plan requested ({request.reason}) for {len(request.scope.stores)} store(s)"
            f" x {len(request.scope.items)} item(s), need by {request.need_by.isoformat()}",
            request.requested_by,
        )

        now = workflow.now()
        if request.need_by <= now:
            raise ApplicationError(
                f"need-by {request.need_by.isoformat()} is not in the future",
                type="need_by_in_past",
                non_retryable=True,
            )
        estate = await workflow.execute_activity(
            READ_ESTATE,
            EstateQuery(
                plan_id=request.plan_id,
                stores=request.scope.stores,
                items=request.scope.items,
                planned_at=now,
                need_by=request.need_by,
                read_demand=not self._override_covers_scope(request),
            ),
            result_type=Estate,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=READ_RETRY,
            summary=f"read positions and demand for {len(request.scope.stores)} store(s)",
        )
        plan = plan_rebalance(request, estate, workflow.now())
        self._plan = plan
        for transfer in transfers_for(plan):
            self._transfers[transfer.transfer_id] = transfer
            self._order.append(transfer.transfer_id)
        for event in self._early_events:
            self._apply(event)
        self._early_events.clear()
        self._log(
            f"planned {len(plan.moves)} transfer(s), {plan.total_units} units, cost "
            f"{plan.total_cost}; unmet demand {plan.unmet_demand_before} -> "
            f"{plan.unmet_demand_after}; {len(plan.excluded)} position(s) excluded"
        )
        for excluded in plan.excluded:
            self._log(
                f"excluded {excluded.location_id}/{excluded.item_id}: {excluded.reason} "
                f"({excluded.detail})"
            )
        workflow.upsert_search_attributes([AMOUNT_AT_RISK.value_set(float(plan.total_cost))])
        if len(self._order) > request.policy.max_transfers:
            raise ApplicationError(
                f"the plan needs {len(self._order)} transfers, more than the policy's "
                f"{request.policy.max_transfers}; split the scope",
                type="plan_too_large",
                non_retryable=True,
            )

        if not self._order:
            return await self._finish(RebalanceState.NOTHING_TO_MOVE, "nothing to move")

        self._approval_reasons = approval_reasons(plan, request.policy)
        if self._approval_reasons:
            outcome = await self._await_approval(request)
            if outcome is not None:
                return outcome
        elif self._cancel_request is not None:
            return await self._cancel_before_release()
        for transfer_id in self._order:
            self._advance(self._transfers[transfer_id], TransferState.APPROVED)

        await self._release(request)
        await self._follow(request)
        final = (
            RebalanceState.CANCELLED
            if self._cancel_request is not None
            else RebalanceState.COMPLETED_WITH_VARIANCES
            if self._variances
            or any(self._transfers[t].state != TransferState.RECEIVED for t in self._order)
            else RebalanceState.COMPLETED
        )
        return await self._finish(final, "all transfers settled")

    # ------------------------------------------------------------------ steps

    async def _await_approval(self, request: RebalanceRequest) -> RebalanceResult | None:
        roles = list(request.policy.approval.roles)
        self._awaiting = roles
        self._log("approval needed: " + "; ".join(self._approval_reasons))
        self._set_state(
            RebalanceState.AWAITING_APPROVAL,
            f"waiting for approval by {', '.join(roles)}: " + "; ".join(self._approval_reasons),
        )
        timeout = request.need_by - workflow.now()
        try:
            await workflow.wait_condition(
                lambda: self._rejected or not self._awaiting or self._cancel_request is not None,
                timeout=timeout,
            )
        except TimeoutError:
            self._awaiting = []
            self._log("no approval before the need-by time: plan withdrawn")
            self._cancel_report = CancelReport(
                cancelled=list(self._order), already_moving=[], finished=[]
            )
            for transfer_id in self._order:
                self._transfers[transfer_id].state = TransferState.CANCELLED
            return await self._finish(RebalanceState.CANCELLED, "approval never came")
        self._awaiting = []
        if self._cancel_request is not None:
            return await self._cancel_before_release()
        if self._rejected:
            for transfer_id in self._order:
                self._transfers[transfer_id].state = TransferState.CANCELLED
            return await self._finish(RebalanceState.REJECTED, "plan rejected")
        self._log("plan approved")
        return None

    async def _cancel_before_release(self) -> RebalanceResult:
        assert self._cancel_request is not None
        for transfer_id in self._order:
            self._transfers[transfer_id].state = TransferState.CANCELLED
        self._cancel_report = CancelReport(
            cancelled=list(self._order), already_moving=[], finished=[]
        )
        self._log(
            f"cancelled before release: {self._cancel_request.reason}",
            self._cancel_request.requested_by,
        )
        return await self._finish(RebalanceState.CANCELLED, "cancelled before release")

    async def _release(self, request: RebalanceRequest) -> None:
        self._set_state(RebalanceState.RELEASING, f"releasing {len(self._order)} transfer order(s)")
        info = workflow.info()
        for start in range(0, len(self._order), RELEASE_BATCH):
            batch = [self._transfers[t] for t in self._order[start : start + RELEASE_BATCH]]
            released = await workflow.execute_activity(
                RELEASE_TRANSFERS,
                ReleaseBatch(
                    plan_id=request.plan_id,
                    workflow_id=info.workflow_id,
                    transfers=[
                        TransferOrder(
                            transfer_id=t.transfer_id,
                            source_id=t.source_id,
                            dest_id=t.dest_id,
                            item_id=t.item_id,
                            units=t.units_planned,
                        )
                        for t in batch
                    ],
                    progress=request.wms_progress,
                ),
                result_type=list[ReleasedTransfer],
                start_to_close_timeout=timedelta(minutes=2),
                heartbeat_timeout=timedelta(seconds=30),
                retry_policy=WRITE_RETRY,
                # on cancellation, wait until the activity has stopped before compensating
                cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                summary=f"release transfers {start + 1}-{start + len(batch)} to the WMS",
            )
            for item in released:
                transfer = self._transfers[item.transfer_id]
                self._advance(transfer, TransferState.RELEASED)
        self._log(f"released {len(self._order)} transfer order(s) to the WMS")

    async def _follow(self, request: RebalanceRequest) -> None:
        policy = request.policy
        while True:
            if self._cancel_request is not None and self._cancel_report is None:
                await self._cancel_in_flight()
            await self._file_claims(request)
            open_ids = [t for t in self._order if not self._terminal(self._transfers[t])]
            if not open_ids:
                return
            self._set_state(RebalanceState.IN_PROGRESS, self._progress_words(open_ids))
            now = workflow.now()
            deadlines = []
            if not self._escalated:
                deadlines.append(request.need_by)
            for t in open_ids:
                transfer = self._transfers[t]
                if transfer.shipped_at is not None:
                    deadlines.append(transfer.shipped_at + policy.in_transit_max)
                else:
                    deadlines.append(request.need_by + policy.in_transit_max)
            wait = max(min(deadlines) - now, timedelta(seconds=1))
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
                f"need-by missed with {len(open_ids)} transfer(s) open: escalated to "
                f"{policy.escalation_role}"
            )
        for transfer_id in open_ids:
            transfer = self._transfers[transfer_id]
            if self._terminal(transfer):
                continue
            shipped = transfer.shipped_at is not None
            limit = (
                transfer.shipped_at + policy.in_transit_max
                if transfer.shipped_at is not None
                else request.need_by + policy.in_transit_max
            )
            if now < limit:
                continue
            back = await workflow.execute_activity(
                READ_TRANSFER,
                transfer_id,
                result_type=TransferReadBack,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=READ_RETRY,
                summary=f"check transfer {transfer_id} with the WMS",
            )
            self._log(f"{transfer_id} checked with the WMS: {back.wms_status}")
            if back.wms_status == "RECEIVED":
                self._apply(
                    WmsEvent(
                        event_id=f"readback-{transfer_id}-shipped",
                        transfer_id=transfer_id,
                        step="shipped",
                        lines=[EventLine(item_id=transfer.item_id, quantity=back.shipped)],
                    )
                )
                self._apply(
                    WmsEvent(
                        event_id=f"readback-{transfer_id}-received",
                        transfer_id=transfer_id,
                        step="received",
                        lines=[EventLine(item_id=transfer.item_id, quantity=back.received)],
                    )
                )
            elif not shipped and back.wms_status == "SHIPPED":
                # the shipment event never reached us: age it from now
                self._apply(
                    WmsEvent(
                        event_id=f"readback-{transfer_id}-shipped",
                        transfer_id=transfer_id,
                        step="shipped",
                        lines=[EventLine(item_id=transfer.item_id, quantity=back.shipped)],
                    )
                )
            elif shipped:
                units = back.shipped or transfer.units_shipped or transfer.units_planned
                transfer.state = TransferState.LOST
                variance = Variance(
                    transfer_id=transfer_id,
                    kind="LOST",
                    units=units,
                    detail=f"in transit longer than {policy.in_transit_max}; WMS has no receipt",
                )
                self._variances.append(variance)
                self._pending_claims.append(variance)
                self._log(f"{transfer_id} declared LOST ({units} units)")
            elif back.wms_status == "CANCELLED":
                transfer.state = TransferState.CANCELLED
            else:
                outcomes = await self._cancel_in_wms([transfer_id], "never shipped in time")
                for outcome in outcomes:
                    if outcome.cancelled:
                        transfer.state = TransferState.CANCELLED
                        transfer.note = "never shipped; cancelled after the need-by time"
                        self._log(f"{transfer_id} never shipped: cancelled in the WMS")
                    else:
                        # it shipped while we looked: follow it (aging starts now)
                        self._advance(transfer, TransferState.SHIPPED)
                        transfer.shipped_at = workflow.now()
                        self._log(f"{transfer_id} shipped meanwhile: {outcome.detail}")
        self._refresh_awaiting()

    async def _cancel_in_flight(self) -> None:
        assert self._cancel_request is not None
        request = self._cancel_request
        self._log(f"cancel requested: {request.reason}", request.requested_by)
        to_cancel = [t for t in self._order if self._transfers[t].state in _STARTED]
        moving = [t for t in self._order if self._transfers[t].state == TransferState.SHIPPED]
        finished = [t for t in self._order if self._terminal(self._transfers[t])]
        cancelled: list[str] = []
        if to_cancel:
            for outcome in await self._cancel_in_wms(to_cancel, request.reason):
                transfer = self._transfers[outcome.transfer_id]
                if outcome.cancelled:
                    transfer.state = TransferState.CANCELLED
                    cancelled.append(outcome.transfer_id)
                else:
                    moving.append(outcome.transfer_id)
                    self._advance(transfer, TransferState.SHIPPED)
                    if transfer.shipped_at is None:
                        transfer.shipped_at = workflow.now()
        self._cancel_report = CancelReport(
            cancelled=cancelled, already_moving=sorted(moving), finished=finished
        )
        self._log(
            f"cancelled {len(cancelled)} transfer(s); {len(moving)} already moving will be "
            "followed to receipt"
        )

    async def _cancel_in_wms(self, transfer_ids: list[str], reason: str) -> list[CancelOutcome]:
        assert self._request is not None
        return await workflow.execute_activity(
            CANCEL_TRANSFERS,
            CancelBatch(plan_id=self._request.plan_id, transfer_ids=transfer_ids, reason=reason),
            result_type=list[CancelOutcome],
            start_to_close_timeout=timedelta(minutes=2),
            heartbeat_timeout=timedelta(seconds=30),
            retry_policy=WRITE_RETRY,
            summary=f"cancel {len(transfer_ids)} unshipped transfer(s) in the WMS",
        )

    async def _file_claims(self, request: RebalanceRequest) -> None:
        while self._pending_claims:
            variance = self._pending_claims.pop(0)
            transfer = self._transfers[variance.transfer_id]
            filed = await workflow.execute_activity(
                FILE_CLAIM,
                ClaimInput(
                    plan_id=request.plan_id,
                    transfer_id=variance.transfer_id,
                    kind=variance.kind.lower(),
                    item_id=transfer.item_id,
                    units=variance.units,
                    reason=variance.detail,
                ),
                result_type=ClaimFiled,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=WRITE_RETRY,
                summary=f"ERP claim for {variance.kind.lower()} {variance.transfer_id}",
            )
            variance.claim_id = filed.claim_id
            self._log(
                f"claim {filed.claim_id} filed for {variance.transfer_id}: {variance.kind} "
                f"{variance.units} units ({filed.amount})"
            )

    async def _finish(self, state: RebalanceState, words: str) -> RebalanceResult:
        assert self._request is not None
        self._awaiting = []
        if self._cancel_request is not None and self._cancel_report is None:
            self._cancel_report = CancelReport(cancelled=[], already_moving=[], finished=[])
        self._set_state(state, words)
        self._log(f"finished: {state.value}")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return result_from(
            self._request.plan_id,
            state,
            self._plan,
            [self._transfers[t] for t in self._order],
            list(self._variances),
        )

    # ------------------------------------------------------------------ messages

    @workflow.update
    async def approve(self, decision: ApprovalDecision) -> RebalanceStatus:
        """Approve (or, with approve=false, reject) a plan awaiting approval."""
        self._record_decision(decision)
        return self.status()

    @workflow.signal
    def approval(self, decision: ApprovalDecision) -> None:
        """The same decision from a system that can only signal; a refusal is audited."""
        try:
            self._validate_approve(decision)
        except ValueError as err:
            self._log(f"refused decision sent by signal: {err}", decision.approver)
            return
        self._record_decision(decision)

    def _record_decision(self, decision: ApprovalDecision) -> None:
        already = any(
            a.approver == decision.approver and a.role == decision.role for a in self._approvals
        )
        if not already:
            self._approvals.append(
                ApprovalRecord(
                    role=decision.role,
                    approver=decision.approver,
                    approve=decision.approve,
                    at=workflow.now(),
                    comment=decision.comment,
                )
            )
            verb = "approved" if decision.approve else "rejected"
            self._log(
                f"{verb} as {decision.role}"
                + (f": {decision.comment}" if decision.comment else ""),
                decision.approver,
            )
            if not decision.approve:
                self._rejected = True
            else:
                self._awaiting = [r for r in self._awaiting if r != decision.role]
        self._refresh_awaiting()

    @approve.validator
    def _validate_approve(self, decision: ApprovalDecision) -> None:
        if self._request is None:
            raise ValueError("the plan has not started yet")
        check_decision(decision, self._request.policy, self._state)
        if decision.role not in self._awaiting and not any(
            a.role == decision.role and a.approver == decision.approver for a in self._approvals
        ):
            raise ValueError(f"role {decision.role!r} has already decided")

    @workflow.update
    async def cancel(self, request: CancelRequest) -> CancelReport:
        """Cancel what has not shipped; report what is already moving."""
        if self._cancel_request is None:
            self._cancel_request = request
            self._wake = True
        await workflow.wait_condition(lambda: self._cancel_report is not None)
        assert self._cancel_report is not None
        return self._cancel_report

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        if self._state in CLOSED_STATES:
            raise ValueError(f"the plan is closed ({self._state.value}); nothing to cancel")

    @workflow.signal
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

    @workflow.query
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
            transfers=[self._transfers[t] for t in self._order],
            variances=list(self._variances),
            excluded=self._plan.excluded if self._plan else [],
            escalated=self._escalated,
            audit=list(self._audit),
        )

    # ------------------------------------------------------------------ helpers

    def _apply(self, event: WmsEvent) -> None:
        transfer = self._transfers.get(event.transfer_id)
        if transfer is None:
            self._log(
                f"ignored {event.step} event {event.event_id} for unknown transfer "
                f"{event.transfer_id}"
            )
            return
        assert self._request is not None
        before = transfer.state
        variance = apply_wms_event(
            transfer, event, workflow.now(), tolerance=self._request.policy.receipt_tolerance_units
        )
        if transfer.state != before:
            self._log(
                f"{transfer.transfer_id}: {event.step} {event.quantity} -> {transfer.state.value}"
            )
        if variance is not None:
            self._variances.append(variance)
            self._pending_claims.append(variance)
            self._log(f"variance on {transfer.transfer_id}: {variance.detail}")

    def _advance(self, transfer: Transfer, state: TransferState) -> None:
        order = [
            TransferState.PLANNED,
            TransferState.APPROVED,
            TransferState.RELEASED,
            TransferState.PICKED,
            TransferState.SHIPPED,
        ]
        if transfer.state in order and order.index(transfer.state) < order.index(state):
            transfer.state = state

    @staticmethod
    def _terminal(transfer: Transfer) -> bool:
        return transfer.state in TERMINAL_TRANSFER_STATES

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

    def _progress_words(self, open_ids: list[str]) -> str:
        counts: dict[str, int] = {}
        for t in self._order:
            state = self._transfers[t].state.value
            counts[state] = counts.get(state, 0) + 1
        summary = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
        tail = " (need-by missed, escalated)" if self._escalated else ""
        return f"following {len(open_ids)} open transfer(s): {summary}{tail}"

    def _log(self, what: str, who: str | None = None) -> None:
        self._audit.append(AuditEntry(at=workflow.now(), what=what, who=who))

    @staticmethod
    def _override_covers_scope(request: RebalanceRequest) -> bool:
        covered = {(o.store_id, o.item_id) for o in request.demand_override}
        return all((s, i) in covered for s in request.scope.stores for i in request.scope.items)
