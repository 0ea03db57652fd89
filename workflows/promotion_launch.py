"""PromotionLaunch: from a plan to a live promotion and back.

Id `promotion-{promotion_id}` (a second start is refused by Temporal). States:
VALIDATING -> AWAITING_APPROVAL -> APPROVED -> PREPARING -> PUBLISHING -> SCHEDULED ->
LIVE -> ENDING -> ENDED; exits REJECTED, CANCELLED (rolled back), FAILED (compensated).

Messages: updates `approve`, `reject`, `change_price`, `override_gate`, `cancel` (each with
a validator); signals `approval` (the same decision for signal-only systems: a refused
one is written to the audit trail) and `store_task_done`; query `status`.

Business rules come from `domain.promotion`; the channel fan-out is
`workflows.channel_publication.publish_all` (child workflows per channel and batch that
receive their own acknowledgements, so this history stays small at 5,000 stores).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    FailureError,
)

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from common.search_attributes import (
        AMOUNT_AT_RISK,
        AWAITING_ROLE,
        PROMOTION_ID,
        RETAIL_KIND,
        RETAIL_STATE,
        STORE_COUNT,
    )
    from domain import promotion_activities as acts
    from domain.activity_options import BACKOFFICE_RETRY, CALL_TIMEOUT, MONEY_RETRY, READ_RETRY
    from domain.promotion import (
        ApprovalState,
        PlanFacts,
        RequiredApproval,
        StoreGateState,
        VendorDeal,
        approvals_outcome,
        compute_kpis,
        current_approval,
        decision_refusal,
        price_change_pct,
        reapprovals,
        required_approvals,
        stock_by_store,
        store_coverage,
        tier_roles,
        validate_plan,
    )
    from domain.promotion_status import (
        TASKS_SHOWN,
        TERMINAL_STATES,
        AuditEntry,
        CancelRequest,
        ChannelStatus,
        Decision,
        FundingStatus,
        GateOverride,
        LaunchInput,
        PriceChange,
        PromotionState,
        PromotionStatus,
        SignalledDecision,
        StoreStatus,
        TaskDone,
        TaskStatus,
        UpdateAnswer,
    )
    from domain.publication import (
        ALL_TARGETS,
        STORE_SCOPED,
        Channel,
        PublicationAction,
        PublicationOutcome,
        PublicationRequest,
    )
    from domain.rebalance.contract import (
        DemandOverride,
        RebalanceRequest,
        RebalanceResult,
        RebalanceScope,
    )
    from domain.rebalance.contract import workflow_id as rebalance_workflow_id
    from domain.sellthrough import MonitorInput, MonitorItem, MonitorSummary

from workflows.channel_publication import publish_all

M = TypeVar("M", bound=BaseModel)

MONITOR_WORKFLOW = "SellThroughMonitor"
REBALANCE_WORKFLOW = "InventoryRebalance"
LONG_READ_TIMEOUT = timedelta(minutes=5)
AUDITED_STORES = 20
"""Held stores named one by one in the audit trail; the rest are counted."""
TASK_CALLBACK_LIMIT = 100
"""Up to this many stores, each task completion is signalled back; above, the SLA check
reads task states in bulk (thousands of signals would bloat this history)."""


class CancelRequested(Exception):
    """The `cancel` update was accepted: unwind through the compensation saga."""


class LaunchFailed(Exception):
    """A failure that cannot be retried: compensate and end FAILED."""


class ReapprovalRejected(Exception):
    """A re-opened approval (after a price change) was rejected: roll back, end REJECTED."""


def _words(err: BaseException) -> str:
    """The innermost message of a Temporal failure chain, in words."""
    parts: list[str] = []
    current: BaseException | None = err
    while current is not None:
        text = str(current)
        if isinstance(current, ActivityError):
            text = f"activity {current.activity_type} failed"
        elif isinstance(current, ChildWorkflowError):
            text = f"child workflow {current.workflow_type} {current.workflow_id} failed"
        if text and (not parts or parts[-1] != text):
            parts.append(text)
        current = current.__cause__ if isinstance(current, FailureError) else None
    return ": ".join(parts) if parts else repr(err)


@workflow.defn(name="PromotionLaunch")
class PromotionLaunch:
    @workflow.init
    def __init__(self, inp: LaunchInput) -> None:
        self.plan = inp.plan
        self.policy = inp.policy
        self.launched_by = inp.launched_by or inp.plan.submitted_by
        self.state = PromotionState.DRAFT
        self.version = 1
        self.lines: list[Any] = []
        self.metrics: Any = None
        self.tiers: list[str] = []
        self.approvals: list[RequiredApproval] = []
        self.facts: PlanFacts | None = None
        self.deal: VendorDeal | None = None
        self.stores: dict[str, StoreStatus] = {}
        self.channels: dict[str, ChannelStatus] = {
            c.value: ChannelStatus(channel=c.value) for c in inp.plan.channels
        }
        self.tasks: dict[str, TaskStatus] = {}
        self.funding = FundingStatus(deal_id=inp.plan.vendor_deal_id)
        self.rebalance = "not needed"
        self.monitor = "not started"
        self.kpis: Any = None
        self.reasons: list[str] = []
        self.audit: list[AuditEntry] = []
        self.waiting_for = "starting"
        self._decisions = 0
        self._cancel: CancelRequest | None = None
        self._price_pending = False
        self._reapproval: list[str] = []
        self._release: list[str] = []
        self._seen_events: set[str] = set()
        self._published: dict[str, list[str]] = {}
        self._attempted: dict[str, list[str]] = {}
        self._targets_planned = 0
        self._targets_on_time = 0
        self._rebalance_handle: workflow.ChildWorkflowHandle[Any, Any] | None = None
        self._monitor_handle: workflow.ChildWorkflowHandle[Any, Any] | None = None
        self._sla_task: asyncio.Task[None] | None = None
        self._round = 1

    # ------------------------------------------------------------------ run

    @workflow.run
    async def run(self, inp: LaunchInput) -> PromotionStatus:
        self._audit(self.launched_by, "launched", f"plan {self.plan.name}")
        self._set_state(PromotionState.VALIDATING, "reading items, stores and deals from ERP")
        if not await self._validate():
            return await self._finish(PromotionState.REJECTED)
        if not await self._await_approvals():
            final = PromotionState.CANCELLED if self._cancel else PromotionState.REJECTED
            return await self._finish(final)
        self._set_state(PromotionState.APPROVED, "approved: preparing the launch")
        try:
            await self._prepare()
            await self._publish_phase()
            await self._scheduled()
            await self._live()
            await self._end()
            final = PromotionState.ENDED
        except CancelRequested:
            assert self._cancel is not None
            await self._compensate(
                f"cancelled by {self._cancel.requested_by}: {self._cancel.reason}"
            )
            final = PromotionState.CANCELLED
        except asyncio.CancelledError:
            # a workflow cancellation (Temporal UI, `temporal workflow cancel`): the same
            # saga as the `cancel` update; the activities it schedules run normally
            self._cancel = CancelRequest(
                requested_by="temporal",
                reason="workflow cancellation requested (Temporal UI or API)",
            )
            self._audit("temporal", "cancel requested", self._cancel.reason)
            await self._compensate(f"cancelled from Temporal: {self._cancel.reason}")
            final = PromotionState.CANCELLED
        except ReapprovalRejected as err:
            self.reasons.append(str(err))
            await self._compensate(str(err))
            final = PromotionState.REJECTED
        except (LaunchFailed, ActivityError, ChildWorkflowError, ApplicationError) as err:
            reason = _words(err)
            self.reasons.append(reason)
            self._audit("workflow", "launch failed", reason)
            await self._compensate(f"launch failed: {reason}")
            final = PromotionState.FAILED
        return await self._finish(final)

    async def _finish(self, final: PromotionState) -> PromotionStatus:
        if self._sla_task is not None and not self._sla_task.done():
            self._sla_task.cancel()
        self._set_state(final, self._final_words(final))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._status()

    def _final_words(self, final: PromotionState) -> str:
        if final is PromotionState.ENDED:
            return "ended: prices reverted, funding claimed, KPIs computed"
        if final is PromotionState.REJECTED:
            return "rejected: " + "; ".join(self.reasons[-3:])
        if final is PromotionState.CANCELLED:
            return "cancelled and rolled back"
        return "failed and rolled back: " + "; ".join(self.reasons[-2:])

    # ------------------------------------------------------------------ validating

    async def _validate(self) -> bool:
        try:
            facts = await self._activity(
                acts.LOOKUP_FACTS,
                acts.LookupRequest(plan=self.plan),
                PlanFacts,
                summary=f"read {len(self.plan.items)} items, the stores and other promotions "
                "from ERP",
                retry=READ_RETRY,
                limit=LONG_READ_TIMEOUT,
            )
        except ActivityError as err:
            self.reasons.append(f"the ERP look-up failed: {_words(err)}")
            return False
        self.facts = facts
        self.deal = facts.deal
        for store_id in facts.store_ids:
            store = facts.stores[store_id]
            self.stores[store_id] = StoreStatus(
                store_id=store_id,
                store_class=store.store_class,
                region=store.region,
                timezone=store.timezone,
            )
        validation = validate_plan(self.plan, facts, self.policy, now=workflow.now())
        problems = [p.words() for p in validation.problems]
        if not problems and self.plan.vendor_deal_id and validation.metrics is not None:
            check = await self._activity(
                acts.CHECK_DEAL,
                acts.DealCheckInput(
                    promotion_id=self.plan.promotion_id,
                    deal_id=self.plan.vendor_deal_id,
                    item_ids=[i.item_id for i in self.plan.items],
                    starts_at=self._first_start,
                    ends_at=self._last_end,
                    units_forecast=validation.metrics.planned_units,
                ),
                acts.DealCheckResult,
                summary=f"validate vendor deal {self.plan.vendor_deal_id} in ERP",
                retry=READ_RETRY,
            )
            if not check.valid:
                problems += [f"vendor_deal_id: {r}" for r in check.reasons] or [
                    f"vendor_deal_id: ERP says deal {check.deal_id} is not valid"
                ]
            self.funding.deal_type = check.deal_type
            self.funding.funding_per_unit = check.funding_per_unit
        self.lines = validation.lines
        self.metrics = validation.metrics
        if problems:
            self.reasons += problems
            self._audit("workflow", "refused", "; ".join(problems))
            return False
        assert self.metrics is not None
        self.tiers, _ = tier_roles(self.metrics, self.policy)
        self.approvals = required_approvals(self.metrics, self.policy)
        self._audit(
            "workflow",
            "validated",
            f"depth {self.metrics.discount_depth_pct}%, margin impact "
            f"{self.metrics.margin_impact}, unfunded {self.metrics.unfunded_cost}, "
            f"{self.metrics.store_count} stores; tiers: {', '.join(self.tiers)}; approvals: "
            f"{', '.join(a.role for a in self.approvals)}",
        )
        return True

    # ------------------------------------------------------------------ approvals

    async def _await_approvals(self) -> bool:
        """Wait for every required role, in matrix order, with reminders and escalation."""
        self._set_state(PromotionState.AWAITING_APPROVAL, "")
        fraction = float(self.policy.reminder_at_fraction)
        while True:
            outcome = approvals_outcome(self.approvals)
            if outcome is ApprovalState.REJECTED:
                rejected = [a for a in self.approvals if a.state is ApprovalState.REJECTED]
                for a in rejected:
                    self.reasons.append(
                        f"rejected by {a.decided_by} ({a.role})"
                        + (f": {a.comment}" if a.comment else "")
                    )
                return False
            if outcome is ApprovalState.APPROVED:
                self._refresh_search()
                return True
            if self._cancel is not None:
                return False
            current = current_approval(self.approvals)
            assert current is not None
            role = self.policy.roles[current.role]
            now = workflow.now()
            if current.deadline is None:
                current.deadline = now + role.deadline
                self._audit(
                    "workflow",
                    "awaiting approval",
                    f"{current.role} to decide by {current.deadline.isoformat()}",
                )
            remind_at = current.deadline - role.deadline * (1 - fraction)
            wake = current.deadline if current.reminded else remind_at
            self._set_state(
                PromotionState.AWAITING_APPROVAL,
                f"waiting for {current.role} ({', '.join(role.approvers)}) to approve by "
                f"{current.deadline.isoformat()}",
            )
            seen = self._decisions
            timeout = (wake - now).total_seconds()
            if timeout > 0:
                try:
                    await workflow.wait_condition(
                        self._changed_since(seen),
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
                self._audit("workflow", "reminder", f"reminded {current.role}")
                await self._alert(
                    "warning",
                    current.role,
                    f"promotion {self.plan.promotion_id} waits for your approval until "
                    f"{current.deadline.isoformat()}",
                )
                continue
            await self._escalate(current)

    async def _escalate(self, current: RequiredApproval) -> None:
        target = self.policy.roles[current.role].escalates_to
        current.state = ApprovalState.ESCALATED
        if target is None:
            current.state = ApprovalState.REJECTED
            current.comment = "no decision by the deadline and nobody to escalate to"
            current.decided_by = "workflow"
            current.decided_at = workflow.now()
            self._audit("workflow", "approval expired", f"{current.role}: {current.comment}")
            self._decisions += 1
            return
        self._audit(
            "workflow",
            "escalated",
            f"{current.role} did not decide by {current.deadline.isoformat() if current.deadline else '?'}: "
            f"escalated to {target}",
        )
        if not any(a.role == target and a.state is ApprovalState.PENDING for a in self.approvals):
            index = self.approvals.index(current)
            self.approvals.insert(
                index + 1,
                RequiredApproval(role=target, escalated_from=current.role, round=current.round),
            )
        self._decisions += 1
        await self._alert(
            "critical",
            target,
            f"promotion {self.plan.promotion_id}: {current.role} did not decide in time; "
            f"your approval is needed",
        )

    def _changed_since(self, seen: int) -> Callable[[], bool]:
        return lambda: self._decisions != seen or self._cancel is not None

    def _check_decision(self, d: Decision) -> tuple[str | None, RequiredApproval | None]:
        return decision_refusal(
            self.approvals,
            self.policy,
            approver=d.approver,
            role=d.role,
            open_for_decisions=self.state is PromotionState.AWAITING_APPROVAL,
        )

    def _decide(self, d: Decision, approve: bool, channel: str) -> UpdateAnswer:
        reason, approval = self._check_decision(d)
        if reason is not None or approval is None:
            raise ValueError(reason or "no approval to decide")
        if approval.state is not ApprovalState.PENDING:
            return UpdateAnswer(
                state=self.state,
                message=f"{approval.role} already decided by {approval.decided_by}: "
                f"{approval.state.value.lower()} (nothing changed)",
            )
        approval.state = ApprovalState.APPROVED if approve else ApprovalState.REJECTED
        approval.decided_by = d.approver
        approval.decided_at = workflow.now()
        approval.comment = d.comment
        self._decisions += 1
        verb = "approved" if approve else "rejected"
        self._audit(
            d.approver,
            verb,
            f"as {approval.role} via {channel}" + (f": {d.comment}" if d.comment else ""),
        )
        return UpdateAnswer(state=self.state, message=f"{approval.role} {verb} by {d.approver}")

    @workflow.update(name="approve")
    async def approve(self, d: Decision) -> UpdateAnswer:
        return self._decide(d, True, "update")

    @approve.validator
    def _validate_approve(self, d: Decision) -> None:
        reason, _ = self._check_decision(d)
        if reason:
            raise ValueError(reason)

    @workflow.update(name="reject")
    async def reject(self, d: Decision) -> UpdateAnswer:
        return self._decide(d, False, "update")

    @reject.validator
    def _validate_reject(self, d: Decision) -> None:
        reason, _ = self._check_decision(d)
        if reason:
            raise ValueError(reason)
        if not d.comment.strip():
            raise ValueError("comment: a rejection needs a reason")

    @workflow.signal(name="approval")
    def approval(self, d: SignalledDecision) -> None:
        """The same decision for systems that can only signal; a refusal is audited."""
        reason, _ = self._check_decision(d)
        if reason is None and not d.approve and not d.comment.strip():
            reason = "comment: a rejection needs a reason"
        if reason is not None:
            self._audit(d.approver, "decision refused", f"approval signal: {reason}")
            return
        self._decide(
            Decision(approver=d.approver, role=d.role, comment=d.comment), d.approve, "signal"
        )

    # ------------------------------------------------------------------ preparing

    async def _prepare(self) -> None:
        self._set_state(PromotionState.PREPARING, "accruing vendor funding")
        await self._accrue()
        self._check_cancel()
        self._set_state(PromotionState.PREPARING, "checking inventory coverage per store")
        await self._gates()
        self._check_cancel()
        self._set_state(PromotionState.PREPARING, "creating store tasks")
        await self._create_tasks()
        self._check_cancel()
        if self._price_pending:
            await self._apply_price_change(republish=False)

    async def _accrue(self) -> None:
        if not self.plan.vendor_deal_id or self.metrics is None:
            self.funding.reconciliation = "no vendor funding"
            return
        amount = self.metrics.vendor_funding
        funded_items = set(self.deal.items) if self.deal else set()
        units = sum(
            i.forecast_units_per_store * self.metrics.store_count
            for i in self.plan.items
            if i.item_id in funded_items
        )
        accrual = await self._activity(
            acts.ACCRUE_FUNDING,
            acts.AccrueInput(
                promotion_id=self.plan.promotion_id,
                deal_id=self.plan.vendor_deal_id,
                units=units,
                amount=amount,
            ),
            acts.AccrualResult,
            summary=f"accrue {amount} of vendor funding on deal {self.plan.vendor_deal_id}",
            retry=MONEY_RETRY,
        )
        self.funding.accrual_id = accrual.accrual_id
        self.funding.accrued = accrual.amount
        self._audit("workflow", "funding accrued", f"{accrual.amount} ({accrual.accrual_id})")

    async def _read_coverage(self, store_ids: list[str]) -> None:
        item_ids = [i.item_id for i in self.plan.items]
        size = acts.COVERAGE_BATCH
        batches = [store_ids[i : i + size] for i in range(0, len(store_ids), size)]
        results = await asyncio.gather(
            *[
                self._activity(
                    acts.READ_COVERAGE,
                    acts.CoverageInput(store_ids=batch, item_ids=item_ids),
                    acts.CoverageResult,
                    summary=f"read stock of {len(batch)} stores from WMS (batch {n + 1})",
                    retry=READ_RETRY,
                    limit=LONG_READ_TIMEOUT,
                )
                for n, batch in enumerate(batches)
            ]
        )
        positions = stock_by_store([p for r in results for p in r.positions])
        assert self.facts is not None
        for store_id in store_ids:
            cov = store_coverage(self.facts.stores[store_id], self.plan, positions, self.policy)
            status = self.stores[store_id]
            status.coverage = cov.coverage
            status.threshold = cov.threshold
            if status.overridden_by:
                continue
            if cov.below:
                status.gate = StoreGateState.HELD
                status.note = (
                    f"coverage {cov.coverage} below {cov.threshold} (class {cov.store_class}); "
                    f"short: {', '.join(f'{k} {v}' for k, v in sorted(cov.short_items.items()))}"
                )
            else:
                status.gate = StoreGateState.READY
                status.note = ""

    async def _gates(self) -> None:
        store_ids = list(self.stores)
        await self._read_coverage(store_ids)
        short = [s for s in store_ids if self.stores[s].gate is StoreGateState.HELD]
        if short and self.policy.rebalance is not None:
            await self._rebalance(short)
            await self._read_coverage(short)
        held = [s for s in store_ids if self.stores[s].gate is StoreGateState.HELD]
        for store_id in held[:AUDITED_STORES]:
            self._audit("workflow", "store held", f"{store_id}: {self.stores[store_id].note}")
        if len(held) > AUDITED_STORES:
            self._audit(
                "workflow",
                "store held",
                f"and {len(held) - AUDITED_STORES} more store(s) (see the stores in status)",
            )
        self._audit(
            "workflow",
            "inventory gates",
            f"{len(store_ids) - len(held)} stores ready, {len(held)} held",
        )
        self._refresh_search()

    async def _rebalance(self, short: list[str]) -> None:
        assert self.policy.rebalance is not None
        plan_id = f"{self.plan.promotion_id}-preposition-{self._round}"
        now = workflow.now()
        need_by = self._first_start - self.policy.rebalance_lead
        if need_by <= now:
            need_by = self._first_start
        request = RebalanceRequest(
            plan_id=plan_id,
            reason="promotion_preposition",
            scope=RebalanceScope(stores=short, items=[i.item_id for i in self.plan.items]),
            need_by=self._first_start,
            policy=self.policy.rebalance,
            demand_override=[
                DemandOverride(store_id=s, item_id=i.item_id, units=i.forecast_units_per_store)
                for s in short
                for i in self.plan.items
            ],
            parent_promotion_id=self.plan.promotion_id,
            requested_by=workflow.info().workflow_id,
        )
        child_id = rebalance_workflow_id(plan_id)
        self.rebalance = f"{child_id}: pre-positioning stock for {len(short)} store(s)"
        self._set_state(
            PromotionState.PREPARING,
            f"waiting for rebalance {child_id} to pre-position stock in {len(short)} store(s) "
            f"until {need_by.isoformat()}",
        )
        handle = await workflow.start_child_workflow(
            REBALANCE_WORKFLOW,
            request,
            id=child_id,
            result_type=RebalanceResult,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            static_summary=f"pre-position stock for promotion {self.plan.promotion_id}",
        )
        self._rebalance_handle = handle
        self._audit("workflow", "rebalance started", f"{child_id} for {', '.join(short[:10])}")
        try:
            await workflow.wait_condition(
                lambda: handle.done() or self._cancel is not None,
                timeout=max((need_by - now).total_seconds(), 1.0),
                timeout_summary="rebalance need-by time",
            )
        except TimeoutError:
            self.rebalance = f"{child_id}: not finished by the need-by time {need_by.isoformat()}"
            self._audit("workflow", "rebalance late", self.rebalance)
            return
        self._check_cancel()
        try:
            result: RebalanceResult = await handle
        except ChildWorkflowError as err:
            self.rebalance = f"{child_id}: failed ({_words(err)})"
            self._audit("workflow", "rebalance failed", self.rebalance)
            return
        self.rebalance = (
            f"{child_id}: {result.state.value.lower()}, {result.units_received} of "
            f"{result.units_planned} units received"
        )
        self._audit("workflow", "rebalance finished", self.rebalance)

    async def _create_tasks(self) -> None:
        ready = [s for s, st in self.stores.items() if st.gate is StoreGateState.READY]
        if not ready or not self.policy.tasks:
            return
        by_start: dict[datetime, list[str]] = {}
        for store_id in ready:
            by_start.setdefault(self._window(store_id)[0], []).append(store_id)
        for template in self.policy.tasks:
            for start, stores in by_start.items():
                due = start - template.due_before_start
                result = await self._activity(
                    acts.CREATE_TASKS,
                    acts.CreateTasksInput(
                        promotion_id=self.plan.promotion_id,
                        store_ids=stores,
                        kind=template.kind,
                        description=template.description,
                        due_at=due,
                        callback_workflow_id=workflow.info().workflow_id
                        if len(ready) <= TASK_CALLBACK_LIMIT
                        else None,
                    ),
                    acts.TasksResult,
                    summary=f"create {template.kind} tasks in {len(stores)} stores due "
                    f"{due.isoformat()}",
                    retry=BACKOFFICE_RETRY,
                    limit=LONG_READ_TIMEOUT,
                )
                for task in result.tasks:
                    self.tasks.setdefault(task.task_id, task)
        self._audit("workflow", "store tasks created", f"{len(self.tasks)} tasks")
        self._sla_task = asyncio.create_task(self._watch_slas())

    async def _watch_slas(self) -> None:
        """At each task deadline, alert for the tasks still open (a missed SLA)."""
        deadlines = sorted({t.due_at for t in self.tasks.values()})
        for due in deadlines:
            delay = (due - workflow.now()).total_seconds()
            if delay > 0:
                await workflow.sleep(delay, summary="store task SLA")
            late = [t for t in self.tasks.values() if t.due_at <= due and t.state == "OPEN"]
            if not late:
                continue
            try:
                states = await self._activity(
                    acts.TASK_STATES,
                    acts.TaskStatesInput(promotion_id=self.plan.promotion_id),
                    acts.TasksResult,
                    summary="read store task states",
                    retry=READ_RETRY,
                )
                for t in states.tasks:
                    known = self.tasks.get(t.task_id)
                    if known is not None and known.state == "OPEN" and t.state != "OPEN":
                        known.state = t.state
            except ActivityError:
                pass
            late = [t for t in late if t.state == "OPEN"]
            for t in late:
                t.state = "LATE"
            if late:
                stores = sorted({t.store_id for t in late})
                message = (
                    f"{len(late)} store task(s) missed their SLA ({due.isoformat()}) in "
                    f"{len(stores)} store(s): {', '.join(stores[:10])}"
                )
                self._audit("workflow", "SLA missed", message)
                await self._alert("warning", "store_operations", message)

    @workflow.signal(name="store_task_done")
    def store_task_done(self, event: TaskDone) -> None:
        if event.event_id in self._seen_events:
            return
        self._seen_events.add(event.event_id)
        task = self.tasks.get(event.task_id)
        if task is None:
            return
        task.state = "DONE" if event.status == "completed" else "CANCELLED"

    # ------------------------------------------------------------------ publishing

    def _request(
        self,
        channel: Channel,
        action: PublicationAction,
        targets: list[str],
        reason: str = "",
        *,
        window: tuple[datetime, datetime] | None = None,
    ) -> PublicationRequest:
        pub = self.policy.publication
        starts_at, ends_at = window or (self._first_start, self._last_end)
        return PublicationRequest(
            promotion_id=self.plan.promotion_id,
            channel=channel,
            action=action,
            targets=targets,
            lines=list(self.lines),
            version=self.version,
            starts_at=starts_at,
            ends_at=ends_at,
            ack_timeout=pub.ack_timeout,
            max_republish=pub.max_republish,
            name=self.plan.name,
            offer_type=self.plan.offer.type.value,
            scope_store_ids=[s for s, st in self.stores.items() if st.gate is StoreGateState.READY]
            or list(self.stores),
            deal_id=self.plan.vendor_deal_id,
            reason=reason,
        )

    async def _fan_out(self, requests: list[PublicationRequest]) -> list[PublicationOutcome]:
        if not requests:
            return []
        pub = self.policy.publication
        for r in requests:
            status = self.channels[r.channel.value]
            status.state = "SENT"
            status.version = r.version
            attempted = self._attempted.setdefault(r.channel.value, [])
            known = set(attempted)
            for t in r.targets:
                if t not in known:
                    attempted.append(t)
                    known.add(t)
        # batch children are named by channel, action, version and batch number: requests
        # that share those (POS stores in different time zones) go in successive rounds
        rounds: list[list[PublicationRequest]] = []
        for r in requests:
            key = (r.channel, r.action, r.version)
            for round_ in rounds:
                if all((x.channel, x.action, x.version) != key for x in round_):
                    round_.append(r)
                    break
            else:
                rounds.append([r])
        outcomes: list[PublicationOutcome] = []
        for round_ in rounds:
            outcomes += await publish_all(
                workflow.info().workflow_id,
                round_,
                batch_size=pub.batch_size,
                max_pending_children=pub.max_pending_children,
            )
        return outcomes

    async def _publish(self, store_ids: list[str] | None = None, *, first: bool = False) -> None:
        """Publish the current price version: every channel, or POS for `store_ids` only."""
        ready = (
            [s for s, st in self.stores.items() if st.gate is StoreGateState.READY]
            if store_ids is None
            else store_ids
        )
        requests = []
        for channel in self.plan.channels:
            if channel in STORE_SCOPED:
                if ready:
                    requests += self._requests(channel, PublicationAction.PUBLISH, ready)
            elif store_ids is None:
                requests.append(self._request(channel, PublicationAction.PUBLISH, [ALL_TARGETS]))
        outcomes = await self._fan_out(requests)
        self._apply_publish(outcomes, first=first)

    def _apply_publish(self, outcomes: list[PublicationOutcome], *, first: bool) -> None:
        pub = self.policy.publication
        for outcome in outcomes:
            status = self.channels[outcome.channel.value]
            published = self._published.setdefault(outcome.channel.value, [])
            seen = set(published)
            for o in outcome.outcomes:
                if o.state == "CONFIRMED" and o.target not in seen:
                    published.append(o.target)
                    seen.add(o.target)
                if outcome.channel in STORE_SCOPED and o.target in self.stores:
                    self.stores[o.target].published = o.state == "CONFIRMED"
            if first:
                self._targets_planned += len(outcome.outcomes)
                self._targets_on_time += sum(
                    1 for o in outcome.outcomes if o.state == "CONFIRMED" and o.attempts <= 1
                )
            status.targets = len(set(self._attempted.get(outcome.channel.value, [])))
            status.confirmed = len(published)
            status.failed = outcome.failed
            status.reconciled_by_readback += outcome.reconciled_by_readback
            status.republished += outcome.republished
            status.duplicate_acks_dropped += outcome.duplicate_acks_dropped
            status.state = (
                "FAILED"
                if outcome.failed and not published
                else ("CONFIRMED" if published else status.state)
            )
            status.detail = (
                f"v{outcome.version}: {outcome.confirmed} confirmed, {outcome.failed} failed"
            )
        failures: list[str] = []
        for outcome in outcomes:
            if not outcome.failed:
                continue
            failed = outcome.failed_targets
            if outcome.channel not in STORE_SCOPED:
                reasons = "; ".join(o.reason for o in outcome.outcomes if o.state == "FAILED")
                failures.append(
                    f"channel {outcome.channel.value} could not be published: {reasons}"
                )
                continue
            share = Decimal(len(failed)) * 100 / Decimal(max(len(outcome.outcomes), 1))
            if pub.on_store_failure == "fail_launch" or share > pub.max_failed_store_pct:
                failures.append(
                    f"{len(failed)} store(s) ({share.quantize(Decimal('0.1'))}%) could not be "
                    f"published to {outcome.channel.value} "
                    f"({'; '.join(sorted({o.reason for o in outcome.outcomes if o.state == 'FAILED'}))[:300]}); "
                    f"policy {pub.on_store_failure}, at most {pub.max_failed_store_pct}% of "
                    "stores may be held"
                )
                continue
            for store_id in failed:
                st = self.stores.get(store_id)
                if st is not None:
                    st.gate = StoreGateState.HELD
                    st.note = f"{outcome.channel.value} publication failed"
            self._audit(
                "workflow",
                "stores held",
                f"{len(failed)} store(s) not published to {outcome.channel.value}, held by "
                f"policy: {', '.join(failed[:10])}",
            )
        if failures:
            raise LaunchFailed("; ".join(failures))

    async def _publish_phase(self) -> None:
        self._set_state(PromotionState.PUBLISHING, self._publishing_words())
        await self._publish(first=True)
        self._audit(
            "workflow",
            "published",
            "; ".join(f"{c.channel}: {c.detail}" for c in self.channels.values()),
        )
        self._check_cancel()
        await self._handle_changes()

    def _publishing_words(self) -> str:
        ready = sum(1 for s in self.stores.values() if s.gate is StoreGateState.READY)
        return (
            f"publishing price version {self.version} to "
            f"{', '.join(c.value for c in self.plan.channels)} ({ready} stores), waiting for "
            "confirmations"
        )

    async def _handle_changes(self) -> None:
        """Apply what updates queued: a price change, stores released by an override."""
        while self._price_pending or self._release:
            self._check_cancel()
            if self._price_pending:
                await self._apply_price_change(republish=True)
                continue
            stores, self._release = self._release, []
            if Channel.POS in self.plan.channels and stores:
                outcomes = await self._fan_out(
                    self._requests(Channel.POS, PublicationAction.PUBLISH, stores)
                )
                self._apply_publish(outcomes, first=False)
                self._audit("workflow", "published", f"POS in overridden store(s) {stores}")

    async def _apply_price_change(self, *, republish: bool) -> None:
        self._price_pending = False
        roles, self._reapproval = self._reapproval, []
        back_to = self.state
        if roles:
            self._round += 1
            for role in roles:
                existing = [a for a in self.approvals if a.role == role]
                if existing:
                    a = existing[-1]
                    a.state = ApprovalState.PENDING
                    a.deadline = None
                    a.reminded = False
                    a.decided_by = None
                    a.decided_at = None
                    a.comment = ""
                    a.round = self._round
                else:
                    self.approvals.append(RequiredApproval(role=role, round=self._round))
            if not await self._await_approvals():
                self._check_cancel()
                raise ReapprovalRejected(
                    "the price change was not re-approved: " + "; ".join(self.reasons[-1:])
                )
        if republish:
            self._set_state(PromotionState.PUBLISHING, self._publishing_words())
            channels = [Channel(c) for c, targets in self._published.items() if targets]
            requests = []
            for channel in channels:
                targets = self._published[channel.value]
                requests += self._requests(channel, PublicationAction.PUBLISH, list(targets))
            outcomes = await self._fan_out(requests)
            self._apply_publish(outcomes, first=False)
            self._audit("workflow", "republished", f"price version {self.version}")
        self._set_state(
            back_to
            if back_to not in (PromotionState.AWAITING_APPROVAL,)
            else PromotionState.PREPARING,
            self.waiting_for,
        )

    # ------------------------------------------------------------------ scheduled / live

    async def _wait_until(self, when: Any, words: str, state: PromotionState) -> None:
        while True:
            self._check_cancel()
            await self._handle_changes()
            self._set_state(state, words)
            remaining = (when - workflow.now()).total_seconds()
            if remaining <= 0:
                return
            try:
                await workflow.wait_condition(
                    lambda: self._cancel is not None or self._price_pending or bool(self._release),
                    timeout=remaining,
                    timeout_summary=words,
                )
            except TimeoutError:
                return

    async def _scheduled(self) -> None:
        await self._wait_until(
            self._first_start,
            f"scheduled: goes live at {self._first_start.isoformat()}",
            PromotionState.SCHEDULED,
        )
        self._check_cancel()

    async def _live(self) -> None:
        self._set_state(PromotionState.LIVE, "live")
        self._audit("workflow", "live", f"price version {self.version}")
        await self._start_monitor()
        await self._wait_until(
            self._last_end,
            f"live until {self._last_end.isoformat()}; sell-through monitored",
            PromotionState.LIVE,
        )
        self._check_cancel()
        handle = self._monitor_handle
        if handle is not None:
            try:
                await workflow.wait_condition(
                    handle.done, timeout=timedelta(hours=1), timeout_summary="monitor wrap-up"
                )
                summary = await handle
                self.monitor = (
                    f"sellthrough-{self.plan.promotion_id}: finished ({_summary_words(summary)})"
                )
            except TimeoutError:
                handle.cancel()
                self.monitor = f"sellthrough-{self.plan.promotion_id}: cancelled at the end"
            except ChildWorkflowError as err:
                self.monitor = f"sellthrough-{self.plan.promotion_id}: {_words(err)}"

    async def _start_monitor(self) -> None:
        live_stores = [s for s, st in self.stores.items() if st.published]
        if not live_stores:
            self.monitor = "no store is live: nothing to monitor"
            return
        by_region: dict[str, list[str]] = {}
        for store_id in live_stores:
            by_region.setdefault(self.stores[store_id].region or "unknown", []).append(store_id)
        arg = MonitorInput(
            promotion_id=self.plan.promotion_id,
            items=[
                MonitorItem(
                    item_id=line.item_id,
                    regular_price=line.regular_price,
                    promo_price=line.promo_price,
                    offer=line.offer,
                )
                for line in self.lines
            ],
            stores_by_region=by_region,
            forecast_units={
                region: {
                    i.item_id: i.forecast_units_per_store * len(stores) for i in self.plan.items
                }
                for region, stores in by_region.items()
            },
            starts_at=self._first_start,
            ends_at=self._last_end,
            policy=self.policy.monitor,
        )
        self._monitor_handle = await workflow.start_child_workflow(
            MONITOR_WORKFLOW,
            arg,
            result_type=MonitorSummary,
            id=f"sellthrough-{self.plan.promotion_id}",
            parent_close_policy=workflow.ParentClosePolicy.REQUEST_CANCEL,
            static_summary=f"sell-through monitor of promotion {self.plan.promotion_id}",
        )
        self.monitor = f"sellthrough-{self.plan.promotion_id}: running"

    # ------------------------------------------------------------------ ending

    async def _end(self) -> None:
        self._set_state(PromotionState.ENDING, "reverting prices on every channel")
        requests = []
        for channel_value, targets in self._published.items():
            if targets:
                requests += self._requests(
                    Channel(channel_value),
                    PublicationAction.REVERT,
                    list(targets),
                    "promotion ended",
                )
        outcomes = await self._fan_out(requests)
        for outcome in outcomes:
            status = self.channels[outcome.channel.value]
            status.state = "REVERTED" if not outcome.failed else "FAILED"
            status.detail = (
                f"revert v{outcome.version}: {outcome.confirmed} confirmed, {outcome.failed} failed"
            )
        self._set_state(PromotionState.ENDING, "verifying the regular prices are back")
        await self._verify("regular")
        self._set_state(PromotionState.ENDING, "closing store tasks, reading actual units")
        await self._cancel_tasks("promotion ended")
        live_stores = [s for s, st in self.stores.items() if st.published]
        actuals = await self._activity(
            acts.READ_ACTUALS,
            acts.ActualsInput(
                promotion_id=self.plan.promotion_id,
                item_ids=[i.item_id for i in self.plan.items],
                store_ids=live_stores,
                since=self._first_start,
                until=self._last_end,
            ),
            acts.ActualsResult,
            summary=f"read units sold in {len(live_stores)} stores during the window",
            retry=READ_RETRY,
            limit=LONG_READ_TIMEOUT,
        )
        await self._claim(actuals)
        assert self.metrics is not None and self.facts is not None
        channel_confirmed = {
            c: (len(self._published.get(c, [])), len(self._attempted.get(c, [])))
            for c in self.channels
        }
        self.kpis = compute_kpis(
            lines=self.lines,
            items=self.facts.items,
            metrics=self.metrics,
            deal=self.deal,
            targets_planned=self._targets_planned,
            targets_confirmed_on_time=self._targets_on_time,
            channel_confirmed=channel_confirmed,
            stores_total=len(self.stores),
            stores_live=len(live_stores),
            stores_stocked_out=len(actuals.stores_stocked_out),
            actual_units=actuals.units_by_item,
            accrued=self.funding.accrued,
            claimed=self.funding.claimed,
        )
        self._audit("workflow", "KPIs", "; ".join(f"{k}: {v}" for k, v in self.kpis.rows()))

    async def _verify(self, expect: str) -> None:
        for channel_value, targets in self._published.items():
            if not targets:
                continue
            channel = Channel(channel_value)
            stores = [t for t in targets if t != ALL_TARGETS]
            result = await self._activity(
                acts.VERIFY_PRICES,
                acts.VerifyInput(
                    promotion_id=self.plan.promotion_id,
                    channel=channel,
                    store_ids=stores,
                    lines=list(self.lines),
                    expect="regular" if expect == "regular" else "promo",
                ),
                acts.VerifyResult,
                summary=f"read {channel_value} back: {expect} prices expected",
                retry=READ_RETRY,
                limit=LONG_READ_TIMEOUT,
            )
            if result.mismatches:
                message = (
                    f"{channel_value}: {len(result.mismatches)} price(s) not {expect} after "
                    f"revert: {'; '.join(result.mismatches[:5])}"
                )
                self.reasons.append(message)
                self._audit("workflow", "verify failed", message)
                await self._alert("critical", "pricing_analyst", message)
            else:
                self._audit(
                    "workflow", "verified", f"{channel_value}: {result.checked} price(s) {expect}"
                )
                self.channels[channel_value].detail += f"; verified {expect} ({result.checked})"

    async def _claim(self, actuals: acts.ActualsResult) -> None:
        if not self.plan.vendor_deal_id or not self.funding.accrual_id:
            return
        funded = set(self.deal.items) if self.deal else set()
        units = sum(n for item, n in actuals.units_by_item.items() if item in funded)
        claim = await self._activity(
            acts.CLAIM_FUNDING,
            acts.ClaimInput(
                promotion_id=self.plan.promotion_id,
                deal_id=self.plan.vendor_deal_id,
                units=units,
            ),
            acts.ClaimResult,
            summary=f"claim vendor funding on {units} units sold",
            retry=MONEY_RETRY,
        )
        self.funding.claim_id = claim.claim_id
        self.funding.claimed = claim.amount
        self.funding.claim_capped = claim.capped
        expected = self.funding.funding_per_unit * units
        self.funding.reconciliation = (
            f"claimed {claim.amount} on {units} units against {self.funding.accrued} accrued "
            f"({'capped by the deal, ' if claim.capped else ''}"
            f"expected {expected.quantize(Decimal('0.01'))}; accrual variance "
            f"{(claim.amount - self.funding.accrued).quantize(Decimal('0.01'))})"
        )
        self._audit("workflow", "funding claimed", self.funding.reconciliation)

    # ------------------------------------------------------------------ compensation

    async def _compensate(self, why: str) -> None:
        """The saga: undo in reverse order, each step on its own so one failure does not
        stop the others; every step is in the audit trail."""
        self._set_state(self.state, f"rolling back: {why}")
        self._audit("workflow", "rollback started", why)
        if self._monitor_handle is not None and not self._monitor_handle.done():
            self._monitor_handle.cancel()
            self.monitor += " (cancelled)"
        if self._rebalance_handle is not None and not self._rebalance_handle.done():
            self._rebalance_handle.cancel()
            self.rebalance += " (cancelled: open transfers cancelled by the rebalance)"
            self._audit("workflow", "rebalance cancelled", self.rebalance)
        requests = []
        for channel_value, targets in self._attempted.items():
            if targets:
                requests += self._requests(
                    Channel(channel_value), PublicationAction.RETRACT, list(targets), why[:400]
                )
        if requests:
            try:
                outcomes = await self._fan_out(requests)
                for outcome in outcomes:
                    status = self.channels[outcome.channel.value]
                    status.state = "RETRACTED" if not outcome.failed else "FAILED"
                    status.detail = (
                        f"retract: {outcome.confirmed} retracted, {outcome.failed} failed"
                    )
                    if not outcome.failed:
                        self._published[outcome.channel.value] = []
                        for o in outcome.outcomes:
                            if o.target in self.stores:
                                self.stores[o.target].published = False
                self._audit(
                    "workflow",
                    "retracted",
                    "; ".join(f"{c.channel}: {c.detail}" for c in self.channels.values()),
                )
            except (ActivityError, ChildWorkflowError, ApplicationError) as err:
                self.reasons.append(f"retract failed: {_words(err)}")
                self._audit("workflow", "retract failed", _words(err))
        held = [s for s, st in self.stores.items() if st.gate is StoreGateState.HELD]
        for s in held:
            self.stores[s].gate = StoreGateState.NOT_READY
            self.stores[s].note = "hold released by rollback"
        if held:
            self._audit("workflow", "holds released", f"{len(held)} store(s)")
        if self.tasks:
            await self._cancel_tasks(why)
        if self.funding.accrual_id and self.funding.reversed == 0:
            try:
                reversal = await self._activity(
                    acts.REVERSE_ACCRUAL,
                    acts.ReverseInput(
                        promotion_id=self.plan.promotion_id,
                        accrual_id=self.funding.accrual_id,
                        reason=why[:400],
                    ),
                    acts.AccrualResult,
                    summary=f"reverse accrual {self.funding.accrual_id}",
                    retry=MONEY_RETRY,
                )
                self.funding.reversed = reversal.amount
                self.funding.reconciliation = f"accrual {self.funding.accrual_id} reversed"
                self._audit("workflow", "accrual reversed", f"{reversal.amount}")
            except ActivityError as err:
                self.reasons.append(f"accrual reversal failed: {_words(err)}")
                self._audit("workflow", "accrual reversal failed", _words(err))
        self._audit("workflow", "rollback finished", why)

    async def _cancel_tasks(self, why: str) -> None:
        open_tasks = [t for t in self.tasks.values() if t.state in ("OPEN", "LATE")]
        if not open_tasks:
            return
        try:
            result = await self._activity(
                acts.CANCEL_TASKS,
                acts.CancelTasksInput(promotion_id=self.plan.promotion_id, reason=why[:400]),
                acts.CancelTasksResult,
                summary=f"cancel {len(open_tasks)} open store task(s)",
                retry=BACKOFFICE_RETRY,
                limit=LONG_READ_TIMEOUT,
            )
        except ActivityError as err:
            self._audit("workflow", "task cancel failed", _words(err))
            return
        for t in open_tasks:
            t.state = "CANCELLED"
        self._audit("workflow", "tasks closed", f"{result.cancelled} open task(s) cancelled")

    # ------------------------------------------------------------------ other updates

    def _roles_allowed(self, person: str, allowed: list[str], role: str | None) -> str | None:
        held = [r for r in self.policy.roles_of(person) if r in allowed]
        if not self.policy.roles_of(person):
            return f"{person} is not in the approval matrix"
        if not held:
            return f"{person} holds none of the roles allowed to do this ({', '.join(allowed)})"
        if role is not None and role not in held:
            return f"{person} may not act as {role} here (allowed: {', '.join(held)})"
        return None

    @workflow.update(name="change_price")
    async def change_price(self, change: PriceChange) -> UpdateAnswer:
        assert self.facts is not None
        new_plan = self.plan.model_copy(update={"offer": change.offer})
        validation = validate_plan(new_plan, self.facts, self.policy, now=workflow.now())
        assert validation.metrics is not None
        pct = price_change_pct(self.lines, validation.lines)
        roles = reapprovals(
            self.approvals, validation.metrics, pct, self.policy, round_=self._round + 1
        )
        self.plan = new_plan
        self.lines = validation.lines
        self.metrics = validation.metrics
        self.tiers, _ = tier_roles(self.metrics, self.policy)
        self.version += 1
        self._audit(
            change.requested_by,
            "price changed",
            f"v{self.version}: {change.offer.words()} ({pct}% change): {change.reason}; "
            + (f"re-opens {', '.join(roles)}" if roles else "no approval re-opened"),
        )
        if self.state in (PromotionState.VALIDATING, PromotionState.AWAITING_APPROVAL):
            self._round += 1
            for role in roles:
                existing = [a for a in self.approvals if a.role == role]
                if existing:
                    a = existing[-1]
                    a.state = ApprovalState.PENDING
                    a.deadline = None
                    a.reminded = False
                    a.decided_by = None
                    a.decided_at = None
                    a.comment = ""
                    a.round = self._round
                else:
                    self.approvals.append(RequiredApproval(role=role, round=self._round))
            self._decisions += 1
        else:
            self._reapproval = list(dict.fromkeys([*self._reapproval, *roles]))
            self._price_pending = True
        self._refresh_search()
        published = any(self._published.values())
        return UpdateAnswer(
            state=self.state,
            message=f"price version {self.version} ({pct}% change); "
            + (f"re-opens {', '.join(roles)}; " if roles else "no approval re-opened; ")
            + ("published channels will be republished" if published else "nothing published yet"),
        )

    @change_price.validator
    def _validate_change_price(self, change: PriceChange) -> None:
        if self.state in TERMINAL_STATES or self.state is PromotionState.ENDING:
            raise ValueError(f"the promotion is {self.state.value}: prices can no longer change")
        if self.facts is None or not self.lines:
            raise ValueError("the plan is still being validated: try again in a moment")
        if self._price_pending:
            raise ValueError("a price change is already being applied: try again when it is")
        refusal = self._roles_allowed(change.requested_by, self.policy.price_change_roles, None)
        if refusal:
            raise ValueError(refusal)
        new_plan = self.plan.model_copy(update={"offer": change.offer})
        validation = validate_plan(new_plan, self.facts, self.policy, now=workflow.now())
        problems = [p.words() for p in validation.problems]
        if problems:
            raise ValueError("the new price is refused: " + "; ".join(problems))
        if [(x.item_id, x.promo_price) for x in validation.lines] == [
            (x.item_id, x.promo_price) for x in self.lines
        ]:
            raise ValueError("the new offer gives the same prices as the current one")

    @workflow.update(name="override_gate")
    async def override_gate(self, override: GateOverride) -> UpdateAnswer:
        store = self.stores[override.store_id]
        store.gate = StoreGateState.READY
        store.overridden_by = override.approver
        store.note = f"held ({store.note}); overridden by {override.approver}: {override.reason}"
        self._audit(override.approver, "gate overridden", f"{override.store_id}: {override.reason}")
        if (
            self.state in (PromotionState.PUBLISHING, PromotionState.SCHEDULED, PromotionState.LIVE)
            and not store.published
        ):
            self._release.append(override.store_id)
        self._refresh_search()
        return UpdateAnswer(
            state=self.state,
            message=f"store {override.store_id} released by {override.approver}"
            + ("; it will be published" if override.store_id in self._release else ""),
        )

    @override_gate.validator
    def _validate_override(self, override: GateOverride) -> None:
        if self.state not in (
            PromotionState.PREPARING,
            PromotionState.PUBLISHING,
            PromotionState.SCHEDULED,
            PromotionState.LIVE,
        ):
            raise ValueError(f"the promotion is {self.state.value}: no store gate to override")
        refusal = self._roles_allowed(override.approver, self.policy.override_roles, override.role)
        if refusal:
            raise ValueError(refusal)
        store = self.stores.get(override.store_id)
        if store is None:
            raise ValueError(f"store {override.store_id} is not in this promotion")
        if store.gate is not StoreGateState.HELD:
            raise ValueError(f"store {override.store_id} is not held (gate {store.gate.value})")

    @workflow.update(name="cancel")
    async def cancel(self, request: CancelRequest) -> UpdateAnswer:
        if self._cancel is None:
            self._cancel = request
            self._audit(request.requested_by, "cancel requested", request.reason)
        return UpdateAnswer(
            state=self.state,
            message="cancellation started: published channels will be retracted, tasks "
            "cancelled and accruals reversed",
        )

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        if self.state in TERMINAL_STATES or self.state is PromotionState.ENDING:
            raise ValueError(f"the promotion is {self.state.value}: it can no longer be cancelled")
        refusal = self._roles_allowed(request.requested_by, self.policy.cancel_roles, request.role)
        if refusal:
            raise ValueError(refusal)

    @workflow.query(name="status")
    def status(self) -> PromotionStatus:
        return self._status()

    # ------------------------------------------------------------------ helpers

    def _check_cancel(self) -> None:
        if self._cancel is not None:
            raise CancelRequested()

    def _status(self) -> PromotionStatus:
        current = current_approval(self.approvals)
        return PromotionStatus(
            promotion_id=self.plan.promotion_id,
            name=self.plan.name,
            state=self.state,
            waiting_for=self.waiting_for,
            version=self.version,
            offer=self.plan.offer.words(),
            starts_at=self._first_start,
            ends_at=self._last_end,
            lines=list(self.lines),
            metrics=self.metrics,
            tiers=self.tiers,
            approvals=self.approvals,
            awaiting_role=current.role
            if current and self.state is PromotionState.AWAITING_APPROVAL
            else None,
            channels=list(self.channels.values()),
            stores=list(self.stores.values()),
            tasks=sorted(
                self.tasks.values(),
                key=lambda t: ({"LATE": 0, "OPEN": 1}.get(t.state, 2), t.task_id),
            )[:TASKS_SHOWN],
            task_counts=self._task_counts(),
            funding=self.funding,
            rebalance=self.rebalance,
            monitor=self.monitor,
            kpis=self.kpis,
            reasons=self.reasons,
            audit=self.audit,
        )

    def _window(self, store_id: str) -> tuple[datetime, datetime]:
        facts = self.facts.stores.get(store_id) if self.facts is not None else None
        if facts is not None and facts.starts_at is not None and facts.ends_at is not None:
            return facts.starts_at, facts.ends_at
        return self.plan.starts_at, self.plan.ends_at

    @property
    def _first_start(self) -> datetime:
        starts = [self._window(s)[0] for s in self.stores] or [self.plan.starts_at]
        return min(starts)

    @property
    def _last_end(self) -> datetime:
        ends = [self._window(s)[1] for s in self.stores] or [self.plan.ends_at]
        return max(ends)

    def _requests(
        self,
        channel: Channel,
        action: PublicationAction,
        targets: list[str],
        reason: str = "",
    ) -> list[PublicationRequest]:
        """One request per distinct store window for POS (store time), else one request."""
        if channel not in STORE_SCOPED:
            return [self._request(channel, action, targets, reason)]
        groups: dict[tuple[datetime, datetime], list[str]] = {}
        for target in targets:
            groups.setdefault(self._window(target), []).append(target)
        return [
            self._request(channel, action, group, reason, window=window)
            for window, group in groups.items()
        ]

    def _task_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for task in self.tasks.values():
            counts[task.state] = counts.get(task.state, 0) + 1
        return counts

    def _audit(self, actor: str, action: str, detail: str = "") -> None:
        self.audit.append(AuditEntry(at=workflow.now(), actor=actor, action=action, detail=detail))

    def _set_state(self, state: PromotionState, words: str) -> None:
        self.state = state
        self.waiting_for = words or state.value.lower().replace("_", " ")
        workflow.set_current_details(
            f"**{state.value}**: {self.waiting_for}\n\n"
            f"{self.plan.name} ({self.plan.offer.words()}), "
            f"{self.plan.starts_at.isoformat()} to {self.plan.ends_at.isoformat()}"
        )
        self._refresh_search()

    def _refresh_search(self) -> None:
        current = current_approval(self.approvals)
        awaiting = (
            current.role if current and self.state is PromotionState.AWAITING_APPROVAL else ""
        )
        at_risk = float(self.metrics.unfunded_cost) if self.metrics is not None else 0.0
        workflow.upsert_search_attributes(
            [
                RETAIL_KIND.value_set("promotion"),
                RETAIL_STATE.value_set(self.state.value),
                PROMOTION_ID.value_set(self.plan.promotion_id),
                AWAITING_ROLE.value_set(awaiting) if awaiting else AWAITING_ROLE.value_unset(),
                STORE_COUNT.value_set(len(self.stores)),
                AMOUNT_AT_RISK.value_set(at_risk),
            ]
        )

    async def _alert(
        self, severity: Literal["info", "warning", "critical"], audience: str, message: str
    ) -> None:
        try:
            await self._activity(
                acts.ALERT,
                acts.AlertInput(
                    promotion_id=self.plan.promotion_id,
                    severity=severity,
                    audience=audience,
                    message=message,
                ),
                None,
                summary=f"alert {audience}: {message[:80]}",
                retry=BACKOFFICE_RETRY,
            )
        except ActivityError as err:
            self._audit("workflow", "alert failed", _words(err))

    async def _activity(
        self,
        name: str,
        arg: Any,
        result_type: type[M] | None,
        *,
        summary: str,
        retry: RetryPolicy,
        limit: timedelta = CALL_TIMEOUT,
    ) -> Any:
        return await workflow.execute_activity(
            name,
            arg,
            result_type=result_type,
            start_to_close_timeout=limit,
            schedule_to_close_timeout=timedelta(minutes=30),
            retry_policy=retry,
            summary=summary[:200],
        )


def _summary_words(summary: Any) -> str:
    for attr in ("words", "summary"):
        value = getattr(summary, attr, None)
        if isinstance(value, str):
            return value
        if callable(value):
            try:
                out = value()
                if isinstance(out, str):
                    return out
            except Exception:
                pass
    return "done"
