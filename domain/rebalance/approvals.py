"""When a plan needs approval, who may decide it, and what a decision does."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from domain.identity import TrustPolicy, Verdict, VerifiedDecision, subject_hash, verify
from domain.rebalance.contract import ApprovalDecision, CancelRequest, RebalanceRequest
from domain.rebalance.plan import RebalancePlan
from domain.rebalance.policy import RebalancePolicy
from domain.rebalance.status import ApprovalRecord, RebalanceState


def approval_reasons(plan: RebalancePlan, policy: RebalancePolicy) -> list[str]:
    """Why this plan needs approval (empty: it does not)."""
    reasons = []
    if plan.total_cost > policy.approval.cost_threshold:
        reasons.append(
            f"cost {plan.total_cost} is above the threshold {policy.approval.cost_threshold}"
        )
    if plan.total_units > policy.approval.units_threshold:
        reasons.append(
            f"{plan.total_units} units is above the threshold {policy.approval.units_threshold}"
        )
    if plan.feed_doubt and plan.moves:
        reasons.append(f"the stock feed is doubtful: {plan.feed_doubt}")
    return reasons


def check_decision(
    decision: ApprovalDecision, policy: RebalancePolicy, state: RebalanceState
) -> None:
    """Raise ValueError (in words) when a decision may not be taken now by this person."""
    if state != RebalanceState.AWAITING_APPROVAL:
        raise ValueError(f"the plan is not awaiting approval (state {state.value})")
    roles = policy.approval.roles
    if decision.role not in roles:
        raise ValueError(
            f"role {decision.role!r} does not approve rebalancing plans (roles: {', '.join(roles)})"
        )
    if decision.approver not in policy.approval.approvers.get(decision.role, []):
        raise ValueError(f"{decision.approver!r} does not hold the role {decision.role!r}")


def already_recorded(decision: ApprovalDecision, approvals: list[ApprovalRecord]) -> bool:
    """This person already decided as this role (a repeat is answered, not recorded again)."""
    return any(a.approver == decision.approver and a.role == decision.role for a in approvals)


def check_role_open(
    decision: ApprovalDecision, awaiting: list[str], approvals: list[ApprovalRecord]
) -> None:
    """Raise ValueError when someone else already decided for this role."""
    if decision.role not in awaiting and not already_recorded(decision, approvals):
        raise ValueError(f"role {decision.role!r} has already decided")


def record_of(decision: ApprovalDecision, at: datetime) -> ApprovalRecord:
    return ApprovalRecord(
        role=decision.role,
        approver=decision.approver,
        approve=decision.approve,
        at=at,
        comment=decision.comment,
    )


def still_awaiting(awaiting: list[str], decision: ApprovalDecision) -> list[str]:
    """The roles still awaited after this decision (a rejection ends the wait elsewhere)."""
    if not decision.approve:
        return list(awaiting)
    return [role for role in awaiting if role != decision.role]


def decision_words(decision: ApprovalDecision) -> tuple[str, str]:
    """(action, detail) for the audit trail."""
    action = "approved" if decision.approve else "rejected"
    detail = f"as {decision.role}" + (f": {decision.comment}" if decision.comment else "")
    return action, detail


# --------------------------------------------------------------------------- proven identities

APPROVAL_STEP = "plan-approval"
"""The step a token approves or rejects (its role claim says for which role)."""
CANCEL_STEP = "cancel"


def plan_subject(plan_id: str, plan: RebalancePlan | None) -> dict[str, Any]:
    """What an approver (or canceller) decides on: the plan's moves and totals. Its
    `subject_hash` binds a token to this version of the plan; the client computes it from
    the `status` query's plan, the workflow from its own."""
    if plan is None:
        return {"plan_id": plan_id, "moves": None}
    return {
        "plan_id": plan_id,
        "moves": [
            {
                "source": m.source_id,
                "dest": m.dest_id,
                "item": m.item_id,
                "units": m.units,
                "cost": m.cost,
            }
            for m in plan.moves
        ],
        "total_units": plan.total_units,
        "total_cost": plan.total_cost,
    }


def verdict_of(decision: ApprovalDecision) -> Verdict:
    return Verdict.APPROVE if decision.approve else Verdict.REJECT


def prove(
    decision: ApprovalDecision | CancelRequest,
    request: RebalanceRequest,
    plan: RebalancePlan | None,
    trust: TrustPolicy,
    now: datetime,
    workflow_id: str,
    seen: Collection[str],
) -> VerifiedDecision:
    """Verify who takes this decision on this plan (`DecisionRefused`, a ValueError, in
    words): the workflow's validators and handlers, with `workflow.now()`."""
    policy, plan_id = request.policy, request.plan_id
    if isinstance(decision, CancelRequest):
        step, verdict, allowed = CANCEL_STEP, Verdict.CANCEL, policy.roles_that_cancel()
        person, role = decision.requested_by, decision.role
        if decision.token is None and role is None and trust.accept_unsigned:
            return VerifiedDecision(person=person, role="", decision=verdict, signed=False)
    else:
        step, verdict, allowed = APPROVAL_STEP, verdict_of(decision), policy.approval.roles
        person, role = decision.approver, decision.role
    return verify(
        decision.token,
        trust=trust,
        now=now,
        workflow_id=workflow_id,
        step=step,
        subject_hash=subject_hash(plan_subject(plan_id, plan)),
        decision=verdict,
        seen_ids=seen,
        holders=policy.approval.approvers,
        allowed_roles=allowed,
        person=person,
        role=role,
    )
