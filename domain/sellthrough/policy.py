"""What the sell-through monitor may do on its own, and who decides beyond that."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from pydantic import BaseModel, Field, field_validator, model_validator

from domain.rebalance.policy import RebalancePolicy


class MonitorPolicy(BaseModel):
    """Thresholds, the bounds of automatic action and who may decide beyond them."""

    check_interval: timedelta = timedelta(hours=4)
    under_ratio: Decimal = Field(default=Decimal("0.7"), gt=0, le=1)
    """Actual / expected below this: selling too slowly (markdown)."""
    over_ratio: Decimal = Field(default=Decimal("1.3"), ge=1)
    """Actual / expected above this: stock-out risk (transfer or digital throttling)."""
    min_expected_units: int = Field(default=10, ge=0)
    """Do not judge a region and item before this many units were expected."""
    markdown_step_pct: Decimal = Field(default=Decimal("5"), gt=0, le=50)
    auto_markdown_max_pct: Decimal = Field(default=Decimal("10"), ge=0, le=90)
    """A markdown up to this deep is applied automatically."""
    max_markdown_pct: Decimal = Field(default=Decimal("40"), gt=0, le=90)
    """The total markdown of an item in a region never goes beyond this."""
    auto_transfer_max_units: int = Field(default=200, ge=0)
    auto_throttle: bool = False
    authorized_roles: list[str] = Field(default_factory=lambda: ["category_manager"], min_length=1)
    rebalance_policy: RebalancePolicy | None = None
    """Policy given to the InventoryRebalance child of a transfer (None: no transfers are
    recommended, throttling is recommended instead)."""
    transfer_need_by: timedelta = timedelta(days=2)
    cooldown: timedelta = timedelta(days=1)
    """No new recommendation of the same kind, region and item within this time."""
    ack_timeout: timedelta = timedelta(minutes=5)
    max_republish: int = Field(default=2, ge=0, le=10)
    checks_per_run: int = Field(default=50, ge=1, le=1000)
    """Continue-as-new after this many checks (keeps each run's history small)."""

    @field_validator("check_interval")
    @classmethod
    def _interval_positive(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=1):
            raise ValueError("check_interval must be at least one second")
        return value

    @model_validator(mode="after")
    def _bounds_consistent(self) -> MonitorPolicy:
        if self.auto_markdown_max_pct > self.max_markdown_pct:
            raise ValueError(
                f"auto_markdown_max_pct {self.auto_markdown_max_pct} is above "
                f"max_markdown_pct {self.max_markdown_pct}"
            )
        return self
