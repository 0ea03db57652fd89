"""When a plan needs approval, who may decide it, and what a decision does."""

from __future__ import annotations

from datetime import datetime

from domain.rebalance.contract import ApprovalDecision
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
