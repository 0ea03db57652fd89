"""SellThroughMonitor: while a promotion is live, compare POS sales with the forecast.

Child of ``PromotionLaunch`` (id ``sellthrough-{promotion_id}``) for the live window. Every
``check_interval`` it reads units sold per region and item, and
:func:`domain.sellthrough.evaluate` recommends a markdown, a transfer or digital
throttling. Inside the policy's bounds a recommendation is applied at once; outside them it
waits for the ``decide`` update from an authorized role (the validator refuses other roles
and decisions on closed recommendations before they enter history). Applying:

* markdown -> the region's stores get the lower price in their POS price book
  (:func:`workflows.channel_publication.publish_all`, batch children, its own price version);
* transfer -> an ``InventoryRebalance`` child moves stock from a slow region to the fast one;
* digital throttling -> the promotion is retracted from e-commerce and marketplace.

Every recommendation and decision is in the audit trail (``status`` query). The workflow
continues-as-new every ``checks_per_run`` checks, carrying its state, so its history stays
small however long the promotion runs.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ChildWorkflowError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from common.search_attributes import AWAITING_ROLE, PROMOTION_ID, RETAIL_KIND, RETAIL_STATE
    from domain.activity_options import READ_RETRY
    from domain.publication import (
        Channel,
        PriceLine,
        PublicationAction,
        PublicationRequest,
    )
    from domain.rebalance.contract import (
        DemandOverride,
        RebalanceRequest,
        RebalanceScope,
    )
    from domain.rebalance.contract import workflow_id as workflow_id_for
    from domain.sellthrough import (
        Decision,
        MonitorInput,
        MonitorSummary,
        Recommendation,
        RecommendationKind,
        RecommendationStatus,
        RegionSales,
        SalesQuery,
        audit,
        check_decision,
        current_price,
        evaluate,
        key,
    )
    from workflows.channel_publication import publish_all

SYSTEM = "sell-through monitor"


def workflow_id(promotion_id: str) -> str:
    return f"sellthrough-{promotion_id}"


@workflow.defn(name="SellThroughMonitor")
class SellThroughMonitor:
    @workflow.init
    def __init__(self, data: MonitorInput) -> None:
        self._data = data
        self._ended = False
        self._next_check_at: datetime | None = None

    # -- messages -----------------------------------------------------------------------

    @workflow.query(name="status")
    def status(self) -> MonitorSummary:
        return self._summary()

    @workflow.update(name="decide")
    async def decide(self, decision: Decision) -> Recommendation:
        """Approve (apply) or reject one recommendation awaiting a decision."""
        rec = check_decision(self._data, decision)
        actor = f"{decision.by} ({decision.role})"
        rec.decided_by = decision.by
        rec.decided_role = decision.role
        rec.decision_note = decision.note
        now = workflow.now()
        if decision.approve:
            audit(self._data.state, now, actor, "approved", f"{rec.id}: {rec.reason}")
            await self._apply(rec, actor)
        else:
            rec.status = RecommendationStatus.REJECTED
            audit(
                self._data.state,
                now,
                actor,
                "rejected",
                f"{rec.id}: {decision.note or 'no reason given'}",
            )
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
            if next_at >= data.ends_at:
                workflow.set_current_details(
                    f"{self._awaiting_words()}promotion ends at {data.ends_at.isoformat()}"
                )
                await workflow.sleep(data.ends_at - now, summary="until the promotion ends")
                break
            workflow.set_current_details(
                f"{self._awaiting_words()}next sell-through check at {next_at.isoformat()}"
            )
            if next_at > now:
                await workflow.sleep(next_at - now, summary="until the next sell-through check")
            await self._check()
            checks_this_run += 1
        return await self._finish()

    async def _check(self) -> None:
        data, state = self._data, self._data.state
        now = workflow.now()
        try:
            sales: RegionSales = await workflow.execute_activity(
                "sales_by_region",
                SalesQuery(
                    promotion_id=data.promotion_id,
                    item_ids=[i.item_id for i in data.items],
                    stores_by_region=data.stores_by_region,
                    since=data.starts_at,
                    until=now,
                ),
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=READ_RETRY,
                result_type=RegionSales,
                summary=f"read POS sales of {data.promotion_id} by region",
            )
        except ActivityError as err:
            state.checks += 1
            state.last_check_at = now
            audit(
                state,
                now,
                SYSTEM,
                "check_failed",
                f"POS sales could not be read: {err.cause or err}",
            )
            return
        recs = evaluate(data, sales, now)
        state.checks += 1
        state.last_check_at = now
        audit(
            state,
            now,
            SYSTEM,
            "checked",
            f"check {state.checks}: {len(recs)} new recommendation(s); ratios "
            + ", ".join(f"{k} {v}" for k, v in sorted(state.last_ratios.items())),
        )
        for rec in recs:
            state.recommendations.append(rec)
            bound = (
                "inside policy bounds: applied automatically"
                if rec.automatic
                else (
                    "outside policy bounds: awaiting a decision from "
                    + " or ".join(data.policy.authorized_roles)
                )
            )
            audit(
                state,
                now,
                SYSTEM,
                "recommended",
                f"{rec.id} {rec.kind.value}: {rec.reason} ({bound})",
            )
        self._keep_attributes()
        for rec in recs:
            if rec.automatic:
                await self._apply(rec, SYSTEM)
        self._keep_attributes()

    # -- applying -----------------------------------------------------------------------

    async def _apply(self, rec: Recommendation, actor: str) -> None:
        rec.status = RecommendationStatus.APPLYING
        state = self._data.state
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
        audit(
            state, workflow.now(), actor, "applied" if ok else "apply_failed", f"{rec.id}: {result}"
        )

    def _version(self, rec: Recommendation) -> int:
        return self._data.markdown_version_base + int(rec.id.rsplit("-", 1)[-1])

    async def _markdown(self, rec: Recommendation) -> tuple[bool, str]:
        data = self._data
        new_total = data.state.markdown_pct.get(key(rec.region, rec.item_id), 0) + rec.markdown_pct
        lines = []
        for item in data.items:
            price = current_price(data, rec.region, item)
            offer = item.offer
            if item.item_id == rec.item_id and rec.new_price is not None:
                price = rec.new_price
                offer = f"{item.offer}, marked down {new_total}%"
            lines.append(
                PriceLine(
                    item_id=item.item_id,
                    regular_price=item.regular_price,
                    promo_price=price,
                    offer=offer,
                )
            )
        request = PublicationRequest(
            promotion_id=data.promotion_id,
            channel=Channel.POS,
            action=PublicationAction.PUBLISH,
            targets=list(data.stores_by_region[rec.region]),
            lines=lines,
            version=self._version(rec),
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            ack_timeout=data.policy.ack_timeout,
            max_republish=data.policy.max_republish,
            reason=f"sell-through markdown {rec.id}",
        )
        [outcome] = await publish_all(workflow.info().workflow_id, [request])
        if outcome.confirmed:
            data.state.markdown_pct[key(rec.region, rec.item_id)] = new_total
        words = f"{rec.item_id} at {rec.new_price} in {outcome.confirmed} store(s) of {rec.region}"
        if outcome.failed:
            failed = ", ".join(outcome.failed_targets[:10])
            words += f"; {outcome.failed} store(s) could not be updated: {failed}"
        return outcome.confirmed > 0, words

    async def _transfer(self, rec: Recommendation, actor: str) -> tuple[bool, str]:
        data = self._data
        policy = data.policy.rebalance_policy
        if policy is None or rec.source_region is None:
            return False, "no rebalance policy or source region to move stock with"
        dest = data.stores_by_region[rec.region]
        source = data.stores_by_region[rec.source_region]
        per_store = max(1, math.ceil(rec.transfer_units / len(dest)))
        plan_id = f"{data.promotion_id}-st-{rec.id}"
        request = RebalanceRequest(
            plan_id=plan_id,
            reason="manual",
            scope=RebalanceScope(stores=[*dest, *source], items=[rec.item_id]),
            need_by=workflow.now() + data.policy.transfer_need_by,
            policy=policy,
            demand_override=[
                DemandOverride(store_id=s, item_id=rec.item_id, units=per_store) for s in dest
            ]
            + [DemandOverride(store_id=s, item_id=rec.item_id, units=0) for s in source],
            parent_promotion_id=data.promotion_id,
            requested_by=actor,
        )
        child = workflow_id_for(plan_id)
        await workflow.start_child_workflow(
            "InventoryRebalance",
            request,
            id=child,
            parent_close_policy=ParentClosePolicy.ABANDON,
            static_summary=f"sell-through transfer {rec.id} for {data.promotion_id}",
        )
        rec.rebalance_workflow_id = child
        return True, (
            f"transfer of about {rec.transfer_units} {rec.item_id} from {rec.source_region} to "
            f"{rec.region} started as {child}"
        )

    async def _throttle(self, rec: Recommendation) -> tuple[bool, str]:
        data = self._data
        lines = [
            PriceLine(
                item_id=i.item_id,
                regular_price=i.regular_price,
                promo_price=i.promo_price,
                offer=i.offer,
            )
            for i in data.items
        ]
        requests = [
            PublicationRequest(
                promotion_id=data.promotion_id,
                channel=channel,
                action=PublicationAction.RETRACT,
                targets=["*"],
                lines=lines,
                version=self._version(rec),
                starts_at=data.starts_at,
                ends_at=data.ends_at,
                ack_timeout=data.policy.ack_timeout,
                max_republish=data.policy.max_republish,
                reason=f"digital throttling {rec.id}: store stock at risk",
            )
            for channel in (Channel.ECOMMERCE, Channel.MARKETPLACE)
        ]
        outcomes = await publish_all(workflow.info().workflow_id, requests)
        ok = all(o.failed == 0 for o in outcomes)
        if ok:
            data.state.throttled = True
        words = "; ".join(
            f"{o.channel.value}: {'retracted' if o.failed == 0 else o.outcomes[0].reason}"
            for o in outcomes
        )
        return ok, f"promotion taken off the digital channels ({words})"

    # -- end ----------------------------------------------------------------------------

    async def _finish(self) -> MonitorSummary:
        await workflow.wait_condition(workflow.all_handlers_finished)
        state = self._data.state
        now = workflow.now()
        for rec in state.recommendations:
            if rec.status is RecommendationStatus.AWAITING_DECISION:
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

    def _awaiting(self) -> list[Recommendation]:
        return [
            r
            for r in self._data.state.recommendations
            if r.status is RecommendationStatus.AWAITING_DECISION
        ]

    def _awaiting_words(self) -> str:
        waiting = self._awaiting()
        if not waiting:
            return ""
        roles = " or ".join(self._data.policy.authorized_roles)
        ids = ", ".join(r.id for r in waiting)
        return f"awaiting a decision from {roles} on {ids}; "

    def _keep_attributes(self) -> None:
        updates: list[SearchAttributeUpdate] = []
        if self._awaiting():
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


__all__ = ["SellThroughMonitor", "workflow_id"]
