"""The rebalancing policy: when a plan needs approval and by whom, and the planner's dials."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from domain.identity import TrustPolicy


class ApprovalPolicy(BaseModel):
    """A plan whose cost or units pass a threshold waits for every role listed here."""

    cost_threshold: Decimal = Field(default=Decimal("5000"), ge=0)
    units_threshold: int = Field(default=10_000, ge=0)
    roles: list[str] = Field(default_factory=lambda: ["supply_chain"], min_length=1)
    approvers: dict[str, list[str]] = Field(
        default_factory=dict, description="role -> the people who hold it"
    )

    @model_validator(mode="after")
    def _every_role_has_approvers(self) -> ApprovalPolicy:
        missing = [role for role in self.roles if not self.approvers.get(role)]
        if missing:
            raise ValueError(f"no approvers listed for role(s): {', '.join(missing)}")
        return self


class RebalancePolicy(BaseModel):
    approval: ApprovalPolicy
    target_coverage: Decimal = Field(
        default=Decimal("1"), gt=0, description="cover this multiple of demand, plus safety stock"
    )
    handling_time: timedelta = Field(
        default=timedelta(hours=4), description="release to dispatch, added to lane lead time"
    )
    feed_max_age: timedelta = Field(default=timedelta(hours=24))
    implausible_multiple: Decimal = Field(default=Decimal("50"), gt=0)
    doubtful_multiple: Decimal = Field(
        default=Decimal("10"),
        gt=0,
        description="a store holding more than this x its demand plus what it just received "
        "is doubtful (not excluded)",
    )
    doubtful_share: Decimal = Field(
        default=Decimal("0.5"),
        gt=0,
        le=1,
        description="a feed with at least this share of doubtful stores is doubtful: its plan "
        "goes to approval whatever its size",
    )
    in_transit_max: timedelta = Field(
        default=timedelta(days=5), description="shipped longer ago than this: check, then LOST"
    )
    receipt_tolerance_units: int = Field(default=0, ge=0)
    escalation_role: str = "supply_chain"
    max_transfers: int = Field(default=1000, ge=1)
    cancel_roles: list[str] = Field(
        default_factory=list,
        description="roles that may cancel a plan (empty: the approval roles); holders from approval.approvers",
    )
    trust: TrustPolicy = Field(
        default_factory=TrustPolicy,
        description="who may vouch for a decision (default: nobody, unsigned refused)",
    )
    missing_position: Literal["zero", "exclude"] = Field(
        default="zero",
        description="a store/item absent from the feed: count it as empty, or exclude it",
    )

    def roles_that_cancel(self) -> list[str]:
        return list(self.cancel_roles or self.approval.roles)
