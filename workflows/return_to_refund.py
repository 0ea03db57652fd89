"""`ReturnToRefund`: from a return request to refunded, restocked and posted.

REQUESTED -> AUTHORIZED | DECLINED -> AWAITING_ITEM (deadline; EXPIRED) -> RECEIVED ->
INSPECTED (disposition and its follow-up) -> AWAITING_APPROVAL (the fraud tiers the policy
gives a role) -> REFUNDING (a saga over the original tenders, store credit when a tender
fails for good) -> REFUNDED | PARTIALLY_REFUNDED -> CLOSED.

Names, messages and activities come from `domain.returns.contract`; every decision from
the rules in `domain.returns`; side effects run as activities by their contract spec.
This module is the process, top to bottom, and its message handlers; the phases' steps are
in `workflows.return_intake` (eligibility to inspection) and `return_refund` (approval,
the refund saga); the shared state, audit trail and UI story in `workflows.return_run`.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from common.signals import audited, reads
    from domain.identity import VerifiedDecision
    from domain.returns import contract as c
    from domain.returns.approval import approval_refusal, prove
    from domain.returns.contract import (
        ApprovalSignal,
        Decision,
        InspectionResult,
        ItemReceived,
        ReturnInput,
    )
    from domain.returns.status import (
        APPROVED,
        RECEIVING_STATES,
        REJECTED,
        ReturnState,
        ReturnStatus,
    )

from workflows import return_intake, return_refund
from workflows.identity import accept, verified
from workflows.refusals import refusing
from workflows.return_run import ReturnRun


@workflow.defn(name=c.WORKFLOW_TYPE)
class ReturnToRefund:
    def __init__(self) -> None:
        self.r = ReturnRun()

    # ------------------------------------------------------------------ the process

    @workflow.run
    async def run(self, inp: ReturnInput) -> ReturnStatus:
        r = self.r
        return_intake.begin(r, inp)
        order, quote = await return_intake.check_return(r)
        if order is None or quote is None:
            return await r.finish()
        fraud = await return_intake.score_fraud(r, order, quote)
        deadline = await return_intake.authorize(r, quote, fraud)
        if not await return_intake.item_arrives(r, deadline):
            return await r.finish()
        await return_intake.inspect_and_follow_up(r, quote)
        if fraud.required_role is not None and not await return_refund.await_approval(r, fraud):
            return await r.finish()
        await return_refund.refund(r, order, quote)
        return await r.finish()

    # ------------------------------------------------------------------ messages

    @workflow.query(name=c.STATUS)
    def status(self) -> ReturnStatus:
        if self.r.status is None:
            raise ApplicationError("the return has not started yet", type="NOT_STARTED")
        return self.r.status

    @workflow.signal(name=c.ITEM_RECEIVED)
    @reads(ItemReceived, c.ITEM_RECEIVED, audited(lambda wf: wf.r.audit))
    def item_received(self, event: ItemReceived) -> None:
        """A store scan or a warehouse receipt; any second receipt is dropped."""
        r = self.r
        state = r.status.state if r.status else ReturnState.REQUESTED
        who = event.received_by or event.source
        if r.received is not None or event.receipt_id in r.receipts:
            r.audit(
                who,
                "item_received dropped",
                f"duplicate receipt {event.receipt_id}: the item was already received",
            )
            return
        if state not in RECEIVING_STATES:
            r.audit(
                who,
                "item_received ignored",
                f"receipt {event.receipt_id} arrived while the return is {state.value}",
            )
            return
        r.receipts.add(event.receipt_id)
        r.received = event
        r.audit(
            who,
            "item received",
            f"{event.source} {event.receipt_id} at {event.location or 'unknown location'}",
        )

    @workflow.signal(name=c.INSPECTION_RESULT)
    @reads(InspectionResult, c.INSPECTION_RESULT, audited(lambda wf: wf.r.audit))
    def inspection_result(self, result: InspectionResult) -> None:
        r = self.r
        if r.received is None or r.inspection is not None:
            why = "the item is not received yet" if r.received is None else "already inspected"
            r.audit(result.inspector, "inspection ignored", why)
            return
        r.inspection = result
        r.audit(result.inspector, "inspected", f"condition {result.condition.value}")

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
            self.r.audit(signal.approver, f"{signal.verdict} refused", str(refused))
            return
        self._take(verdict, decision, proof)

    def _validate(self, decision: Decision, verdict: str) -> VerifiedDecision:
        r = self.r
        state = r.status.state if r.status else ReturnState.REQUESTED
        if r.decision is not None:
            raise ValueError(f"this return was already {r.decision[0]}")
        refusal = approval_refusal(state, r.allowed, decision)
        if refusal:
            raise ValueError(refusal)
        args = (r.st, r.in_.policy, r.allowed, r.trust, workflow.now())
        wf_id = workflow.info().workflow_id
        return verified(lambda: prove(decision, verdict, *args, wf_id, r.tokens))

    async def _decide(self, verdict: str, decision: Decision) -> ReturnStatus:
        # again in the handler: two decisions validated in the same task, or one token twice
        self._take(verdict, decision, accept(lambda: self._validate(decision, verdict)))
        await workflow.wait_condition(lambda: self.r.st.state is not ReturnState.AWAITING_APPROVAL)
        return self.r.st

    def _take(self, verdict: str, decision: Decision, proof: VerifiedDecision) -> None:
        self.r.tokens.update([proof.jti] if proof.jti else [])
        self.r.decision = (verdict, decision)
        detail = f"as {decision.role.value}: {decision.note}; {proof.words()}"
        self.r.audit(decision.approver, verdict, detail, **proof.audit_fields())


__all__ = ["ReturnToRefund"]
