"""Approval by fraud tier: who may decide, by when, and who else once it is overdue."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from domain.identity import TrustPolicy, Verdict, VerifiedDecision, subject_hash, verify
from domain.returns.contract import Decision
from domain.returns.fraud import FraudAssessment
from domain.returns.policy import DEFAULT_POLICY, ReturnPolicy, Role
from domain.returns.status import APPROVED, ReturnState, ReturnStatus

DEFAULT_APPROVAL_SLA_HOURS = 24
"""For a tier the policy gives no approval SLA."""

LAST_CALL = timedelta(minutes=1)
"""The least time an approver gets when the refund SLA is (nearly) past already."""


def approval_refusal(state: ReturnState, allowed: list[Role], decision: Decision) -> str | None:
    """Why a decision is refused (None when it is accepted): the update validators' rule."""
    if state is not ReturnState.AWAITING_APPROVAL:
        return f"this return is {state.value}, not awaiting approval: no decision is open"
    if not decision.approver.strip():
        return "approver is empty"
    if decision.role not in allowed:
        wanted = " or ".join(r.value for r in allowed) or "nobody"
        return f"role {decision.role.value} cannot decide this return: it needs {wanted}"
    return None


def approval_due(
    fraud: FraudAssessment,
    now: datetime,
    refund_due_at: datetime | None,
    policy: ReturnPolicy = DEFAULT_POLICY,
) -> datetime:
    """When the approval is overdue: the tier's SLA, or sooner when the receipt-to-refund
    SLA ends first (but never less than `LAST_CALL` from now)."""
    sla = timedelta(hours=policy.approval_sla_hours.get(fraud.tier, DEFAULT_APPROVAL_SLA_HOURS))
    due = now + sla
    if refund_due_at is not None:
        due = min(due, max(refund_due_at, now + LAST_CALL))
    return due


def roles_after_escalation(allowed: list[Role], fraud: FraudAssessment) -> list[Role]:
    """Who may decide once the approval is overdue: the tier's escalation role joins."""
    escalation = fraud.escalation_role
    if escalation is not None and escalation not in allowed:
        return [*allowed, escalation]
    return list(allowed)


def awaited_role(allowed: list[Role]) -> Role | None:
    """The role the UI shows as awaited: the most senior allowed (after an escalation, the
    escalation role)."""
    return allowed[-1] if allowed else None


# --------------------------------------------------------------------------- proven identities

APPROVAL_STEP = "refund-approval"
"""The step a return's decision token decides (its role claim says as whom)."""


def return_subject(status: ReturnStatus) -> dict[str, Any]:
    """What the approver decides on: the refund quote and the fraud assessment. The client
    hashes it from the `status` query, the workflow from its own status."""
    fraud = status.fraud
    return {
        "rma_id": status.rma_id,
        "quote": status.quote,
        "fraud": None
        if fraud is None
        else {"tier": fraud.tier, "score": fraud.score, "reasons": fraud.reasons},
    }


def verdict_of(verdict: str) -> Verdict:
    """The token's decision for the workflow's verdict (`approved` / `rejected`)."""
    return Verdict.APPROVE if verdict == APPROVED else Verdict.REJECT


def prove(
    decision: Decision,
    verdict: str,
    status: ReturnStatus,
    policy: ReturnPolicy,
    allowed: list[Role],
    trust: TrustPolicy,
    now: datetime,
    workflow_id: str,
    seen: Collection[str],
) -> VerifiedDecision:
    """Verify who decides this return (`DecisionRefused`, a ValueError, in words). The
    policy's `approvers` say who holds each role; a policy naming nobody takes no signed
    decision (only an unsigned one, where its trust accepts them)."""
    holders = {role.value: people for role, people in policy.approvers.items()} or None
    return verify(
        decision.token,
        trust=trust,
        now=now,
        workflow_id=workflow_id,
        step=APPROVAL_STEP,
        subject_hash=subject_hash(return_subject(status)),
        decision=verdict_of(verdict),
        seen_ids=seen,
        holders=holders,
        allowed_roles=[r.value for r in allowed],
        person=decision.approver,
        role=decision.role.value,
    )
