"""`ReturnToRefund`: from a return request to refunded, restocked and posted.

REQUESTED -> AUTHORIZED | DECLINED -> AWAITING_ITEM (deadline; EXPIRED) -> RECEIVED ->
INSPECTED (disposition and its follow-up) -> AWAITING_APPROVAL (the fraud tiers the policy
gives a role) -> REFUNDING (a saga over the original tenders, store credit when a tender
fails for good) -> REFUNDED | PARTIALLY_REFUNDED -> CLOSED.

Names, messages and activities come from `domain.returns.contract`; every decision from
the rules in `domain.returns`; side effects run as activities by their contract spec.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from common.search_attributes import AMOUNT_AT_RISK, AWAITING_ROLE, RETAIL_KIND, RETAIL_STATE
    from common.signals import audited, reads
    from domain.audit import AuditEntry
    from domain.identity import REFUSE_ALL, VerifiedDecision
    from domain.money import ZERO
    from domain.returns import contract as c
    from domain.returns.approval import (
        approval_due,
        approval_refusal,
        awaited_role,
        prove,
        roles_after_escalation,
    )
    from domain.returns.contract import (
        ApprovalSignal,
        CreditMemo,
        CustomerNotice,
        Decision,
        FollowUpOrder,
        FraudQuery,
        InspectionResult,
        ItemReceived,
        LegResult,
        NotificationKind,
        OrderLookup,
        RefundLeg,
        ReturnException,
        ReturnInput,
    )
    from domain.returns.disposition import plan_dispositions, receiving_location
    from domain.returns.eligibility import check_eligibility
    from domain.returns.fraud import FraudAssessment, assess_fraud
    from domain.returns.policy import Role
    from domain.returns.refund import (
        RefundQuote,
        TenderAllocation,
        allocate_refund,
        can_fall_back,
        fallback_notice,
        store_credit_fallback,
    )
    from domain.returns.request import OrderRecord
    from domain.returns.settlement import refund_sla, settle
    from domain.returns.status import (
        APPROVED,
        RECEIVING_STATES,
        REJECTED,
        ApprovalRecord,
        LegState,
        ReturnState,
        ReturnStatus,
        TenderRefund,
    )
    from workflows.activity_calls import best_effort, call, failure_words
    from workflows.identity import accept, trust_for, verified
    from workflows.refusals import refusing

EXCEPTION_DUE = timedelta(days=1)
"""How long a person has to look at an exception (the store task's due time)."""


@workflow.defn(name=c.WORKFLOW_TYPE)
class ReturnToRefund:
    def __init__(self) -> None:
        self._inp: ReturnInput | None = None
        self._status: ReturnStatus | None = None
        self._allowed: list[Role] = []
        self._decision: tuple[str, Decision] | None = None
        self._received: ItemReceived | None = None
        self._receipts: set[str] = set()
        self._inspection: InspectionResult | None = None
        self._early: list[AuditEntry] = []
        self._store_id: str | None = None
        self._checked_at: datetime | None = None
        self._trust, self._tokens = REFUSE_ALL, set[str]()

    # ------------------------------------------------------------------ the process

    @workflow.run
    async def run(self, inp: ReturnInput) -> ReturnStatus:
        self._begin(inp)
        order, quote = await self._check_eligibility()
        if order is None or quote is None:
            return await self._finish()
        fraud = await self._score_fraud(order, quote)
        deadline = await self._authorize(quote, fraud)
        if not await self._item_arrives(deadline):
            return await self._finish()
        await self._inspect_and_follow_up(quote)
        if fraud.required_role is not None and not await self._await_approval(fraud):
            return await self._finish()
        await self._refund(order, quote)
        return await self._finish()

    def _begin(self, inp: ReturnInput) -> None:
        req = inp.request
        self._inp = inp
        self._trust = trust_for(inp.policy.trust, inp.policy.model_fields_set)
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

    async def _check_eligibility(self) -> tuple[OrderRecord | None, RefundQuote | None]:
        """The receipt lookup and the policy: the order and the quote, or declined."""
        req, policy = self._in.request, self._in.policy
        found = await call(
            c.LOOKUP_ORDER,
            OrderLookup(rma_id=req.rma_id, order_id=req.order_id, channel=req.channel),
            summary=f"look up order {req.order_id}",
        )
        order = found.order
        self._store_id = req.store_id or (order.store_id if order else None)
        self._checked_at = workflow.now()
        eligibility = check_eligibility(req, order, self._checked_at, policy)
        self._st.declines = eligibility.declines
        self._st.quote = eligibility.quote
        if not eligibility.authorized or order is None or eligibility.quote is None:
            reasons = eligibility.reasons()
            self._set_state(ReturnState.DECLINED, reasons)
            await self._notify(NotificationKind.DECLINED, f"Return declined: {reasons}")
            return None, None
        self._st.expected_refund = eligibility.quote.net
        return order, eligibility.quote

    async def _score_fraud(self, order: OrderRecord, quote: RefundQuote) -> FraudAssessment:
        req = self._in.request
        score = await call(
            c.SCORE_FRAUD,
            FraudQuery(
                rma_id=req.rma_id,
                customer_id=req.customer.customer_id,
                value=quote.gross,
                has_receipt=req.has_receipt,
                days_since_purchase=max((self._checked - order.purchased_at).days, 0),
                reason=req.reason,
                item_count=sum(line.quantity for line in quote.lines),
            ),
            summary="score the return for fraud",
        )
        fraud = assess_fraud(score.score, score.reasons, self._in.policy)
        self._st.fraud = fraud
        return fraud

    async def _authorize(self, quote: RefundQuote, fraud: FraudAssessment) -> datetime:
        """Authorized: the customer is told by when the item must arrive."""
        req, policy = self._in.request, self._in.policy
        deadline = self._checked + timedelta(days=policy.item_deadline_days[req.channel])
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
        )
        return deadline

    async def _item_arrives(self, deadline: datetime) -> bool:
        """Wait for the item until its deadline; EXPIRED (customer told) when it never comes."""
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
                    f"Return {self._in.request.rma_id} expired: the item did not arrive by "
                    f"{deadline.date().isoformat()}",
                )
                return False
        assert self._received is not None
        received_at = workflow.now()
        sla = timedelta(hours=self._in.policy.receipt_to_refund_sla_hours)
        self._st.received_at = received_at
        self._st.receipt_id = self._received.receipt_id
        self._st.refund_due_at = received_at + sla
        self._set_state(ReturnState.RECEIVED, f"received by {self._received.source}")
        return True

    async def _inspect_and_follow_up(self, quote: RefundQuote) -> None:
        """The inspection decides each line's disposition; its follow-ups run (a failed one
        opens an exception for a person: the money does not wait for the stock room)."""
        await workflow.wait_condition(lambda: self._inspection is not None)
        inspection = self._inspection
        assert inspection is not None and self._received is not None
        self._st.inspection = inspection
        dispositions, planned = plan_dispositions(
            inspection.condition, inspection.disposition, quote.lines, self._in.policy
        )
        self._st.dispositions = dispositions
        self._st.follow_ups = planned
        self._set_state(
            ReturnState.INSPECTED, ", ".join(f"{sku}: {d.value}" for sku, d in dispositions.items())
        )
        rma_id = self._in.request.rma_id
        location = receiving_location(self._received.location, self._store_id)
        for n, follow in enumerate(planned, start=1):
            what = f"{follow.kind.value} {follow.sku} x{follow.quantity}"
            try:
                await call(
                    c.FOLLOW_UP,
                    FollowUpOrder(
                        rma_id=rma_id,
                        location_id=location,
                        follow_up=follow,
                        idempotency_key=c.follow_up_key(rma_id, n, follow),
                    ),
                    summary=what,
                )
            except ActivityError as err:
                problem = f"{follow.kind.value} {follow.sku} failed: {failure_words(err)}"
                self._audit("workflow", "follow-up failed", problem)
                await self._exception(f"follow_up_{n}", problem)
                continue
            self._audit("workflow", follow.kind.value, f"{follow.sku} x{follow.quantity}")

    async def _await_approval(self, fraud: FraudAssessment) -> bool:
        """The tier's role decides; past the SLA an exception opens and the escalation role
        may decide too. False when rejected (the customer is told)."""
        assert fraud.required_role is not None
        self._allowed = [fraud.required_role]
        hold = " (refund held)" if fraud.holds_refund else ""
        self._set_state(
            ReturnState.AWAITING_APPROVAL,
            f"fraud tier {fraud.tier.value}: waiting for {fraud.required_role.value}{hold}; "
            f"reasons: {', '.join(fraud.reasons) or 'score only'}",
        )
        due = approval_due(fraud, workflow.now(), self._st.refund_due_at, self._in.policy)
        try:
            await workflow.wait_condition(
                lambda: self._decision is not None,
                timeout=due - workflow.now(),
                timeout_summary="approval SLA",
            )
        except TimeoutError:
            await self._escalate(fraud)
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
        if verdict == REJECTED:
            self._set_state(
                ReturnState.REJECTED, f"rejected by {decision.approver} ({decision.role.value})"
            )
            await self._notify(
                NotificationKind.REJECTED,
                f"Return {self._in.request.rma_id} was not approved for a refund",
            )
            return False
        self._audit(decision.approver, "approval recorded", decision.role.value)
        return True

    async def _escalate(self, fraud: FraudAssessment) -> None:
        self._st.escalated = True
        self._allowed = roles_after_escalation(self._allowed, fraud)
        waiting_for = " or ".join(r.value for r in self._allowed)
        await self._exception(
            "approval_overdue",
            f"return {self._in.request.rma_id} waits for {waiting_for} past its SLA",
        )
        self._set_state(
            ReturnState.AWAITING_APPROVAL,
            f"escalated: approval overdue, now waiting for {waiting_for}",
        )

    async def _refund(self, order: OrderRecord, quote: RefundQuote) -> None:
        """The refund saga: each tender leg, the credit memo, then the outcome checked."""
        req = self._in.request
        net, fee = quote.net, quote.restocking_fee
        plan = allocate_refund(
            req.rma_id,
            net,
            order.tenders,
            channel=req.channel,
            has_receipt=req.has_receipt,
            policy=self._in.policy,
        )
        self._st.tenders = [TenderRefund(allocation=a) for a in plan]
        self._set_state(
            ReturnState.REFUNDING,
            f"refunding {net} over {len(plan)} tender(s)"
            + (f" after a restocking fee of {fee}" if fee > 0 else ""),
        )
        for leg in self._st.tenders:
            await self._refund_leg(leg)
        refunded = sum((leg.refunded for leg in self._st.tenders), ZERO)
        self._st.refunded_total = refunded
        memo = await call(
            c.POST_CREDIT_MEMO,
            CreditMemo(
                rma_id=req.rma_id,
                order_id=req.order_id,
                customer_id=req.customer.customer_id,
                amount=refunded,
                restocking_fee=fee,
                idempotency_key=c.credit_memo_key(req.rma_id),
            ),
            summary=f"post credit memo {refunded}",
        )
        self._st.credit_memo_id = memo
        self._audit("workflow", "credit memo posted", f"{memo}: {refunded}")
        await self._settle(net, refunded)
        await self._notify(NotificationKind.REFUNDED, f"Return {req.rma_id}: {refunded} refunded")
        self._set_state(ReturnState.CLOSED, f"closed: {refunded} of {net} refunded")

    async def _settle(self, net: Decimal, refunded: Decimal) -> None:
        """REFUNDED, or PARTIALLY_REFUNDED with an exception for the refund mismatch."""
        settlement = settle(net, refunded)
        self._st.mismatch = settlement.mismatch
        now = workflow.now()
        self._st.refunded_at = now
        seconds, met = refund_sla(self._st.received_at, self._st.refund_due_at, now)
        if seconds is not None:
            self._st.receipt_to_refund_seconds = seconds
        if met is not None:
            self._st.refund_sla_met = met
        if settlement.problem is not None:
            self._st.exception = settlement.problem
            await self._exception("refund_mismatch", settlement.problem)
            self._st.outcome = settlement.outcome
            self._set_state(ReturnState.PARTIALLY_REFUNDED, settlement.problem)
        else:
            self._st.outcome = settlement.outcome
            self._set_state(ReturnState.REFUNDED, f"{refunded} refunded")

    async def _refund_leg(self, leg: TenderRefund) -> None:
        """One tender; a tender that fails for good is issued as store credit instead (the
        customer told), and a store credit that fails leaves the leg FAILED."""
        allocation = leg.allocation
        try:
            result = await self._pay(allocation)
        except ActivityError as err:
            leg.failure = failure_words(err)
            self._audit("workflow", "tender failed", f"{allocation.method.value}: {leg.failure}")
            if not can_fall_back(allocation):
                leg.state = LegState.FAILED
                return
            try:
                result = await self._pay(store_credit_fallback(allocation))
            except ActivityError as err2:
                leg.state = LegState.FAILED
                leg.failure = f"{leg.failure}; store credit also failed: {failure_words(err2)}"
                return
            self._record_leg(leg, LegState.FELL_BACK_TO_STORE_CREDIT, result)
            await self._notify(
                NotificationKind.STORE_CREDIT_FALLBACK,
                fallback_notice(allocation, result.store_credit_id or result.refund_id),
                about=allocation.tender_id or "",
            )
            return
        self._record_leg(leg, LegState.REFUNDED, result)

    @staticmethod
    def _record_leg(leg: TenderRefund, state: LegState, result: LegResult) -> None:
        leg.state = state
        leg.refunded = result.amount
        leg.refund_id = result.refund_id

    async def _pay(self, allocation: TenderAllocation) -> LegResult:
        # every leg names the lines taken back: the POS records them once per return
        req = self._in.request
        lines = self._st.quote.taken_back() if self._st.quote else []
        return await call(
            c.REFUND_TENDER,
            RefundLeg(rma_id=req.rma_id, order_id=req.order_id, allocation=allocation, lines=lines),
            summary=f"refund {allocation.amount} to {allocation.method.value}",
        )

    async def _finish(self) -> ReturnStatus:
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._st

    # ------------------------------------------------------------------ messages

    @workflow.query(name=c.STATUS)
    def status(self) -> ReturnStatus:
        if self._status is None:
            raise ApplicationError("the return has not started yet", type="NOT_STARTED")
        return self._status

    @workflow.signal(name=c.ITEM_RECEIVED)
    @reads(ItemReceived, c.ITEM_RECEIVED, audited(lambda wf: wf._audit))
    def item_received(self, event: ItemReceived) -> None:
        """A store scan or a warehouse receipt; any second receipt is dropped."""
        state = self._status.state if self._status else ReturnState.REQUESTED
        who = event.received_by or event.source
        if self._received is not None or event.receipt_id in self._receipts:
            self._audit(
                who,
                "item_received dropped",
                f"duplicate receipt {event.receipt_id}: the item was already received",
            )
            return
        if state not in RECEIVING_STATES:
            self._audit(
                who,
                "item_received ignored",
                f"receipt {event.receipt_id} arrived while the return is {state.value}",
            )
            return
        self._receipts.add(event.receipt_id)
        self._received = event
        self._audit(
            who,
            "item received",
            f"{event.source} {event.receipt_id} at {event.location or 'unknown location'}",
        )

    @workflow.signal(name=c.INSPECTION_RESULT)
    @reads(InspectionResult, c.INSPECTION_RESULT, audited(lambda wf: wf._audit))
    def inspection_result(self, result: InspectionResult) -> None:
        if self._received is None or self._inspection is not None:
            why = "the item is not received yet" if self._received is None else "already inspected"
            self._audit(result.inspector, "inspection ignored", why)
            return
        self._inspection = result
        self._audit(result.inspector, "inspected", f"condition {result.condition.value}")

    @workflow.update(name=c.APPROVE)
    async def approve(self, decision: Decision) -> ReturnStatus:
        return await self._decide(APPROVED, decision)

    @approve.validator
    def _validate_approve(self, decision: Decision) -> None:
        with refusing():
            self._validate(decision, APPROVED)

    @workflow.update(name=c.REJECT)
    async def reject(self, decision: Decision) -> ReturnStatus:
        return await self._decide(REJECTED, decision)

    @reject.validator
    def _validate_reject(self, decision: Decision) -> None:
        with refusing():
            self._validate(decision, REJECTED)

    @workflow.signal(name=c.APPROVAL)
    def approval(self, signal: ApprovalSignal) -> None:
        """`approve`/`reject` for senders that can only signal: same checks; refusals audited."""
        decision, verdict = signal.decision(), APPROVED if signal.approves else REJECTED
        try:
            proof = self._validate(decision, verdict)
        except ValueError as refused:
            self._audit(signal.approver, f"{signal.verdict} refused", str(refused))
            return
        self._take(verdict, decision, proof)

    def _validate(self, decision: Decision, verdict: str) -> VerifiedDecision:
        state = self._status.state if self._status else ReturnState.REQUESTED
        if self._decision is not None:
            raise ValueError(f"this return was already {self._decision[0]}")
        refusal = approval_refusal(state, self._allowed, decision)
        if refusal:
            raise ValueError(refusal)
        args = (self._st, self._in.policy, self._allowed, self._trust, workflow.now())
        wf_id = workflow.info().workflow_id
        return verified(lambda: prove(decision, verdict, *args, wf_id, self._tokens))

    async def _decide(self, verdict: str, decision: Decision) -> ReturnStatus:
        # again in the handler: two decisions validated in the same task, or one token twice
        self._take(verdict, decision, accept(lambda: self._validate(decision, verdict)))
        await workflow.wait_condition(lambda: self._st.state is not ReturnState.AWAITING_APPROVAL)
        return self._st

    def _take(self, verdict: str, decision: Decision, proof: VerifiedDecision) -> None:
        self._tokens.update([proof.jti] if proof.jti else [])
        self._decision = (verdict, decision)
        detail = f"as {decision.role.value}: {decision.note}; {proof.words()}"
        self._audit(decision.approver, verdict, detail, **proof.audit_fields())

    # ------------------------------------------------------------------ record and tell

    @property
    def _in(self) -> ReturnInput:
        assert self._inp is not None
        return self._inp

    @property
    def _checked(self) -> datetime:
        """When eligibility was checked: the clock of the fraud query and the item deadline."""
        assert self._checked_at is not None
        return self._checked_at

    @property
    def _st(self) -> ReturnStatus:
        assert self._status is not None
        return self._status

    def _audit(self, actor: str, action: str, detail: str = "", **proof: str | None) -> None:
        entry = AuditEntry(at=workflow.now(), actor=actor, action=action, detail=detail, **proof)
        if self._status is None:
            self._early.append(entry)
        else:
            self._status.audit.append(entry)

    def _set_state(self, state: ReturnState, details: str) -> None:
        self._st.state = state
        self._st.awaiting_role = list(self._allowed)
        self._audit("workflow", state.value, details)
        workflow.set_current_details(f"**{state.value}**: {details}")
        awaiting = awaited_role(self._allowed)
        pairs: list[SearchAttributeUpdate[Any]] = [
            RETAIL_KIND.value_set(c.RETAIL_KIND),
            RETAIL_STATE.value_set(state.value),
            AWAITING_ROLE.value_set(awaiting.value) if awaiting else AWAITING_ROLE.value_unset(),
        ]
        if self._st.expected_refund is not None:
            pairs.append(AMOUNT_AT_RISK.value_set(float(self._st.expected_refund)))
        workflow.upsert_search_attributes(pairs)

    async def _notify(self, kind: NotificationKind, message: str, *, about: str = "") -> None:
        """Tell the customer; `about` tells apart several notices of one kind (per tender).
        A notice that cannot be sent never blocks the money; it is on the record."""
        req = self._in.request
        failed = await best_effort(
            c.NOTIFY_CUSTOMER,
            CustomerNotice(
                rma_id=req.rma_id,
                store_id=self._store_id,
                customer=req.customer,
                kind=kind,
                message=message,
                idempotency_key=c.notice_key(req.rma_id, kind, about),
            ),
            summary=f"tell the customer: {kind.value}",
        )
        if failed:
            self._audit("workflow", "notification failed", f"{kind.value}: {failed}")
        else:
            self._audit("workflow", "customer notified", f"{kind.value}: {message}")

    async def _exception(self, kind: str, message: str) -> None:
        """Open an exception for a person (a store task); never fails the return."""
        rma_id = self._in.request.rma_id
        failed = await best_effort(
            c.OPEN_EXCEPTION,
            ReturnException(
                rma_id=rma_id,
                store_id=self._store_id,
                kind=kind,
                message=message,
                due_at=workflow.now() + EXCEPTION_DUE,
                idempotency_key=c.exception_key(rma_id, kind),
            ),
            summary=f"open exception: {kind}",
        )
        if failed:
            self._audit("workflow", "exception not opened", f"{kind}: {failed}")
        else:
            self._audit("workflow", "exception opened", f"{kind}: {message}")


__all__ = ["ReturnToRefund"]
