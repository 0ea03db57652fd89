"""The approval matrix at work: who must approve, whose turn it is, who may decide, and
which approvals a material price change re-opens."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from pydantic import (
    AwareDatetime,
    BaseModel,
)

from domain.money import HUNDRED
from domain.promotion.plan import PlanMetrics
from domain.promotion.policy import PromotionPolicy
from domain.publication.prices import PriceLine


class ApprovalState(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    ESCALATED = "ESCALATED"


class RequiredApproval(BaseModel):
    """One role's decision. Roles decide in matrix order; the deadline of a role runs from
    the moment its turn comes (`deadline` is None until then), though a role may decide
    before its turn."""

    role: str
    deadline: AwareDatetime | None = None
    state: ApprovalState = ApprovalState.PENDING
    decided_by: str | None = None
    decided_at: AwareDatetime | None = None
    comment: str = ""
    reminded: bool = False
    escalated_from: str | None = None
    round: int = 1


def tier_roles(metrics: PlanMetrics, policy: PromotionPolicy) -> tuple[list[str], list[str]]:
    """(tier names that apply, roles that must approve), roles in matrix order."""
    tiers = [tier for tier in policy.tiers if tier.applies(metrics)]
    roles: list[str] = []
    for tier in tiers:
        for role in tier.roles:
            if role not in roles:
                roles.append(role)
    return [t.name for t in tiers], roles


def required_approvals(
    metrics: PlanMetrics, policy: PromotionPolicy, *, round_: int = 1
) -> list[RequiredApproval]:
    _, roles = tier_roles(metrics, policy)
    return [RequiredApproval(role=role, round=round_) for role in roles]


def current_approval(approvals: list[RequiredApproval]) -> RequiredApproval | None:
    """The approval whose turn it is: the first pending one in matrix order."""
    for approval in approvals:
        if approval.state is ApprovalState.PENDING:
            return approval
    return None


def approvals_outcome(approvals: list[RequiredApproval]) -> ApprovalState:
    if any(a.state is ApprovalState.REJECTED for a in approvals):
        return ApprovalState.REJECTED
    if all(a.state in (ApprovalState.APPROVED, ApprovalState.ESCALATED) for a in approvals):
        return ApprovalState.APPROVED
    return ApprovalState.PENDING


def decision_refusal(
    approvals: list[RequiredApproval],
    policy: PromotionPolicy,
    *,
    approver: str,
    role: str | None,
    open_for_decisions: bool,
    approve: bool = True,
) -> tuple[str | None, RequiredApproval | None]:
    """Why `approver` may not decide now (None when allowed) and the approval it decides.

    The matrix is decided in order: only the current role (the first pending one) may
    decide; a later role is refused until its turn, so `AwaitingRole` always names the one
    role whose decision is awaited. A person who approved may change their mind and reject
    while the approval step is open (the change is recorded); repeating one's own decision
    is idempotent (allowed, nothing changes).
    """
    if not approver:
        return "the decision names no approver", None
    if not open_for_decisions:
        return "the approval step is closed: no decision is awaited now", None
    held = policy.roles_of(approver)
    if not held:
        return f"{approver} is not an approver in the approval matrix", None
    if role is not None:
        if role not in policy.roles:
            return f"role {role!r} is not in the approval matrix", None
        if role not in held:
            return f"{approver} does not hold the role {role}", None
    candidates = [a for a in approvals if a.role in held and (role is None or a.role == role)]
    if not candidates:
        asked = ", ".join(a.role for a in approvals) or "no role"
        return (
            f"{approver} holds {', '.join(held)}, but this promotion needs a decision from {asked}",
            None,
        )
    mine = [a for a in candidates if a.decided_by == approver]
    if mine and (mine[-1].state is ApprovalState.APPROVED or not approve):
        return None, mine[-1]  # a repeat, or a change of mind from approve to reject
    current = current_approval(approvals)
    if current is not None and current in candidates:
        return None, current
    escalated = [a for a in candidates if a.state is ApprovalState.ESCALATED]
    if escalated:
        later = [a.role for a in approvals if a.escalated_from == escalated[0].role]
        return (
            f"{escalated[0].role} missed its deadline and was escalated to "
            f"{', '.join(later) or 'another role'}: the step is closed to {approver}",
            None,
        )
    pending = [a for a in candidates if a.state is ApprovalState.PENDING]
    if pending and current is not None:
        waiting = ", ".join(policy.roles[current.role].approvers)
        return (
            f"{pending[0].role} decides after {current.role}: the approval matrix is decided "
            f"in order, and it waits for {current.role} ({waiting})",
            None,
        )
    return f"{candidates[0].role} has already decided: the step is closed", None


def price_change_pct(old_lines: list[PriceLine], new_lines: list[PriceLine]) -> Decimal:
    """The largest change of a promoted price between two versions, in % of the old one."""
    old = {line.item_id: line.promo_price for line in old_lines}
    change = Decimal(0)
    for line in new_lines:
        before = old.get(line.item_id)
        if not before:
            change = max(change, HUNDRED)
            continue
        change = max(change, abs(line.promo_price - before) / before * HUNDRED)
    return change.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def reopened_roles(change_pct: Decimal, policy: PromotionPolicy) -> list[str]:
    """The roles whose approval a price change of `change_pct` % re-opens (matrix order)."""
    roles: list[str] = []
    for rule in sorted(policy.material_changes, key=lambda r: r.min_price_change_pct):
        if change_pct >= rule.min_price_change_pct:
            for role in rule.reopens:
                if role not in roles:
                    roles.append(role)
    return roles


def reapprovals(
    approvals: list[RequiredApproval],
    new_metrics: PlanMetrics,
    change_pct: Decimal,
    policy: PromotionPolicy,
    *,
    round_: int,
) -> list[str]:
    """Roles that must decide again after a change: those a material-change rule re-opens
    among the roles that approved, plus roles the new figures newly require."""
    approved = [a.role for a in approvals if a.state is ApprovalState.APPROVED]
    escalated_from = {a.escalated_from: a.role for a in approvals if a.escalated_from}
    roles: list[str] = []
    for role in reopened_roles(change_pct, policy):
        actual = escalated_from.get(role, role)
        if actual in approved and actual not in roles:
            roles.append(actual)
    _, needed = tier_roles(new_metrics, policy)
    have = {a.role for a in approvals} | set(escalated_from)
    for role in needed:
        if role not in have and role not in roles:
            roles.append(role)
    return roles


def reopen_approvals(
    approvals: list[RequiredApproval], roles: list[str], round_: int
) -> list[RequiredApproval]:
    """The approvals after a material change re-opens `roles` in round `round_`.

    A role that decided before is pending again (its last approval, with deadline,
    reminder and decision cleared); a role the new figures newly require is added at the
    end. The other approvals stand as they are."""
    result = [a.model_copy() for a in approvals]
    for role in roles:
        existing = [a for a in result if a.role == role]
        if existing:
            index = result.index(existing[-1])
            result[index] = RequiredApproval(
                role=role, escalated_from=existing[-1].escalated_from, round=round_
            )
        else:
            result.append(RequiredApproval(role=role, round=round_))
    return result


def authority_refusal(
    policy: PromotionPolicy, person: str, allowed: list[str], role: str | None
) -> str | None:
    """Why `person` may not take an action reserved to `allowed` roles (None: may).

    For the non-approval decisions (price change, gate override, cancel): the person must
    hold one of the allowed roles, and the role they name, if any."""
    roles = policy.roles_of(person)
    if not roles:
        return f"{person} is not in the approval matrix"
    held = [r for r in roles if r in allowed]
    if not held:
        return f"{person} holds none of the roles allowed to do this ({', '.join(allowed)})"
    if role is not None and role not in held:
        return f"{person} may not act as {role} here (allowed: {', '.join(held)})"
    return None


def escalate(
    approvals: list[RequiredApproval], role: str, target: str | None, now: datetime
) -> list[RequiredApproval]:
    """The approvals after the pending approval of `role` missed its deadline.

    Escalated to `target` (a new pending approval right after it, unless that role is
    already pending) or, with nobody to escalate to, rejected by the workflow."""
    result = [a.model_copy() for a in approvals]
    index = next(
        i for i, a in enumerate(result) if a.role == role and a.state is ApprovalState.PENDING
    )
    current = result[index]
    if target is None:
        current.state = ApprovalState.REJECTED
        current.comment = "no decision by the deadline and nobody to escalate to"
        current.decided_by = "workflow"
        current.decided_at = now
        return result
    current.state = ApprovalState.ESCALATED
    if not any(a.role == target and a.state is ApprovalState.PENDING for a in result):
        result.insert(
            index + 1,
            RequiredApproval(role=target, escalated_from=current.role, round=current.round),
        )
    return result
