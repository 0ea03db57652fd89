"""The monitor's state: its recommendations, their status, and the audit trail.

`MonitorState` is carried across continue-as-new; the `status` query reports it as a
`domain.sellthrough.contract.MonitorSummary`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, Field

from domain.audit import AuditEntry


class RecommendationKind(StrEnum):
    MARKDOWN = "markdown"
    TRANSFER = "transfer"
    DIGITAL_THROTTLE = "digital_throttle"


class RecommendationStatus(StrEnum):
    AWAITING_DECISION = "AWAITING_DECISION"
    APPLYING = "APPLYING"
    APPLIED = "APPLIED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    """Still awaiting a decision when the promotion ended."""


OPEN_STATUSES = (RecommendationStatus.AWAITING_DECISION, RecommendationStatus.APPLYING)


class Recommendation(BaseModel):
    id: str
    kind: RecommendationKind
    region: str
    item_id: str
    expected_units: Decimal
    actual_units: int
    ratio: Decimal
    markdown_pct: Decimal = Decimal("0")
    new_price: Decimal | None = None
    transfer_units: int = 0
    source_region: str | None = None
    reason: str
    """Why, in words."""
    created_at: AwareDatetime
    automatic: bool
    """Inside the policy bounds: applied without a decision."""
    status: RecommendationStatus
    decided_by: str | None = None
    decided_role: str | None = None
    decision_note: str = ""
    result: str = ""
    """What applying it did (or why it failed)."""
    rebalance_workflow_id: str | None = None


class MonitorState(BaseModel):
    """Everything carried from one run to the next (continue-as-new)."""

    checks: int = 0
    runs: int = 1
    next_seq: int = 1
    last_check_at: AwareDatetime | None = None
    recommendations: list[Recommendation] = Field(default_factory=list)
    audit: list[AuditEntry] = Field(default_factory=list)
    markdown_pct: dict[str, Decimal] = Field(default_factory=dict)
    """Total markdown applied per ``region/item``."""
    throttled: bool = False
    last_ratios: dict[str, Decimal] = Field(default_factory=dict)
    """Latest actual/expected per ``region/item``."""


def audit(state: MonitorState, at: datetime, actor: str, action: str, detail: str) -> None:
    state.audit.append(AuditEntry(at=at, actor=actor, action=action, detail=detail))


def awaiting(state: MonitorState) -> list[Recommendation]:
    """The recommendations waiting for a decision."""
    return [r for r in state.recommendations if r.status is RecommendationStatus.AWAITING_DECISION]


def awaiting_words(state: MonitorState, roles: list[str]) -> str:
    """'awaiting a decision from category_manager on rec-2; ' (or '' when none waits)."""
    waiting = awaiting(state)
    if not waiting:
        return ""
    ids = ", ".join(r.id for r in waiting)
    return f"awaiting a decision from {' or '.join(roles)} on {ids}; "


def check_words(state: MonitorState, new: int) -> str:
    """The audit line of a check: its number, the new recommendations, the ratios."""
    return f"check {state.checks}: {new} new recommendation(s); ratios " + ", ".join(
        f"{k} {v}" for k, v in sorted(state.last_ratios.items())
    )


def recommended_words(rec: Recommendation, roles: list[str]) -> str:
    """The audit line of a new recommendation: what, why, and whether it applies itself."""
    bound = (
        "inside policy bounds: applied automatically"
        if rec.automatic
        else "outside policy bounds: awaiting a decision from " + " or ".join(roles)
    )
    return f"{rec.id} {rec.kind.value}: {rec.reason} ({bound})"


def key(region: str, item_id: str) -> str:
    """The key of a region and item in `MonitorState.markdown_pct` and `last_ratios`."""
    return f"{region}/{item_id}"
