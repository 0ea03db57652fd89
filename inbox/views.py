"""What each decision page shows, as plain values for its template."""

from __future__ import annotations

from typing import Any

from domain.promotion.gates import StoreGateState
from domain.promotion.status import PromotionStatus
from domain.rebalance.status import RebalanceStatus
from domain.returns.status import ReturnStatus
from inbox.work import Work, rebalance_why_not, return_why_not, seen_hash

CHANGE_WORDS = ("price", "version", "approval", "reopen", "change", "approve", "reject")


def promotion_view(work: Work, person: str, status: PromotionStatus) -> dict[str, Any]:
    role, why_not = work.promotion_role(person, status)
    held = [s for s in status.stores if s.gate is StoreGateState.HELD]
    covered = [s.coverage for s in status.stores if s.coverage is not None]
    decided = [a for a in status.approvals if a.decided_at is not None]
    last_decision = max((a.decided_at for a in decided if a.decided_at), default=None)
    changes = [
        e
        for e in status.audit
        if (last_decision is None or e.at >= last_decision)
        and any(w in (e.action + " " + e.detail).lower() for w in CHANGE_WORDS)
    ]
    return {
        "status": status,
        "seen": seen_hash(status),
        "role": role,
        "why_not": why_not,
        "held_stores": held,
        "min_coverage": min(covered) if covered else None,
        "store_counts": status.store_counts(),
        "changes": changes[-12:],
        "since": last_decision,
        "audit": status.audit[-15:],
    }


def return_view(work: Work, person: str, status: ReturnStatus) -> dict[str, Any]:
    held = work.policies.return_roles(person)
    mine = [r.value for r in status.awaiting_role if r.value in held]
    return {
        "status": status,
        "seen": seen_hash(status),
        "role": mine[0] if mine else None,
        "why_not": "" if mine else return_why_not(status),
        "audit": status.audit[-15:],
    }


def rebalance_view(
    person: str, status: RebalanceStatus, approvers: dict[str, list[str]]
) -> dict[str, Any]:
    mine = [r for r in status.awaiting_roles if person in approvers.get(r, [])]
    return {
        "status": status,
        "seen": seen_hash(status),
        "role": mine[0] if mine else None,
        "why_not": "" if mine else rebalance_why_not(status),
        "audit": status.audit[-15:],
    }
