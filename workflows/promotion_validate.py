"""PromotionLaunch, VALIDATING: read items, stores, other promotions and the vendor deal
from ERP, judge the plan (`domain.promotion.validation`) and set the approvals it needs."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.promotion import contract as c
    from domain.promotion.approvals import required_approvals, tier_roles
    from domain.promotion.plan import PlanFacts
    from domain.promotion.status import StoreStatus
    from domain.promotion.validation import validate_plan

from workflows.activity_calls import call
from workflows.promotion_run import LaunchRun, words


async def validate(run: LaunchRun) -> bool:
    """Read the plan's facts from ERP and judge them; the problems, if any, end the launch
    REJECTED with each one in words."""
    s = run.s
    try:
        facts: PlanFacts = await call(
            c.LOOKUP_FACTS,
            c.LookupRequest(plan=s.plan),
            summary=f"read {len(s.plan.items)} items, the stores and other promotions from ERP",
        )
    except ActivityError as err:
        s.reasons.append(f"the ERP look-up failed: {words(err)}")
        return False
    s.facts = facts
    s.deal = facts.deal
    for store_id in facts.store_ids:
        store = facts.stores[store_id]
        s.stores[store_id] = StoreStatus(
            store_id=store_id,
            store_class=store.store_class,
            region=store.region,
            timezone=store.timezone,
            price_zone=store.price_zone,
        )
    validation = validate_plan(s.plan, facts, s.policy, now=workflow.now())
    problems = [p.words() for p in validation.problems]
    if not problems and s.plan.vendor_deal_id and validation.metrics is not None:
        problems += await check_deal(run, validation.metrics.planned_units)
    s.lines = validation.lines
    s.set_prices(validation.price_sets)
    s.metrics = validation.metrics
    if problems:
        s.reasons += problems
        run.audit("workflow", "refused", "; ".join(problems))
        return False
    assert s.metrics is not None
    s.tiers, _ = tier_roles(s.metrics, s.policy)
    s.approvals = required_approvals(s.metrics, s.policy)
    m = s.metrics
    run.audit(
        "workflow",
        "validated",
        f"depth {m.discount_depth_pct}%, margin impact {m.margin_impact}, unfunded "
        f"{m.unfunded_cost}, {m.store_count} stores; tiers: {', '.join(s.tiers)}; "
        f"approvals: {', '.join(a.role for a in s.approvals)}",
    )
    for stacking in validation.stacks_with:
        run.audit("workflow", "stacks", stacking)
    if s.plan.store_groups:
        run.audit(
            "workflow",
            "store groups",
            f"{', '.join(s.plan.store_groups)} resolved by the ERP to {len(facts.store_ids)} "
            f"store(s) with {len(s.plan.stores)} named",
        )
    if len(s.price_sets) > 1:
        run.audit(
            "workflow",
            "price sets",
            "; ".join(ps.summary() for ps in s.price_sets[: c.AUDITED_STORES]),
        )
    return True


async def check_deal(run: LaunchRun, units_forecast: int) -> list[str]:
    """The vendor deal's validity in ERP: the problems, if any, in words."""
    s = run.s
    assert s.plan.vendor_deal_id is not None
    check = await call(
        c.CHECK_DEAL,
        c.DealCheckInput(
            promotion_id=s.plan.promotion_id,
            deal_id=s.plan.vendor_deal_id,
            item_ids=[i.item_id for i in s.plan.items],
            starts_at=s.first_start,
            ends_at=s.last_end,
            units_forecast=units_forecast,
        ),
        summary=f"validate vendor deal {s.plan.vendor_deal_id} in ERP",
    )
    s.funding.deal_type = check.deal_type
    s.funding.funding_per_unit = check.funding_per_unit
    if check.valid:
        return []
    return [f"vendor_deal_id: {r}" for r in check.reasons] or [
        f"vendor_deal_id: ERP says deal {check.deal_id} is not valid"
    ]
