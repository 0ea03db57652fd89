"""ReturnToRefund, from AWAITING_APPROVAL to CLOSED: the fraud tier's approval (escalated
past its SLA), then the refund saga over the original tenders (store credit when a tender
fails for good), the credit memo, and the outcome checked against what was due."""

from __future__ import annotations

from decimal import Decimal

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.money import ZERO
    from domain.returns import contract as c
    from domain.returns.approval import approval_due, roles_after_escalation
    from domain.returns.contract import CreditMemo, LegResult, NotificationKind, RefundLeg
    from domain.returns.fraud import FraudAssessment
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
        REJECTED,
        ApprovalRecord,
        LegState,
        ReturnState,
        TenderRefund,
    )

from workflows.activity_calls import call, failure_words
from workflows.return_run import ReturnRun


async def await_approval(run: ReturnRun, fraud: FraudAssessment) -> bool:
    """The tier's role decides; past the SLA an exception opens and the escalation role
    may decide too. False when rejected (the customer is told)."""
    assert fraud.required_role is not None
    run.allowed = [fraud.required_role]
    hold = " (refund held)" if fraud.holds_refund else ""
    run.set_state(
        ReturnState.AWAITING_APPROVAL,
        f"fraud tier {fraud.tier.value}: waiting for {fraud.required_role.value}{hold}; "
        f"reasons: {', '.join(fraud.reasons) or 'score only'}",
    )
    due = approval_due(fraud, workflow.now(), run.st.refund_due_at, run.in_.policy)
    try:
        await workflow.wait_condition(
            lambda: run.decision is not None,
            timeout=due - workflow.now(),
            timeout_summary="approval SLA",
        )
    except TimeoutError:
        await escalate(run, fraud)
        await workflow.wait_condition(lambda: run.decision is not None)
    assert run.decision is not None
    verdict, decision = run.decision
    run.st.approval = ApprovalRecord(
        decision=verdict,
        approver=decision.approver,
        role=decision.role,
        note=decision.note,
        at=workflow.now(),
    )
    run.allowed = []
    if verdict == REJECTED:
        run.set_state(
            ReturnState.REJECTED, f"rejected by {decision.approver} ({decision.role.value})"
        )
        await run.notify(
            NotificationKind.REJECTED,
            f"Return {run.in_.request.rma_id} was not approved for a refund",
        )
        return False
    run.audit(decision.approver, "approval recorded", decision.role.value)
    return True


async def escalate(run: ReturnRun, fraud: FraudAssessment) -> None:
    run.st.escalated = True
    run.allowed = roles_after_escalation(run.allowed, fraud)
    waiting_for = " or ".join(r.value for r in run.allowed)
    await run.exception(
        "approval_overdue",
        f"return {run.in_.request.rma_id} waits for {waiting_for} past its SLA",
    )
    run.set_state(
        ReturnState.AWAITING_APPROVAL,
        f"escalated: approval overdue, now waiting for {waiting_for}",
    )


async def refund(run: ReturnRun, order: OrderRecord, quote: RefundQuote) -> None:
    """The refund saga: each tender leg, the credit memo, then the outcome checked."""
    req = run.in_.request
    net, fee = quote.net, quote.restocking_fee
    plan = allocate_refund(
        req.rma_id,
        net,
        order.tenders,
        channel=req.channel,
        has_receipt=req.has_receipt,
        policy=run.in_.policy,
    )
    run.st.tenders = [TenderRefund(allocation=a) for a in plan]
    run.set_state(
        ReturnState.REFUNDING,
        f"refunding {net} over {len(plan)} tender(s)"
        + (f" after a restocking fee of {fee}" if fee > 0 else ""),
    )
    for leg in run.st.tenders:
        await refund_leg(run, leg)
    refunded = sum((leg.refunded for leg in run.st.tenders), ZERO)
    run.st.refunded_total = refunded
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
    run.st.credit_memo_id = memo
    run.audit("workflow", "credit memo posted", f"{memo}: {refunded}")
    await settle_refund(run, net, refunded)
    await run.notify(NotificationKind.REFUNDED, f"Return {req.rma_id}: {refunded} refunded")
    run.set_state(ReturnState.CLOSED, f"closed: {refunded} of {net} refunded")


async def settle_refund(run: ReturnRun, net: Decimal, refunded: Decimal) -> None:
    """REFUNDED, or PARTIALLY_REFUNDED with an exception for the refund mismatch."""
    settlement = settle(net, refunded)
    run.st.mismatch = settlement.mismatch
    now = workflow.now()
    run.st.refunded_at = now
    seconds, met = refund_sla(run.st.received_at, run.st.refund_due_at, now)
    if seconds is not None:
        run.st.receipt_to_refund_seconds = seconds
    if met is not None:
        run.st.refund_sla_met = met
    if settlement.problem is not None:
        run.st.exception = settlement.problem
        await run.exception("refund_mismatch", settlement.problem)
        run.st.outcome = settlement.outcome
        run.set_state(ReturnState.PARTIALLY_REFUNDED, settlement.problem)
    else:
        run.st.outcome = settlement.outcome
        run.set_state(ReturnState.REFUNDED, f"{refunded} refunded")


async def refund_leg(run: ReturnRun, leg: TenderRefund) -> None:
    """One tender; a tender that fails for good is issued as store credit instead (the
    customer told), and a store credit that fails leaves the leg FAILED."""
    allocation = leg.allocation
    try:
        result = await pay(run, allocation)
    except ActivityError as err:
        leg.failure = failure_words(err)
        run.audit("workflow", "tender failed", f"{allocation.method.value}: {leg.failure}")
        if not can_fall_back(allocation):
            leg.state = LegState.FAILED
            return
        try:
            result = await pay(run, store_credit_fallback(allocation))
        except ActivityError as err2:
            leg.state = LegState.FAILED
            leg.failure = f"{leg.failure}; store credit also failed: {failure_words(err2)}"
            return
        record_leg(leg, LegState.FELL_BACK_TO_STORE_CREDIT, result)
        await run.notify(
            NotificationKind.STORE_CREDIT_FALLBACK,
            fallback_notice(allocation, result.store_credit_id or result.refund_id),
            about=allocation.tender_id or "",
        )
        return
    record_leg(leg, LegState.REFUNDED, result)


def record_leg(leg: TenderRefund, state: LegState, result: LegResult) -> None:
    leg.state = state
    leg.refunded = result.amount
    leg.refund_id = result.refund_id


async def pay(run: ReturnRun, allocation: TenderAllocation) -> LegResult:
    # every leg names the lines taken back: the POS records them once per return
    req = run.in_.request
    lines = run.st.quote.taken_back() if run.st.quote else []
    return await call(
        c.REFUND_TENDER,
        RefundLeg(rma_id=req.rma_id, order_id=req.order_id, allocation=allocation, lines=lines),
        summary=f"refund {allocation.amount} to {allocation.method.value}",
    )
