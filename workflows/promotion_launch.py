"""PromotionLaunch: from a plan to a live promotion and back.

Id `promotion-{promotion_id}` (a second start is refused by Temporal). States:
VALIDATING -> AWAITING_APPROVAL -> APPROVED -> PREPARING -> PUBLISHING -> SCHEDULED ->
LIVE -> ENDING -> ENDED; exits REJECTED, CANCELLED (rolled back), FAILED (compensated).

This module is the process, top to bottom, and its message handlers. Names and payloads
come from `domain.promotion.contract`; decisions from `domain.promotion` (validation,
approvals, gates, publishing, KPIs); the phases' steps from `workflows.promotion_validate`,
`promotion_prepare`, `promotion_publish` and `promotion_close`; the shared state and the UI
story from `workflows.promotion_run`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from common.signals import audited, reads
    from domain.promotion import contract as c
    from domain.promotion.approvals import (
        ApprovalState,
        RequiredApproval,
        approvals_outcome,
        authority_refusal,
        current_approval,
        decision_refusal,
        escalate,
        price_change_pct,
        reapprovals,
        reopen_approvals,
        tier_roles,
    )
    from domain.promotion.gates import StoreGateState
    from domain.promotion.status import (
        OPEN_FOR_OVERRIDES,
        RELEASE_PUBLISHES,
        TERMINAL_STATES,
        DecisionView,
        PromotionState,
        PromotionStatus,
        final_words,
    )
    from domain.promotion.validation import validate_plan
    from domain.publication.contract import CHANNEL_ACK, ChannelAck

from workflows import promotion_close, promotion_prepare, promotion_publish, promotion_validate
from workflows import promotion_proofs as proofs
from workflows.identity import accept, trust_for
from workflows.promotion_run import (
    CancelRequested,
    LaunchFailed,
    LaunchRun,
    ReapprovalRejected,
    words,
)
from workflows.refusals import refused


@workflow.defn(name=c.WORKFLOW_TYPE)
class PromotionLaunch:
    @workflow.init
    def __init__(self, inp: c.LaunchInput) -> None:
        self.launch = LaunchRun(inp)
        self.s = self.launch.s
        # before any handler runs: a signal may arrive ahead of `run`
        self._trust = trust_for(inp.policy.trust, inp.policy.model_fields_set)

    # ------------------------------------------------------------------ the process

    @workflow.run
    async def run(self, inp: c.LaunchInput) -> PromotionStatus:
        s, run = self.s, self.launch
        run.audit(s.launched_by, "launched", f"plan {s.plan.name}")
        run.set_state(PromotionState.VALIDATING, "reading items, stores and deals from ERP")
        if not await promotion_validate.validate(run):
            return await self._finish(PromotionState.REJECTED)
        if not await self._await_approvals():
            return await self._finish(
                PromotionState.CANCELLED if s.cancel else PromotionState.REJECTED
            )
        run.set_state(PromotionState.APPROVED, "approved: preparing the launch")
        try:
            await self._prepare()
            await self._publish()
            await self._wait_until(
                s.first_start,
                f"scheduled: goes live at {s.first_start.isoformat()}",
                PromotionState.SCHEDULED,
            )
            run.check_cancel()
            await self._live()
            await promotion_close.end(run)
            final = PromotionState.ENDED
        except CancelRequested:
            assert s.cancel is not None
            await promotion_close.compensate(
                run, f"cancelled by {s.cancel.requested_by}: {s.cancel.reason}"
            )
            final = PromotionState.CANCELLED
        except asyncio.CancelledError:
            # a workflow cancellation (Temporal UI, `temporal workflow cancel`): the same
            # saga as the `cancel` update; the activities it schedules run normally
            s.cancel = c.CancelRequest(
                requested_by="temporal",
                reason="workflow cancellation requested (Temporal UI or API)",
            )
            run.audit("temporal", "cancel requested", s.cancel.reason)
            await promotion_close.compensate(run, f"cancelled from Temporal: {s.cancel.reason}")
            final = PromotionState.CANCELLED
        except ReapprovalRejected as err:
            s.reasons.append(str(err))
            await promotion_close.compensate(run, str(err))
            final = PromotionState.REJECTED
        except (LaunchFailed, ActivityError, ChildWorkflowError, ApplicationError) as err:
            reason = words(err)
            s.reasons.append(reason)
            run.audit("workflow", "launch failed", reason)
            await promotion_close.compensate(run, f"launch failed: {reason}")
            final = PromotionState.FAILED
        return await self._finish(final)

    async def _finish(self, final: PromotionState) -> PromotionStatus:
        if self.launch.sla_task is not None and not self.launch.sla_task.done():
            self.launch.sla_task.cancel()
        self.launch.set_state(final, final_words(final, self.s.reasons))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.launch.result()

    # ------------------------------------------------------------------ approvals

    async def _await_approvals(self) -> bool:
        """Wait for every required role, in matrix order, with reminders and escalation."""
        s, run = self.s, self.launch
        run.set_state(PromotionState.AWAITING_APPROVAL, "")
        fraction = float(s.policy.reminder_at_fraction)
        while True:
            outcome = approvals_outcome(s.approvals)
            if outcome is ApprovalState.REJECTED:
                for a in s.approvals:
                    if a.state is ApprovalState.REJECTED:
                        s.reasons.append(
                            f"rejected by {a.decided_by} ({a.role})"
                            + (f": {a.comment}" if a.comment else "")
                        )
                return False
            if outcome is ApprovalState.APPROVED:
                s.remember_approved()
                run.refresh_search()
                return True
            if s.cancel is not None:
                return False
            current = current_approval(s.approvals)
            assert current is not None
            role = s.policy.roles[current.role]
            now = workflow.now()
            if current.deadline is None:
                current.deadline = now + role.deadline
                run.audit(
                    "workflow",
                    "awaiting approval",
                    f"{current.role} to decide by {current.deadline.isoformat()}",
                )
            remind_at = current.deadline - role.deadline * (1 - fraction)
            wake = current.deadline if current.reminded else remind_at
            run.set_state(
                PromotionState.AWAITING_APPROVAL,
                f"waiting for {current.role} ({', '.join(role.approvers)}) to approve by "
                f"{current.deadline.isoformat()}",
            )
            seen = s.decisions
            timeout = (wake - now).total_seconds()
            if timeout > 0:
                try:
                    await workflow.wait_condition(
                        run.changed_since(seen),
                        timeout=timeout,
                        timeout_summary=f"{current.role} "
                        + ("deadline" if current.reminded else "reminder"),
                    )
                    continue
                except TimeoutError:
                    pass
            if current.state is not ApprovalState.PENDING:
                continue
            if not current.reminded:
                current.reminded = True
                run.audit("workflow", "reminder", f"reminded {current.role}")
                await run.alert(
                    "warning",
                    current.role,
                    f"promotion {s.plan.promotion_id} waits for your approval until "
                    f"{current.deadline.isoformat()}",
                )
                continue
            await self._escalate(current)

    async def _escalate(self, current: RequiredApproval) -> None:
        s, run = self.s, self.launch
        target = s.policy.roles[current.role].escalates_to
        deadline = current.deadline.isoformat() if current.deadline else "?"
        s.approvals = escalate(s.approvals, current.role, target, workflow.now())
        s.decisions += 1
        if target is None:
            run.audit(
                "workflow",
                "approval expired",
                f"{current.role}: no decision by the deadline and nobody to escalate to",
            )
            return
        run.audit(
            "workflow",
            "escalated",
            f"{current.role} did not decide by {deadline}: escalated to {target}",
        )
        await run.alert(
            "critical",
            target,
            f"promotion {s.plan.promotion_id}: {current.role} did not decide in time; "
            f"your approval is needed",
        )

    def _check_decision(
        self, d: c.Decision, approve: bool
    ) -> tuple[str | None, RequiredApproval | None]:
        return decision_refusal(
            self.s.approvals,
            self.s.policy,
            approver=d.approver,
            role=d.role,
            open_for_decisions=self.s.state is PromotionState.AWAITING_APPROVAL,
            approve=approve,
        )

    def _decide(self, d: c.Decision, approve: bool, via: str) -> c.UpdateAnswer:
        reason, approval = self._check_decision(d, approve)
        if reason is not None or approval is None:
            raise refused(reason or "no approval to decide", c.DECISION_REFUSED)
        changed_mind = approval.state is ApprovalState.APPROVED and not approve
        if approval.state is not ApprovalState.PENDING and not changed_mind:
            return c.UpdateAnswer(
                state=self.s.state,
                message=f"{approval.role} already decided by {approval.decided_by}: "
                f"{approval.state.value.lower()} (nothing changed)",
            )
        role = approval.role
        proof = accept(
            lambda: proofs.approval(self.launch, self._trust, d, role, approve), self.s.tokens
        )
        approval.state = ApprovalState.APPROVED if approve else ApprovalState.REJECTED
        approval.decided_by = d.approver
        approval.decided_at = workflow.now()
        approval.comment = d.comment
        self.s.decisions += 1
        verb = "approved" if approve else "rejected"
        if changed_mind:
            verb = "changed their mind: rejected after approving"
        self.launch.audit(
            d.approver,
            "approved" if approve else "rejected",
            f"as {approval.role} via {via}"
            + (" (a change of mind after approving)" if changed_mind else "")
            + (f": {d.comment}" if d.comment else "")
            + f"; {proof.words()}",
            **proof.audit_fields(),
        )
        return c.UpdateAnswer(state=self.s.state, message=f"{approval.role} {verb} by {d.approver}")

    # ------------------------------------------------------------------ preparing .. live

    async def _prepare(self) -> None:
        run = self.launch
        run.set_state(PromotionState.PREPARING, "accruing vendor funding")
        await promotion_prepare.accrue(run)
        run.check_cancel()
        run.set_state(PromotionState.PREPARING, "checking inventory coverage per store")
        await promotion_prepare.gates(run)
        run.check_cancel()
        run.set_state(PromotionState.PREPARING, "creating store tasks")
        await promotion_prepare.create_tasks(run)
        run.check_cancel()
        if self.s.price_pending:
            await self._apply_price_change(republish=False)

    async def _publish(self) -> None:
        run = self.launch
        run.set_state(PromotionState.PUBLISHING, promotion_publish.publishing_words(run))
        await promotion_publish.publish(run, first=True)
        run.audit(
            "workflow",
            "published",
            "; ".join(f"{ch.channel}: {ch.detail}" for ch in self.s.channels.values()),
        )
        run.check_cancel()
        await self._handle_changes()

    async def _handle_changes(self) -> None:
        """Apply what updates queued: a price change, stores released by an override."""
        s, run = self.s, self.launch
        while s.price_pending or s.release:
            run.check_cancel()
            if s.price_pending:
                await self._apply_price_change(republish=True)
                continue
            stores, s.release = s.release, []
            if c.Channel.POS in s.plan.channels and stores:
                await promotion_publish.publish(run, stores)
                run.audit("workflow", "published", f"POS in overridden store(s) {stores}")

    async def _apply_price_change(self, *, republish: bool) -> None:
        """A price change accepted after approval: re-approve what it re-opens, then
        republish what is published. A rejected re-approval keeps the last approved
        version in force, or ends the promotion, as the policy says."""
        s, run = self.s, self.launch
        s.price_pending = False
        roles, s.reapproval = s.reapproval, []
        back_to = s.state
        if back_to is PromotionState.AWAITING_APPROVAL:
            back_to = PromotionState.PREPARING
        if roles:
            s.approval_round += 1
            s.approvals = reopen_approvals(s.approvals, roles, s.approval_round)
            known = len(s.reasons)
            if not await self._await_approvals():
                run.check_cancel()
                why = "; ".join(s.reasons[known:])
                del s.reasons[known:]
                dropped = s.restore_approved()
                run.audit(
                    "workflow",
                    "price change rejected",
                    f"v{dropped} not applied ({why}); v{s.version} stays in force",
                )
                if s.policy.on_rejected_price_change == "end_promotion":
                    raise ReapprovalRejected(f"the price change to v{dropped} was rejected: {why}")
                run.set_state(back_to, f"price change v{dropped} rejected; v{s.version} in force")
                return
        if republish:
            run.set_state(PromotionState.PUBLISHING, promotion_publish.publishing_words(run))
            await promotion_publish.republish(run)
        run.set_state(back_to, s.waiting_for)

    async def _wait_until(self, when: datetime, what: str, state: PromotionState) -> None:
        """Wait for `when`, applying queued changes as they come; a cancel ends the wait."""
        s, run = self.s, self.launch
        while True:
            run.check_cancel()
            await self._handle_changes()
            run.set_state(state, what)
            remaining = (when - workflow.now()).total_seconds()
            if remaining <= 0:
                return
            try:
                await workflow.wait_condition(
                    lambda: s.cancel is not None or s.price_pending or bool(s.release),
                    timeout=remaining,
                    timeout_summary=what,
                )
            except TimeoutError:
                return

    async def _live(self) -> None:
        s, run = self.s, self.launch
        run.set_state(PromotionState.LIVE, "live")
        run.audit("workflow", "live", f"price version {s.version}")
        await promotion_close.start_monitor(run)
        await self._wait_until(
            s.last_end,
            f"live until {s.last_end.isoformat()}; sell-through monitored",
            PromotionState.LIVE,
        )
        run.check_cancel()
        await promotion_close.wrap_up_monitor(run)

    # ------------------------------------------------------------------ approvals (messages)

    @workflow.update(name=c.APPROVE)
    async def approve(self, d: c.Decision) -> c.UpdateAnswer:
        return self._decide(d, True, "update")

    @approve.validator
    def _validate_approve(self, d: c.Decision) -> None:
        self._validate_decision(d, True)

    def _validate_decision(self, d: c.Decision, approve: bool) -> None:
        """Who may decide now (the matrix, in order), then the token proving who decides."""
        reason, approval = self._check_decision(d, approve)
        if reason or approval is None:
            raise refused(reason or "no approval to decide", c.DECISION_REFUSED)
        if approval.state is ApprovalState.PENDING or not approve:
            role = approval.role
            accept(lambda: proofs.approval(self.launch, self._trust, d, role, approve))

    @workflow.update(name=c.REJECT)
    async def reject(self, d: c.Decision) -> c.UpdateAnswer:
        return self._decide(d, False, "update")

    @reject.validator
    def _validate_reject(self, d: c.Decision) -> None:
        if not d.comment.strip():
            raise refused("comment: a rejection needs a reason", c.DECISION_REFUSED)
        self._validate_decision(d, False)

    @workflow.signal(name=c.APPROVAL)
    def approval(self, d: c.SignalledDecision) -> None:
        """The same decision for systems that can only signal; a refusal is audited."""
        decision = c.Decision(approver=d.approver, role=d.role, comment=d.comment, token=d.token)
        try:
            if d.approve:
                self._validate_approve(decision)
            else:
                self._validate_reject(decision)
            self._decide(decision, d.approve, "signal")
        except ApplicationError as err:
            self.launch.audit(d.approver, "decision refused", f"approval signal: {err.message}")

    # ------------------------------------------------------------------ other messages

    @workflow.update(name=c.CHANGE_PRICE)
    async def change_price(self, change: c.PriceChange) -> c.UpdateAnswer:
        s, run = self.s, self.launch
        proof = accept(lambda: proofs.price_change(run, self._trust, change), s.tokens)
        assert s.facts is not None
        new_plan = s.plan.model_copy(update={"offer": change.offer})
        validation = validate_plan(new_plan, s.facts, s.policy, now=workflow.now())
        assert validation.metrics is not None
        pct = price_change_pct(s.lines, validation.lines)
        roles = reapprovals(
            s.approvals, validation.metrics, pct, s.policy, round_=s.approval_round + 1
        )
        s.plan = new_plan
        s.lines = validation.lines
        s.set_prices(validation.price_sets)
        s.metrics = validation.metrics
        s.tiers, _ = tier_roles(s.metrics, s.policy)
        s.version += 1
        run.audit(
            change.requested_by,
            "price changed",
            f"v{s.version}: {change.offer.words()} ({pct}% change): {change.reason}; "
            + (f"re-opens {', '.join(roles)}" if roles else "no approval re-opened")
            + f"; {proof.words()}",
            **proof.audit_fields(),
        )
        if s.state in (PromotionState.VALIDATING, PromotionState.AWAITING_APPROVAL):
            s.approval_round += 1
            s.approvals = reopen_approvals(s.approvals, roles, s.approval_round)
            s.decisions += 1
        else:
            s.reapproval = list(dict.fromkeys([*s.reapproval, *roles]))
            s.price_pending = True
        run.refresh_search()
        published = any(s.published.values())
        return c.UpdateAnswer(
            state=s.state,
            message=f"price version {s.version} ({pct}% change); "
            + (f"re-opens {', '.join(roles)}; " if roles else "no approval re-opened; ")
            + ("published channels will be republished" if published else "nothing published yet"),
        )

    @change_price.validator
    def _validate_change_price(self, change: c.PriceChange) -> None:
        s = self.s
        if s.state in TERMINAL_STATES or s.state is PromotionState.ENDING:
            raise refused(
                f"the promotion is {s.state.value}: prices can no longer change",
                c.PRICE_CHANGE_REFUSED,
            )
        if s.facts is None or not s.lines:
            raise refused(
                "the plan is still being validated: try again in a moment", c.PRICE_CHANGE_REFUSED
            )
        if s.price_pending:
            raise refused(
                "a price change is already being applied: try again when it is",
                c.PRICE_CHANGE_REFUSED,
            )
        refusal = authority_refusal(
            s.policy, change.requested_by, s.policy.price_change_roles, None
        )
        if refusal:
            raise refused(refusal, c.PRICE_CHANGE_REFUSED)
        new_plan = s.plan.model_copy(update={"offer": change.offer})
        validation = validate_plan(new_plan, s.facts, s.policy, now=workflow.now())
        problems = [p.words() for p in validation.problems]
        if problems:
            raise refused(
                "the new price is refused: " + "; ".join(problems), c.PRICE_CHANGE_REFUSED
            )
        if [(x.item_id, x.promo_price) for x in validation.lines] == [
            (x.item_id, x.promo_price) for x in s.lines
        ]:
            raise refused(
                "the new offer gives the same prices as the current one", c.PRICE_CHANGE_REFUSED
            )
        accept(lambda: proofs.price_change(self.launch, self._trust, change))

    @workflow.update(name=c.OVERRIDE_GATE)
    async def override_gate(self, override: c.GateOverride) -> c.UpdateAnswer:
        s = self.s
        proof = accept(lambda: proofs.override(self.launch, self._trust, override), s.tokens)
        store = s.stores[override.store_id]
        store.gate = StoreGateState.READY
        store.overridden_by = override.approver
        store.note = f"held ({store.note}); overridden by {override.approver}: {override.reason}"
        self.launch.audit(
            override.approver,
            "gate overridden",
            f"{override.store_id}: {override.reason}; {proof.words()}",
            **proof.audit_fields(),
        )
        if s.state in RELEASE_PUBLISHES and not store.published:
            s.release.append(override.store_id)
        self.launch.refresh_search()
        return c.UpdateAnswer(
            state=s.state,
            message=f"store {override.store_id} released by {override.approver}"
            + ("; it will be published" if override.store_id in s.release else ""),
        )

    @override_gate.validator
    def _validate_override(self, override: c.GateOverride) -> None:
        s = self.s
        if s.state not in OPEN_FOR_OVERRIDES:
            raise refused(
                f"the promotion is {s.state.value}: no store gate to override", c.OVERRIDE_REFUSED
            )
        refusal = authority_refusal(
            s.policy, override.approver, s.policy.override_roles, override.role
        )
        if refusal:
            raise refused(refusal, c.OVERRIDE_REFUSED)
        store = s.stores.get(override.store_id)
        if store is None:
            raise refused(f"store {override.store_id} is not in this promotion", c.OVERRIDE_REFUSED)
        if store.gate is not StoreGateState.HELD:
            raise refused(
                f"store {override.store_id} is not held (gate {store.gate.value})",
                c.OVERRIDE_REFUSED,
            )
        accept(lambda: proofs.override(self.launch, self._trust, override))

    @workflow.update(name=c.CANCEL)
    async def cancel(self, request: c.CancelRequest) -> c.UpdateAnswer:
        if self.s.cancel is None:
            proof = accept(lambda: proofs.cancel(self.launch, self._trust, request), self.s.tokens)
            self.s.cancel = request
            self.launch.audit(
                request.requested_by,
                "cancel requested",
                f"{request.reason}; {proof.words()}",
                **proof.audit_fields(),
            )
        return c.UpdateAnswer(
            state=self.s.state,
            message="cancellation started: published channels will be retracted, tasks "
            "cancelled and accruals reversed",
        )

    @cancel.validator
    def _validate_cancel(self, request: c.CancelRequest) -> None:
        s = self.s
        if s.state in TERMINAL_STATES or s.state is PromotionState.ENDING:
            raise refused(
                f"the promotion is {s.state.value}: it can no longer be cancelled", c.CANCEL_REFUSED
            )
        refusal = authority_refusal(
            s.policy, request.requested_by, s.policy.cancel_roles, request.role
        )
        if refusal:
            raise refused(refusal, c.CANCEL_REFUSED)
        accept(lambda: proofs.cancel(self.launch, self._trust, request))

    @workflow.signal(name=c.STORE_TASK_DONE)
    @reads(c.TaskDone, c.STORE_TASK_DONE, audited(lambda wf: wf.launch.audit))
    def store_task_done(self, event: c.TaskDone) -> None:
        self.s.task_done(event)

    @workflow.signal(name=CHANNEL_ACK)
    @reads(ChannelAck, CHANNEL_ACK, audited(lambda wf: wf.launch.audit))
    def channel_ack(self, ack: ChannelAck) -> None:
        """A confirmation of a publication batch this launch runs itself (routed to it)."""
        unmatched = self.launch.inline.receive_ack(ack)
        if unmatched:
            self.launch.audit("workflow", "confirmation unmatched", unmatched)

    @workflow.query(name=c.STATUS)
    def status(self) -> PromotionStatus:
        return self.s.status()

    @workflow.query(name=c.DECISION_VIEW)
    def decision_view(self, store_id: str) -> DecisionView:
        return self.s.decision_view(store_id)
