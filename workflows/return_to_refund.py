"""`ReturnToRefund`: from a return request to refunded, restocked and posted.

Id `return-{rma_id}`. REQUESTED -> AUTHORIZED | DECLINED -> AWAITING_ITEM (deadline;
EXPIRED) -> RECEIVED -> INSPECTED (disposition and its follow-up) -> AWAITING_APPROVAL
(medium and high fraud tiers) -> REFUNDING (a saga over the original tenders, store
credit when a tender fails for good) -> REFUNDED | PARTIALLY_REFUNDED -> CLOSED.

Messages: signals `item_received` (duplicates dropped) and `inspection_result`; updates
`approve` and `reject` (validated: the role the tier needs, an open decision); query
`status`. Rules come from `domain.returns`; side effects from `activities.returns`.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from common.search_attributes import AMOUNT_AT_RISK, AWAITING_ROLE, RETAIL_KIND, RETAIL_STATE
    from domain.returns import (
        ZERO,
        ApprovalRecord,
        ApprovalSignal,
        AuditEntry,
        CreditMemo,
        CustomerNotice,
        Decision,
        FollowUp,
        FollowUpOrder,
        FraudQuery,
        FraudScoreResult,
        InspectionResult,
        ItemReceived,
        LegResult,
        LegState,
        NotificationKind,
        OrderFound,
        OrderLookup,
        OrderRecord,
        RefundLeg,
        ReturnException,
        ReturnInput,
        ReturnLineRequest,
        ReturnState,
        ReturnStatus,
        Role,
        TenderAllocation,
        TenderRefund,
        allocate_refund,
        approval_refusal,
        assess_fraud,
        check_eligibility,
        decide_disposition,
        follow_ups,
        refund_mismatch,
        store_credit_fallback,
    )

KIND = "return"

# Reads: retry transient faults for a while; refusals (4xx) are non-retryable errors.
READ_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=8,
)
# Money, postings and stock: every call carries an idempotency key, so retrying is safe,
# and an outage only delays the return (no attempt limit). A refusal is never retried: it
# is "failed for good" (a declined tender falls back to store credit).
WRITE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    maximum_attempts=0,
)
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=10,
)
CALL_TIMEOUT = timedelta(seconds=30)


@workflow.defn(name="ReturnToRefund")
class ReturnToRefund:
    def __init__(self) -> None:
        self._status: ReturnStatus | None = None
        self._allowed: list[Role] = []
        self._decision: tuple[str, Decision] | None = None
        self._received: ItemReceived | None = None
        self._receipts: set[str] = set()
        self._inspection: InspectionResult | None = None
        self._early: list[AuditEntry] = []
        self._store_id: str | None = None

    # ------------------------------------------------------------------ messages

    @workflow.query
    def status(self) -> ReturnStatus:
        if self._status is None:
            raise ApplicationError("the return has not started yet", type="NOT_STARTED")
        return self._status

    @workflow.signal
    def item_received(self, event: ItemReceived) -> None:
        """A store scan or a warehouse receipt; any second receipt is dropped."""
        state = self._status.state if self._status else ReturnState.REQUESTED
        if self._received is not None or event.receipt_id in self._receipts:
            self._audit(
                event.received_by or event.source,
                "item_received dropped",
                f"duplicate receipt {event.receipt_id}: the item was already received",
            )
            return
        if state not in (ReturnState.REQUESTED, ReturnState.AUTHORIZED, ReturnState.AWAITING_ITEM):
            self._audit(
                event.received_by or event.source,
                "item_received ignored",
                f"receipt {event.receipt_id} arrived while the return is {state.value}",
            )
            return
        self._receipts.add(event.receipt_id)
        self._received = event
        self._audit(
            event.received_by or event.source,
            "item received",
            f"{event.source} {event.receipt_id} at {event.location or 'unknown location'}",
        )

    @workflow.signal
    def inspection_result(self, result: InspectionResult) -> None:
        if self._received is None or self._inspection is not None:
            why = "the item is not received yet" if self._received is None else "already inspected"
            self._audit(result.inspector, "inspection ignored", why)
            return
        self._inspection = result
        self._audit(result.inspector, "inspected", f"condition {result.condition.value}")

    @workflow.update
    async def approve(self, decision: Decision) -> ReturnStatus:
        return await self._decide("approved", decision)

    @approve.validator
    def _validate_approve(self, decision: Decision) -> None:
        self._validate(decision)

    @workflow.update
    async def reject(self, decision: Decision) -> ReturnStatus:
        return await self._decide("rejected", decision)

    @reject.validator
    def _validate_reject(self, decision: Decision) -> None:
        self._validate(decision)

    @workflow.signal
    def approval(self, signal: ApprovalSignal) -> None:
        """The `approve`/`reject` decision for senders that can only signal (e-mail links,
        chat bots): the same checks run; a refused decision goes to the audit trail."""
        decision = Decision(approver=signal.approver, role=signal.role, note=signal.note)
        try:
            self._validate(decision)
        except ValueError as refused:
            self._audit(signal.approver, f"{signal.verdict} refused", str(refused))
            return
        verdict = "approved" if signal.verdict == "approve" else "rejected"
        self._decision = (verdict, decision)
        self._audit(decision.approver, verdict, f"as {decision.role.value}: {decision.note}")

    def _validate(self, decision: Decision) -> None:
        state = self._status.state if self._status else ReturnState.REQUESTED
        if self._decision is not None:
            raise ValueError(f"this return was already {self._decision[0]}")
        refusal = approval_refusal(state, self._allowed, decision)
        if refusal:
            raise ValueError(refusal)

    async def _decide(self, verdict: str, decision: Decision) -> ReturnStatus:
        if self._decision is not None:  # two decisions validated in the same task
            raise ApplicationError(
                f"this return was already {self._decision[0]}", type="ALREADY_DECIDED"
            )
        self._decision = (verdict, decision)
        self._audit(decision.approver, verdict, f"as {decision.role.value}: {decision.note}")
        await workflow.wait_condition(lambda: self._st.state is not ReturnState.AWAITING_APPROVAL)
        return self._st

    # ------------------------------------------------------------------ helpers

    @property
    def _st(self) -> ReturnStatus:
        assert self._status is not None
        return self._status

    def _audit(self, actor: str, action: str, detail: str = "") -> None:
        entry = AuditEntry(at=workflow.now(), actor=actor, action=action, detail=detail)
        if self._status is None:
            self._early.append(entry)
        else:
            self._status.audit.append(entry)

    def _set_state(self, state: ReturnState, details: str) -> None:
        self._st.state = state
        self._st.awaiting_role = list(self._allowed)
        self._audit("workflow", state.value, details)
        workflow.set_current_details(f"**{state.value}**: {details}")
        # The most senior role allowed (after an escalation, the escalation role).
        awaiting = self._allowed[-1].value if self._allowed else None
        pairs: list[SearchAttributeUpdate[Any]] = [
            RETAIL_KIND.value_set(KIND),
            RETAIL_STATE.value_set(state.value),
            AWAITING_ROLE.value_set(awaiting) if awaiting else AWAITING_ROLE.value_unset(),
        ]
        if self._st.expected_refund is not None:
            pairs.append(AMOUNT_AT_RISK.value_set(float(self._st.expected_refund)))
        workflow.upsert_search_attributes(pairs)

    async def _notify(
        self, kind: NotificationKind, message: str, inp: ReturnInput, *, about: str = ""
    ) -> None:
        """Tell the customer; `about` tells apart several notices of one kind (per tender)."""
        suffix = f"-{about}" if about else ""
        notice = CustomerNotice(
            rma_id=inp.request.rma_id,
            store_id=self._store_id,
            customer=inp.request.customer,
            kind=kind,
            message=message,
            idempotency_key=f"notify-{inp.request.rma_id}-{kind.value}{suffix}",
        )
        try:
            await workflow.execute_activity(
                "returns.notify_customer",
                notice,
                start_to_close_timeout=CALL_TIMEOUT,
                retry_policy=NOTIFY_RETRY,
                summary=f"tell the customer: {kind.value}",
            )
        except ActivityError as err:
            # A notice that cannot be sent never blocks the money; it is on the record.
            self._audit("workflow", "notification failed", f"{kind.value}: {_cause(err)}")
            return
        self._audit("workflow", "customer notified", f"{kind.value}: {message}")

    # ------------------------------------------------------------------ the process

    @workflow.run
    async def run(self, inp: ReturnInput) -> ReturnStatus:
        req, policy = inp.request, inp.policy
        self._status = ReturnStatus(
            rma_id=req.rma_id,
            order_id=req.order_id,
            state=ReturnState.REQUESTED,
            channel=req.channel,
            store_id=req.store_id,
            customer=req.customer.masked_email(),
            reason=req.reason,
            audit=self._early,
        )
        self._set_state(ReturnState.REQUESTED, f"return {req.rma_id} for order {req.order_id}")

        found: OrderFound = await workflow.execute_activity(
            "returns.lookup_order",
            OrderLookup(rma_id=req.rma_id, order_id=req.order_id, channel=req.channel),
            result_type=OrderFound,
            start_to_close_timeout=CALL_TIMEOUT,
            retry_policy=READ_RETRY,
            summary=f"look up order {req.order_id}",
        )
        order = found.order
        self._store_id = req.store_id or (order.store_id if order else None)
        now = workflow.now()
        eligibility = check_eligibility(req, order, now, policy)
        self._st.declines = eligibility.declines
        self._st.quote = eligibility.quote
        if not eligibility.authorized or order is None or eligibility.quote is None:
            reasons = "; ".join(d.message for d in eligibility.declines)
            self._set_state(ReturnState.DECLINED, reasons)
            await self._notify(NotificationKind.DECLINED, f"Return declined: {reasons}", inp)
            return await self._finish()
        quote = eligibility.quote
        self._st.expected_refund = quote.net

        score: FraudScoreResult = await workflow.execute_activity(
            "returns.score_fraud",
            FraudQuery(
                rma_id=req.rma_id,
                customer_id=req.customer.customer_id,
                value=quote.gross,
                has_receipt=req.has_receipt,
                days_since_purchase=max((now - order.purchased_at).days, 0),
                reason=req.reason,
                item_count=sum(line.quantity for line in quote.lines),
            ),
            result_type=FraudScoreResult,
            start_to_close_timeout=CALL_TIMEOUT,
            retry_policy=READ_RETRY,
            summary="score the return for fraud",
        )
        fraud = assess_fraud(score.score, score.reasons, policy)
        self._st.fraud = fraud
        deadline = now + timedelta(days=policy.item_deadline_days[req.channel])
        self._st.item_deadline = deadline
        self._set_state(
            ReturnState.AUTHORIZED,
            f"refund of {quote.net} authorized; fraud tier {fraud.tier.value} "
            f"(score {fraud.score})",
        )
        await self._notify(
            NotificationKind.AUTHORIZED,
            f"Return {req.rma_id} authorized: bring or send the item by "
            f"{deadline.date().isoformat()}",
            inp,
        )

        # -- the item -----------------------------------------------------------------
        if self._received is None:
            self._set_state(
                ReturnState.AWAITING_ITEM, f"waiting for the item until {deadline.isoformat()}"
            )
            try:
                await workflow.wait_condition(
                    lambda: self._received is not None,
                    timeout=max(deadline - workflow.now(), timedelta(seconds=1)),
                    timeout_summary="item deadline",
                )
            except TimeoutError:
                self._set_state(ReturnState.EXPIRED, "the item never arrived by its deadline")
                await self._notify(
                    NotificationKind.EXPIRED,
                    f"Return {req.rma_id} expired: the item did not arrive by "
                    f"{deadline.date().isoformat()}",
                    inp,
                )
                return await self._finish()
        assert self._received is not None
        received_at = workflow.now()
        self._st.received_at = received_at
        self._st.receipt_id = self._received.receipt_id
        self._st.refund_due_at = received_at + timedelta(hours=policy.receipt_to_refund_sla_hours)
        self._set_state(ReturnState.RECEIVED, f"received by {self._received.source}")

        await workflow.wait_condition(lambda: self._inspection is not None)
        inspection = self._inspection
        assert inspection is not None
        self._st.inspection = inspection
        planned: list[FollowUp] = []
        for line in quote.lines:
            disposition = inspection.disposition or decide_disposition(
                inspection.condition,
                category=line.category,
                vendor_returnable=line.vendor_returnable,
                policy=policy,
            )
            self._st.dispositions[line.sku] = disposition
            planned.extend(follow_ups(disposition, [line], policy))
        self._st.follow_ups = planned
        self._set_state(
            ReturnState.INSPECTED,
            ", ".join(f"{sku}: {d.value}" for sku, d in self._st.dispositions.items()),
        )
        location = self._received.location or self._store_id or "DC-RETURNS"
        for n, follow in enumerate(planned, start=1):
            try:
                await workflow.execute_activity(
                    "returns.follow_up",
                    FollowUpOrder(
                        rma_id=req.rma_id,
                        location_id=location,
                        follow_up=follow,
                        idempotency_key=f"followup-{req.rma_id}-{n}-{follow.kind.value}",
                    ),
                    start_to_close_timeout=CALL_TIMEOUT,
                    retry_policy=WRITE_RETRY,
                    summary=f"{follow.kind.value} {follow.sku} x{follow.quantity}",
                )
            except ActivityError as err:
                # The money does not wait for the stock room: a person sorts it out.
                problem = f"{follow.kind.value} {follow.sku} failed: {_cause(err)}"
                self._audit("workflow", "follow-up failed", problem)
                await self._exception(inp, f"follow_up_{n}", problem)
                continue
            self._audit("workflow", follow.kind.value, f"{follow.sku} x{follow.quantity}")

        # -- approval by fraud tier ---------------------------------------------------
        if fraud.required_role is not None:
            if not await self._await_approval(inp):
                return await self._finish()

        # -- refund saga --------------------------------------------------------------
        await self._refund(inp, order, quote.net, quote.restocking_fee)
        return await self._finish()

    async def _exception(self, inp: ReturnInput, kind: str, message: str) -> None:
        """Open an exception for a person (a store task); never fails the return."""
        try:
            await workflow.execute_activity(
                "returns.open_exception",
                ReturnException(
                    rma_id=inp.request.rma_id,
                    store_id=self._store_id,
                    kind=kind,
                    message=message,
                    due_at=workflow.now() + timedelta(days=1),
                    idempotency_key=f"exception-{inp.request.rma_id}-{kind}",
                ),
                start_to_close_timeout=CALL_TIMEOUT,
                retry_policy=WRITE_RETRY,
                summary=f"open exception: {kind}",
            )
        except ActivityError as err:
            self._audit("workflow", "exception not opened", f"{kind}: {_cause(err)}")
            return
        self._audit("workflow", "exception opened", f"{kind}: {message}")

    async def _await_approval(self, inp: ReturnInput) -> bool:
        fraud = self._st.fraud
        assert fraud is not None and fraud.required_role is not None
        policy = inp.policy
        self._allowed = [fraud.required_role]
        hold = " (refund held)" if fraud.holds_refund else ""
        self._set_state(
            ReturnState.AWAITING_APPROVAL,
            f"fraud tier {fraud.tier.value}: waiting for {fraud.required_role.value}{hold}; "
            f"reasons: {', '.join(fraud.reasons) or 'score only'}",
        )
        sla = timedelta(hours=policy.approval_sla_hours.get(fraud.tier, 24))
        due = workflow.now() + sla
        if self._st.refund_due_at is not None:
            due = min(due, max(self._st.refund_due_at, workflow.now() + timedelta(minutes=1)))
        try:
            await workflow.wait_condition(
                lambda: self._decision is not None,
                timeout=due - workflow.now(),
                timeout_summary="approval SLA",
            )
        except TimeoutError:
            self._st.escalated = True
            if fraud.escalation_role is not None and fraud.escalation_role not in self._allowed:
                self._allowed.append(fraud.escalation_role)
            waiting_for = " or ".join(r.value for r in self._allowed)
            await self._exception(
                inp,
                "approval_overdue",
                f"return {inp.request.rma_id} waits for {waiting_for} past its SLA",
            )
            self._set_state(
                ReturnState.AWAITING_APPROVAL,
                f"escalated: approval overdue, now waiting for {waiting_for}",
            )
            await workflow.wait_condition(lambda: self._decision is not None)
        assert self._decision is not None
        verdict, decision = self._decision
        self._st.approval = ApprovalRecord(
            decision=verdict,
            approver=decision.approver,
            role=decision.role,
            note=decision.note,
            at=workflow.now(),
        )
        self._allowed = []
        if verdict == "rejected":
            self._set_state(
                ReturnState.REJECTED, f"rejected by {decision.approver} ({decision.role.value})"
            )
            await self._notify(
                NotificationKind.REJECTED,
                f"Return {inp.request.rma_id} was not approved for a refund",
                inp,
            )
            return False
        self._audit(decision.approver, "approval recorded", decision.role.value)
        return True

    async def _refund(
        self, inp: ReturnInput, order: OrderRecord, net: Decimal, fee: Decimal
    ) -> None:
        req = inp.request
        plan = allocate_refund(
            req.rma_id,
            net,
            order.tenders,
            channel=req.channel,
            has_receipt=req.has_receipt,
            policy=inp.policy,
        )
        self._st.tenders = [TenderRefund(allocation=a) for a in plan]
        self._set_state(
            ReturnState.REFUNDING,
            f"refunding {net} over {len(plan)} tender(s)"
            + (f" after a restocking fee of {fee}" if fee > 0 else ""),
        )
        for leg in self._st.tenders:
            await self._refund_leg(inp, leg)
        refunded = sum((leg.refunded for leg in self._st.tenders), ZERO)
        self._st.refunded_total = refunded
        memo = await workflow.execute_activity(
            "returns.post_credit_memo",
            CreditMemo(
                rma_id=req.rma_id,
                order_id=req.order_id,
                customer_id=req.customer.customer_id,
                amount=refunded,
                restocking_fee=fee,
                idempotency_key=f"credit-memo-{req.rma_id}",
            ),
            result_type=str,
            start_to_close_timeout=CALL_TIMEOUT,
            retry_policy=WRITE_RETRY,
            summary=f"post credit memo {refunded}",
        )
        self._st.credit_memo_id = memo
        self._audit("workflow", "credit memo posted", f"{memo}: {refunded}")
        mismatch = refund_mismatch(net, refunded)
        self._st.mismatch = mismatch
        now = workflow.now()
        self._st.refunded_at = now
        if self._st.received_at is not None:
            self._st.receipt_to_refund_seconds = (now - self._st.received_at).total_seconds()
        if self._st.refund_due_at is not None:
            self._st.refund_sla_met = now <= self._st.refund_due_at
        if mismatch != 0:
            self._st.exception = (
                f"refund mismatch: expected {net}, refunded {refunded} (difference {mismatch})"
            )
            await self._exception(inp, "refund_mismatch", self._st.exception)
            self._st.outcome = ReturnState.PARTIALLY_REFUNDED
            self._set_state(ReturnState.PARTIALLY_REFUNDED, self._st.exception)
        else:
            self._st.outcome = ReturnState.REFUNDED
            self._set_state(ReturnState.REFUNDED, f"{refunded} refunded")
        await self._notify(
            NotificationKind.REFUNDED, f"Return {req.rma_id}: {refunded} refunded", inp
        )
        self._set_state(ReturnState.CLOSED, f"closed: {refunded} of {net} refunded")

    async def _refund_leg(self, inp: ReturnInput, leg: TenderRefund) -> None:
        req = inp.request
        allocation = leg.allocation
        try:
            result = await self._pay(req.rma_id, req.order_id, allocation)
        except ActivityError as err:
            leg.failure = _cause(err)
            self._audit("workflow", "tender failed", f"{allocation.method.value}: {leg.failure}")
            if allocation.method.value == "store_credit":
                leg.state = LegState.FAILED
                return
            fallback = store_credit_fallback(allocation)
            try:
                result = await self._pay(req.rma_id, req.order_id, fallback)
            except ActivityError as err2:
                leg.state = LegState.FAILED
                leg.failure = f"{leg.failure}; store credit also failed: {_cause(err2)}"
                return
            leg.state = LegState.FELL_BACK_TO_STORE_CREDIT
            leg.refunded = result.amount
            leg.refund_id = result.refund_id
            await self._notify(
                NotificationKind.STORE_CREDIT_FALLBACK,
                f"{allocation.amount} could not go back to your {allocation.method.value}"
                + (f" ending {allocation.card_last4}" if allocation.card_last4 else "")
                + f"; it was issued as store credit {result.store_credit_id or result.refund_id}",
                inp,
                about=allocation.tender_id or "",
            )
            return
        leg.state = LegState.REFUNDED
        leg.refunded = result.amount
        leg.refund_id = result.refund_id

    async def _pay(self, rma_id: str, order_id: str, allocation: TenderAllocation) -> LegResult:
        # every leg names the lines taken back: the POS records them once per return
        quote = self._st.quote
        lines = [
            ReturnLineRequest(sku=q.sku, quantity=q.quantity)
            for q in (quote.lines if quote else [])
        ]
        return await workflow.execute_activity(
            "returns.refund_tender",
            RefundLeg(rma_id=rma_id, order_id=order_id, allocation=allocation, lines=lines),
            result_type=LegResult,
            start_to_close_timeout=CALL_TIMEOUT,
            retry_policy=WRITE_RETRY,
            summary=f"refund {allocation.amount} to {allocation.method.value}",
        )

    async def _finish(self) -> ReturnStatus:
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._st


def _cause(err: BaseException) -> str:
    cause = err.cause if isinstance(err, ActivityError) and err.cause else err
    if isinstance(cause, ApplicationError) and cause.type:
        return f"{cause.type}: {cause.message}"
    return str(cause)


__all__ = ["ReturnToRefund"]
