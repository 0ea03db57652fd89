"""The contract between PromotionLaunch and its activities: names and payloads.

The workflow calls activities by these names (so it never imports `activities/`, which
imports the adapters and httpx); `activities/promotion.py` implements them.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from domain.promotion import Position, PromotionPlan
from domain.promotion_status import TaskStatus
from domain.publication.contract import Channel
from domain.publication.prices import PriceLine

LOOKUP_FACTS = "promotion_lookup_facts"
CHECK_DEAL = "promotion_check_deal"
ACCRUE_FUNDING = "promotion_accrue_funding"
REVERSE_ACCRUAL = "promotion_reverse_accrual"
CLAIM_FUNDING = "promotion_claim_funding"
READ_COVERAGE = "promotion_read_coverage"
CREATE_TASKS = "promotion_create_tasks"
TASK_STATES = "promotion_task_states"
CANCEL_TASKS = "promotion_cancel_tasks"
ALERT = "promotion_alert"
READ_ACTUALS = "promotion_read_actuals"
VERIFY_PRICES = "promotion_verify_prices"

COVERAGE_BATCH = 500
"""Stores per coverage read (one WMS call each, run side by side)."""


class LookupRequest(BaseModel):
    plan: PromotionPlan


class DealCheckInput(BaseModel):
    promotion_id: str
    deal_id: str
    item_ids: list[str]
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    units_forecast: int = Field(ge=0)


class DealCheckResult(BaseModel):
    deal_id: str
    valid: bool
    reasons: list[str] = Field(default_factory=list)
    deal_type: str
    funding_per_unit: Decimal
    fundable_units: int
    fundable_amount: Decimal


class AccrueInput(BaseModel):
    promotion_id: str
    deal_id: str
    units: int = Field(ge=0)
    amount: Decimal = Field(ge=0)


class AccrualResult(BaseModel):
    accrual_id: str
    amount: Decimal
    status: str


class ReverseInput(BaseModel):
    promotion_id: str
    accrual_id: str
    reason: str


class ClaimInput(BaseModel):
    promotion_id: str
    deal_id: str
    units: int = Field(ge=0)


class ClaimResult(BaseModel):
    claim_id: str
    amount: Decimal
    capped: bool
    accrued_amount: Decimal
    reversed_amount: Decimal = Decimal(0)


class CoverageInput(BaseModel):
    store_ids: list[str]
    item_ids: list[str]


class CoverageResult(BaseModel):
    positions: list[Position]


class CreateTasksInput(BaseModel):
    promotion_id: str
    store_ids: list[str]
    kind: Literal["signage", "labor"]
    description: str
    due_at: AwareDatetime
    callback_workflow_id: str | None = None


class TasksResult(BaseModel):
    tasks: list[TaskStatus]


class TaskStatesInput(BaseModel):
    promotion_id: str


class CancelTasksInput(BaseModel):
    promotion_id: str
    reason: str


class CancelTasksResult(BaseModel):
    cancelled: int


class AlertInput(BaseModel):
    promotion_id: str
    severity: Literal["info", "warning", "critical"]
    audience: str
    message: str


class ActualsInput(BaseModel):
    promotion_id: str
    item_ids: list[str]
    store_ids: list[str]
    since: datetime
    until: datetime


class ActualsResult(BaseModel):
    units_by_item: dict[str, int]
    revenue: Decimal
    stores_stocked_out: list[str]


class VerifyInput(BaseModel):
    promotion_id: str
    channel: Channel
    store_ids: list[str]
    lines: list[PriceLine]
    expect: Literal["regular", "promo"]


class VerifyResult(BaseModel):
    channel: Channel
    checked: int
    mismatches: list[str]
