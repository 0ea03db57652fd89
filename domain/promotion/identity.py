"""Proven identities for `PromotionLaunch` decisions: the step and subject each decision
is signed over, and the one verification call its validators make.

What a token binds, per update (the client builds the same from the `status` query, the
workflow from its `LaunchState`; both give the same canonical JSON):

| update / signal | step | subject | verdict |
|---|---|---|---|
| `approve`, `reject`, `approval` | `approval/{role}` | `approval_subject` (id, price version, lines, metrics) | approve / reject |
| `change_price` | `price/v{version}` (the version changed from) | `price_change_subject` (id, version, new offer) | change_price |
| `override_gate` | `override/{store_id}` | `override_subject` (id, version, store, its coverage) | override |
| `cancel` | `cancel` | `cancel_subject` (id, price version) | cancel |

An approval signed on version 1 is refused (`stale_subject`) once a price change made the
plan version 2: the person approved what they no longer see.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.identity import TrustPolicy, Verdict, VerifiedDecision, subject_hash, verify
from domain.promotion.plan import PlanMetrics
from domain.promotion.policy import PromotionPolicy
from domain.publication.prices import PriceLine

CANCEL_STEP = "cancel"


def approval_step(role: str) -> str:
    """The step of one role's approval (its token's role claim must be that role)."""
    return f"approval/{role}"


def price_change_step(version: int) -> str:
    """A price change decided on price version `version` (the one being replaced)."""
    return f"price/v{version}"


def override_step(store_id: str) -> str:
    return f"override/{store_id}"


def approval_subject(
    promotion_id: str, version: int, lines: Sequence[PriceLine], metrics: PlanMetrics | None
) -> dict[str, Any]:
    """What an approver decides on: the prices of this version and the plan's figures."""
    return {
        "promotion_id": promotion_id,
        "version": version,
        "lines": list(lines),
        "metrics": metrics,
    }


def price_change_subject(promotion_id: str, version: int, offer: Any) -> dict[str, Any]:
    """A price change: the version it replaces and the new offer (`PriceChange.offer`)."""
    return {"promotion_id": promotion_id, "version": version, "offer": offer}


def override_subject(
    promotion_id: str, version: int, store_id: str, coverage: Decimal | None
) -> dict[str, Any]:
    """A gate override: the store held and the coverage the person saw."""
    return {
        "promotion_id": promotion_id,
        "version": version,
        "store_id": store_id,
        "coverage": coverage,
    }


def cancel_subject(promotion_id: str, version: int) -> dict[str, Any]:
    return {"promotion_id": promotion_id, "version": version}


def holders(policy: PromotionPolicy) -> dict[str, list[str]]:
    """Role -> the people who hold it: the approval matrix's approvers."""
    return {name: list(role.approvers) for name, role in policy.roles.items()}


def prove(
    token: str | None,
    *,
    policy: PromotionPolicy,
    trust: TrustPolicy,
    now: datetime,
    workflow_id: str,
    step: str,
    subject: Any,
    verdict: Verdict,
    seen: Collection[str],
    person: str,
    role: str | None,
    allowed_roles: Collection[str] | None,
) -> VerifiedDecision:
    """Verify a promotion decision: `DecisionRefused` (a ValueError) with the reason in
    words. `trust` is the one the run applies (`workflows.identity.trust_for(policy.trust,
    policy.model_fields_set)` at the start of the run); `subject` one of the builders above;
    `allowed_roles` the roles that may take this decision now (the roles awaited, or
    `policy.cancel_roles` / `override_roles` / `price_change_roles`)."""
    return verify(
        token,
        trust=trust,
        now=now,
        workflow_id=workflow_id,
        step=step,
        subject_hash=subject_hash(subject),
        decision=verdict,
        seen_ids=seen,
        holders=holders(policy),
        allowed_roles=allowed_roles,
        person=person,
        role=role,
    )
