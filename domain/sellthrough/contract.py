"""The SellThroughMonitor contract: workflow type, id, messages, input/output, activity.

`SellThroughMonitor` is a child of `PromotionLaunch` during the live window (id
``sellthrough-{promotion_id}``). An authorized role answers a recommendation outside the
policy bounds through the ``decide`` update; ``status`` reports the monitor's state. Every
check reads POS sales per region through the ``sales_by_region`` activity.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field, model_validator
from temporalio.common import VersioningBehavior

from domain.activity_options import PRIORITY_DEFAULT, READ_RETRY, ActivitySpec
from domain.audit import AuditEntry
from domain.publication.prices import PriceLine
from domain.sellthrough.policy import MonitorPolicy
from domain.sellthrough.status import MonitorState, Recommendation, RecommendationStatus

WORKFLOW_TYPE = "SellThroughMonitor"

PRIORITY = PRIORITY_DEFAULT
"""Reads of the live window: Temporal's default key (`domain.activity_options`, "Priority")."""

VERSIONING = VersioningBehavior.AUTO_UPGRADE
"""It continues as new through the live window: each new run starts on the current build, and
the running one moves there at its next task (changes behind `workflow.patched`)."""

DECIDE = "decide"
"""Update: approve (apply) or reject one recommendation awaiting a decision (`Decision`)."""
STATUS = "status"
"""Query: the monitor's state, recommendations and audit trail (`MonitorSummary`)."""


def workflow_id(promotion_id: str) -> str:
    return f"sellthrough-{promotion_id}"


class MonitorInput(BaseModel):
    promotion_id: str = Field(min_length=1)
    items: list[PriceLine] = Field(min_length=1)
    stores_by_region: dict[str, list[str]]
    forecast_units: dict[str, dict[str, int]]
    """Forecast promotion units for the whole window, per region and item."""
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    policy: MonitorPolicy
    state: MonitorState = Field(default_factory=MonitorState)
    markdown_version_base: int = Field(default=1000, ge=1)
    """Price versions used by the monitor's markdowns (base + recommendation number), so
    their idempotency keys never collide with the launch's own price versions."""

    @model_validator(mode="after")
    def _consistent(self) -> MonitorInput:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if not self.stores_by_region:
            raise ValueError("stores_by_region: name at least one region")
        empty = sorted(r for r, stores in self.stores_by_region.items() if not stores)
        if empty:
            raise ValueError(f"stores_by_region: region(s) without stores: {', '.join(empty)}")
        unknown = sorted(set(self.forecast_units) - set(self.stores_by_region))
        if unknown:
            raise ValueError(f"forecast_units: unknown region(s): {', '.join(unknown)}")
        items = {i.item_id for i in self.items}
        stray = sorted(
            f"{r}/{i}" for r, per in self.forecast_units.items() for i in per if i not in items
        )
        if stray:
            raise ValueError(f"forecast_units: item(s) not in the promotion: {', '.join(stray)}")
        return self


class Decision(BaseModel):
    """The `decide` update: approve or reject one recommendation."""

    recommendation_id: str = Field(min_length=1)
    approve: bool
    by: str = Field(min_length=1)
    role: str = Field(min_length=1)
    note: str = Field(default="", max_length=500)


class MonitorSummary(BaseModel):
    promotion_id: str
    state: Literal["RUNNING", "ENDED"]
    checks: int
    runs: int
    recommendations: list[Recommendation]
    audit: list[AuditEntry]
    last_ratios: dict[str, Decimal]
    next_check_at: AwareDatetime | None = None

    @property
    def awaiting(self) -> list[Recommendation]:
        return [
            r for r in self.recommendations if r.status is RecommendationStatus.AWAITING_DECISION
        ]


class RegionSales(BaseModel):
    """Units sold since the start, per region and item (read from POS)."""

    since: AwareDatetime
    until: AwareDatetime
    units: dict[str, dict[str, int]]


class SalesQuery(BaseModel):
    promotion_id: str
    item_ids: list[str]
    stores_by_region: dict[str, list[str]]
    since: AwareDatetime
    until: AwareDatetime


SALES_BY_REGION: ActivitySpec[RegionSales] = ActivitySpec(
    "sales_by_region",
    SalesQuery,
    RegionSales,
    READ_RETRY,
    start_to_close=timedelta(minutes=1),
    schedule_to_close=None,
    priority=PRIORITY,
)
"""POS units per region and item since the promotion started (read only)."""
