"""ReturnToRefund, from REQUESTED to INSPECTED: the receipt lookup and the policy
(AUTHORIZED or DECLINED), the fraud score, the item deadline (EXPIRED when it never
comes), the receipt, and the inspection with each line's disposition and follow-up."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.returns import contract as c
    from domain.returns.contract import (
        FollowUpOrder,
        FraudQuery,
        NotificationKind,
        OrderLookup,
        ReturnInput,
    )
    from domain.returns.disposition import plan_dispositions, receiving_location
    from domain.returns.eligibility import check_eligibility
    from domain.returns.fraud import FraudAssessment, assess_fraud
    from domain.returns.refund import RefundQuote
    from domain.returns.request import OrderRecord
    from domain.returns.status import ReturnState, ReturnStatus

from workflows.activity_calls import call, failure_words
from workflows.identity import trust_for
from workflows.return_run import ReturnRun


def begin(run: ReturnRun, inp: ReturnInput) -> None:
    req = inp.request
    run.inp = inp
    run.trust = trust_for(inp.policy.trust, inp.policy.model_fields_set)
    run.status = ReturnStatus(
        rma_id=req.rma_id,
        order_id=req.order_id,
        state=ReturnState.REQUESTED,
        channel=req.channel,
        store_id=req.store_id,
        customer=req.customer.masked_email(),
        reason=req.reason,
        audit=run.early,
    )
    run.set_state(ReturnState.REQUESTED, f"return {req.rma_id} for order {req.order_id}")


async def check_return(run: ReturnRun) -> tuple[OrderRecord | None, RefundQuote | None]:
    """The receipt lookup and the policy: the order and the quote, or declined."""
    req, policy = run.in_.request, run.in_.policy
    found = await call(
        c.LOOKUP_ORDER,
        OrderLookup(rma_id=req.rma_id, order_id=req.order_id, channel=req.channel),
        summary=f"look up order {req.order_id}",
    )
    order = found.order
    run.store_id = req.store_id or (order.store_id if order else None)
    run.checked_at = workflow.now()
    eligibility = check_eligibility(req, order, run.checked_at, policy)
    run.st.declines = eligibility.declines
    run.st.quote = eligibility.quote
    if not eligibility.authorized or order is None or eligibility.quote is None:
        reasons = eligibility.reasons()
        run.set_state(ReturnState.DECLINED, reasons)
        await run.notify(NotificationKind.DECLINED, f"Return declined: {reasons}")
        return None, None
    run.st.expected_refund = eligibility.quote.net
    return order, eligibility.quote


async def score_fraud(run: ReturnRun, order: OrderRecord, quote: RefundQuote) -> FraudAssessment:
    req = run.in_.request
    score = await call(
        c.SCORE_FRAUD,
        FraudQuery(
            rma_id=req.rma_id,
            customer_id=req.customer.customer_id,
            value=quote.gross,
            has_receipt=req.has_receipt,
            days_since_purchase=max((run.checked - order.purchased_at).days, 0),
            reason=req.reason,
            item_count=sum(line.quantity for line in quote.lines),
        ),
        summary="score the return for fraud",
    )
    fraud = assess_fraud(score.score, score.reasons, run.in_.policy)
    run.st.fraud = fraud
    return fraud


async def authorize(run: ReturnRun, quote: RefundQuote, fraud: FraudAssessment) -> datetime:
    """Authorized: the customer is told by when the item must arrive."""
    req, policy = run.in_.request, run.in_.policy
    deadline = run.checked + timedelta(days=policy.item_deadline_days[req.channel])
    run.st.item_deadline = deadline
    run.set_state(
        ReturnState.AUTHORIZED,
        f"refund of {quote.net} authorized; fraud tier {fraud.tier.value} (score {fraud.score})",
    )
    await run.notify(
        NotificationKind.AUTHORIZED,
        f"Return {req.rma_id} authorized: bring or send the item by {deadline.date().isoformat()}",
    )
    return deadline


async def item_arrives(run: ReturnRun, deadline: datetime) -> bool:
    """Wait for the item until its deadline; EXPIRED (customer told) when it never comes."""
    if run.received is None:
        run.set_state(
            ReturnState.AWAITING_ITEM, f"waiting for the item until {deadline.isoformat()}"
        )
        try:
            await workflow.wait_condition(
                lambda: run.received is not None,
                timeout=max(deadline - workflow.now(), timedelta(seconds=1)),
                timeout_summary="item deadline",
            )
        except TimeoutError:
            run.set_state(ReturnState.EXPIRED, "the item never arrived by its deadline")
            await run.notify(
                NotificationKind.EXPIRED,
                f"Return {run.in_.request.rma_id} expired: the item did not arrive by "
                f"{deadline.date().isoformat()}",
            )
            return False
    assert run.received is not None
    received_at = workflow.now()
    sla = timedelta(hours=run.in_.policy.receipt_to_refund_sla_hours)
    run.st.received_at = received_at
    run.st.receipt_id = run.received.receipt_id
    run.st.refund_due_at = received_at + sla
    run.set_state(ReturnState.RECEIVED, f"received by {run.received.source}")
    return True


async def inspect_and_follow_up(run: ReturnRun, quote: RefundQuote) -> None:
    """The inspection decides each line's disposition; its follow-ups run (a failed one
    opens an exception for a person: the money does not wait for the stock room)."""
    await workflow.wait_condition(lambda: run.inspection is not None)
    inspection = run.inspection
    assert inspection is not None and run.received is not None
    run.st.inspection = inspection
    dispositions, planned = plan_dispositions(
        inspection.condition, inspection.disposition, quote.lines, run.in_.policy
    )
    run.st.dispositions = dispositions
    run.st.follow_ups = planned
    run.set_state(
        ReturnState.INSPECTED, ", ".join(f"{sku}: {d.value}" for sku, d in dispositions.items())
    )
    rma_id = run.in_.request.rma_id
    location = receiving_location(run.received.location, run.store_id)
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
            run.audit("workflow", "follow-up failed", problem)
            await run.exception(f"follow_up_{n}", problem)
            continue
        run.audit("workflow", follow.kind.value, f"{follow.sku} x{follow.quantity}")
