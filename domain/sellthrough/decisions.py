"""Who may decide a sell-through recommendation, and when a decision is still possible."""

from __future__ import annotations

from domain.sellthrough.contract import Decision, MonitorInput
from domain.sellthrough.status import Recommendation, RecommendationStatus


def check_decision(data: MonitorInput, decision: Decision) -> Recommendation:
    """The recommendation a decision is about; ValueError in words when it is refused."""
    roles = data.policy.authorized_roles
    if decision.role not in roles:
        raise ValueError(
            f"role {decision.role!r} may not decide sell-through recommendations; "
            f"authorized: {', '.join(roles)}"
        )
    for rec in data.state.recommendations:
        if rec.id == decision.recommendation_id:
            if rec.status is not RecommendationStatus.AWAITING_DECISION:
                raise ValueError(
                    f"recommendation {rec.id} is closed ({rec.status.value}); "
                    "a decision is no longer possible"
                )
            return rec
    raise ValueError(f"no recommendation {decision.recommendation_id!r} in this promotion")
