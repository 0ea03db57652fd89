"""SellThroughMonitor: while a promotion is live, compare POS sales with the forecast.

Child of ``PromotionLaunch`` (id ``sellthrough-{promotion_id}``) for the live window. Every
``check_interval`` it reads units sold per region and item, and
:func:`domain.sellthrough.rules.evaluate` recommends a markdown, a transfer or digital
throttling. Inside the policy's bounds a recommendation is applied at once; outside them it
waits for the ``decide`` update from an authorized role (the validator refuses other roles
and decisions on closed recommendations before they enter history). Applying
(:mod:`domain.sellthrough.effects`):

* markdown -> the region's stores get the lower price in their POS price book
  (:func:`workflows.channel_publication.publish_all`, batch children, its own price version);
* transfer -> an ``InventoryRebalance`` child moves stock from a slow region to the fast one;
* digital throttling -> the promotion is retracted from e-commerce and marketplace.

Applying reads the state, awaits a publication or a child, then writes the state; a
``decide`` and the check loop can both do it. So, as in the ``safe_message_handlers``
sample, one lock serializes them: a recommendation is claimed (APPLYING, no decision
possible any more) at once, then applied when the lock is free; a check evaluates and
applies under the lock too, so it never judges a state half way through a change.

Every recommendation and decision is in the audit trail (``status`` query). The workflow
continues-as-new every ``checks_per_run`` checks, carrying its state, so its history stays
small however long the promotion runs.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ChildWorkflowError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from common.search_attributes import AWAITING_ROLE, PROMOTION_ID, RETAIL_KIND, RETAIL_STATE
    from domain.activity_options import task_priority
    from domain.rebalance.contract import PRIORITY as REBALANCE_PRIORITY
    from domain.sellthrough.contract import (
        DECIDE,
        SALES_BY_REGION,
        STATUS,
        WORKFLOW_TYPE,
        Decision,
        MonitorInput,
        MonitorSummary,
        SalesQuery,
    )
    from domain.sellthrough.decisions import check_decision
    from domain.sellthrough.effects import (
        markdown_request,
        markdown_total,
        record_markdown,
        record_throttle,
        throttle_requests,
        transfer_request,
        transfer_words,
        transfer_workflow_id,
    )
    from domain.sellthrough.rules import evaluate
    from domain.sellthrough.status import (
        Recommendation,
        RecommendationKind,
        RecommendationStatus,
        audit,
        awaiting,
        awaiting_words,
        check_words,
        recommended_words,
    )

from workflows.activity_calls import call
from workflows.channel_publication import publish_all
from workflows.inventory_rebalance import InventoryRebalance

SYSTEM = "sell-through monitor"


@workflow.defn(name=WORKFLOW_TYPE)
class SellThroughMonitor:
    @workflow.init
    def __init__(self, data: MonitorInput) -> None:
        self._data = data
        self._ended = False
        self._next_check_at: datetime | None = None
        self._applying = asyncio.Lock()
        """Held while a check evaluates and applies, and while a decision applies."""

    # -- messages -----------------------------------------------------------------------

    @workflow.query(name=STATUS)
    def status(self) -> MonitorSummary:
        return self._summary()

    @workflow.update(name=DECIDE)
    async def decide(self, decision: Decision) -> Recommendation:
        """Approve (apply) or reject one recommendation awaiting a decision."""
        rec = check_decision(self._data, decision)
        actor = f"{decision.by} ({decision.role})"
        rec.decided_by = decision.by
        rec.decided_role = decision.role
        rec.decision_note = decision.note
        state, now = self._data.state, workflow.now()
        if decision.approve:
            audit(state, now, actor, "approved", f"{rec.id}: {rec.reason}")
            rec.status = RecommendationStatus.APPLYING  # claimed: no second decision
            async with self._applying:
                await self._apply(rec, actor)
        else:
            rec.status = RecommendationStatus.REJECTED
            audit(state, now, actor, "rejected", f"{rec.id}: {decision.note or 'no reason given'}")
        self._keep_attributes()
        return rec

    @decide.validator
    def _validate_decide(self, decision: Decision) -> None:
        check_decision(self._data, decision)

    # -- run ----------------------------------------------------------------------------

    @workflow.run
    async def run(self, data: MonitorInput) -> MonitorSummary:
        data = self._data
        state, policy = data.state, data.policy
        workflow.upsert_search_attributes(
            [
                RETAIL_KIND.value_set("sellthrough"),
                PROMOTION_ID.value_set(data.promotion_id),
                RETAIL_STATE.value_set("MONITORING"),
            ]
        )
        self._keep_attributes()
        checks_this_run = 0
        while True:
            now = workflow.now()
            if now >= data.ends_at:
                break
            if checks_this_run >= policy.checks_per_run or (
                checks_this_run > 0 and workflow.info().is_continue_as_new_suggested()
            ):
                await workflow.wait_condition(workflow.all_handlers_finished)
                state.runs += 1
                audit(
                    state, now, SYSTEM, "continued", f"run {state.runs} after {state.checks} checks"
                )
                workflow.continue_as_new(data)
            base = state.last_check_at or data.starts_at
            next_at = min(max(base + policy.check_interval, now), data.ends_at)
            self._next_check_at = next_at
            waiting = awaiting_words(state, policy.authorized_roles)
            if next_at >= data.ends_at:
                workflow.set_current_details(
                    f"{waiting}promotion ends at {data.ends_at.isoformat()}"
                )
                await workflow.sleep(data.ends_at - now, summary="until the promotion ends")
                break
            workflow.set_current_details(
                f"{waiting}next sell-through check at {next_at.isoformat()}"
            )
            if next_at > now:
                await workflow.sleep(next_at - now, summary="until the next sell-through check")
            await self._check()
            checks_this_run += 1
        return await self._finish()

    async def _check(self) -> None:
        """Read the sales, then (under the lock) recommend and apply what is automatic."""
        data, state = self._data, self._data.state
        now = workflow.now()
        query = SalesQuery(
            promotion_id=data.promotion_id,
            item_ids=[i.item_id for i in data.items],
            stores_by_region=data.stores_by_region,
            since=data.starts_at,
            until=now,
        )
        try:
            sales = await call(
                SALES_BY_REGION, query, summary=f"read POS sales of {data.promotion_id} by region"
            )
        except ActivityError as err:
            state.checks += 1
            state.last_check_at = now
            detail = f"POS sales could not be read: {err.cause or err}"
            audit(state, now, SYSTEM, "check_failed", detail)
            return
        async with self._applying:
            recs = evaluate(data, sales, now)
            state.checks += 1
            state.last_check_at = now
            audit(state, now, SYSTEM, "checked", check_words(state, len(recs)))
            roles = data.policy.authorized_roles
            for rec in recs:
                state.recommendations.append(rec)
                audit(state, now, SYSTEM, "recommended", recommended_words(rec, roles))
            self._keep_attributes()
            automatic = [rec for rec in recs if rec.automatic]
            for rec in automatic:
                rec.status = RecommendationStatus.APPLYING  # claimed: no decision on it
            for rec in automatic:
                await self._apply(rec, SYSTEM)
            self._keep_attributes()

    # -- applying (always under self._applying) -----------------------------------------

    async def _apply(self, rec: Recommendation, actor: str) -> None:
        try:
            if rec.kind is RecommendationKind.MARKDOWN:
                ok, result = await self._markdown(rec)
            elif rec.kind is RecommendationKind.TRANSFER:
                ok, result = await self._transfer(rec, actor)
            else:
                ok, result = await self._throttle(rec)
        except (ActivityError, ChildWorkflowError, WorkflowAlreadyStartedError, ValueError) as err:
            ok, result = False, f"could not be applied: {err}"
        rec.status = RecommendationStatus.APPLIED if ok else RecommendationStatus.FAILED
        rec.result = result
        action = "applied" if ok else "apply_failed"
        audit(self._data.state, workflow.now(), actor, action, f"{rec.id}: {result}")

    async def _markdown(self, rec: Recommendation) -> tuple[bool, str]:
        state = self._data.state
        new_total = markdown_total(state, rec)
        request = markdown_request(self._data, rec)
        [outcome] = await publish_all(workflow.info().workflow_id, [request])
        return record_markdown(state, rec, outcome, new_total)

    async def _transfer(self, rec: Recommendation, actor: str) -> tuple[bool, str]:
        request = transfer_request(self._data, rec, actor, workflow.now())
        if request is None:
            return False, "no rebalance policy or source region to move stock with"
        child = transfer_workflow_id(request)
        await workflow.start_child_workflow(
            InventoryRebalance.run,
            request,
            id=child,
            parent_close_policy=ParentClosePolicy.ABANDON,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,  # a business key runs once
            static_summary=f"sell-through transfer {rec.id} for {self._data.promotion_id}",
            priority=task_priority(REBALANCE_PRIORITY),
        )
        rec.rebalance_workflow_id = child
        return True, transfer_words(rec, child)

    async def _throttle(self, rec: Recommendation) -> tuple[bool, str]:
        requests = throttle_requests(self._data, rec)
        outcomes = await publish_all(workflow.info().workflow_id, requests)
        return record_throttle(self._data.state, outcomes)

    # -- end ----------------------------------------------------------------------------

    async def _finish(self) -> MonitorSummary:
        await workflow.wait_condition(workflow.all_handlers_finished)
        state = self._data.state
        now = workflow.now()
        for rec in awaiting(state):
            rec.status = RecommendationStatus.EXPIRED
            audit(state, now, SYSTEM, "expired", f"{rec.id}: no decision before the end")
        self._ended = True
        self._next_check_at = None
        workflow.upsert_search_attributes(
            [RETAIL_STATE.value_set("ENDED"), AWAITING_ROLE.value_unset()]
        )
        workflow.set_current_details(
            f"ended after {state.checks} check(s) with {len(state.recommendations)} "
            "recommendation(s)"
        )
        return self._summary()

    # -- helpers ------------------------------------------------------------------------

    def _keep_attributes(self) -> None:
        updates: list[SearchAttributeUpdate] = []
        if awaiting(self._data.state):
            updates.append(AWAITING_ROLE.value_set(self._data.policy.authorized_roles[0]))
        else:
            updates.append(AWAITING_ROLE.value_unset())
        workflow.upsert_search_attributes(updates)

    def _summary(self) -> MonitorSummary:
        state = self._data.state
        return MonitorSummary(
            promotion_id=self._data.promotion_id,
            state="ENDED" if self._ended else "RUNNING",
            checks=state.checks,
            runs=state.runs,
            recommendations=list(state.recommendations),
            audit=list(state.audit),
            last_ratios=dict(state.last_ratios),
            next_check_at=self._next_check_at,
        )


__all__ = ["SellThroughMonitor"]
