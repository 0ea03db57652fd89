"""The promotion policy: the approval matrix and the launch rules, as data.

Loaded from `examples/policy/promotion.json` (or the file a launch names); the approver
identities of the matrix live there too.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from domain.identity import TrustPolicy
from domain.promotion.plan import PlanMetrics
from domain.rebalance.policy import RebalancePolicy
from domain.sellthrough.policy import MonitorPolicy


class RolePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approvers: list[str] = Field(min_length=1)
    deadline: timedelta
    escalates_to: str | None = None


class TierRule(BaseModel):
    """A tier applies when any of its thresholds is reached (or always, with none)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    roles: list[str]
    min_discount_pct: Decimal | None = None
    min_margin_impact: Decimal | None = None
    min_unfunded_cost: Decimal | None = None
    min_store_count: int | None = None

    def applies(self, metrics: PlanMetrics) -> bool:
        checks = [
            (self.min_discount_pct, metrics.discount_depth_pct),
            (self.min_margin_impact, metrics.margin_impact),
            (self.min_unfunded_cost, metrics.unfunded_cost),
            (
                None if self.min_store_count is None else Decimal(self.min_store_count),
                Decimal(metrics.store_count),
            ),
        ]
        thresholds = [(limit, value) for limit, value in checks if limit is not None]
        if not thresholds:
            return True
        return any(value >= limit for limit, value in thresholds)


class MaterialChangeRule(BaseModel):
    """A price change of at least `min_price_change_pct` (on any item) re-opens `reopens`."""

    model_config = ConfigDict(extra="forbid")

    name: str
    min_price_change_pct: Decimal = Field(ge=0)
    reopens: list[str]


class TaskTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["signage", "labor"]
    description: str
    due_before_start: timedelta


class ChannelCalls(BaseModel):
    """How a store-scoped channel (POS) takes its calls: `per_store` where each store runs
    its own price book (store servers: one call a store), `bulk` where a central price book
    takes up to `stores_per_call` stores a call (the reference POS: 500)."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["per_store", "bulk"] = "per_store"
    stores_per_call: int = Field(default=500, ge=2, le=500)

    @property
    def targets_per_call(self) -> int:
        return self.stores_per_call if self.mode == "bulk" else 1


class PublicationPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pos: ChannelCalls = Field(default_factory=ChannelCalls)
    """How POS takes its calls (per store by default; bulk where the price book is central)."""

    batch_size: int = Field(default=250, ge=1, le=1000)
    max_pending_children: int = Field(default=50, ge=1, le=500)
    ack_timeout: timedelta = timedelta(minutes=5)
    max_republish: int = Field(default=2, ge=0)
    on_store_failure: Literal["hold_store", "fail_launch"] = "hold_store"
    max_failed_store_pct: Decimal = Field(default=Decimal(10), ge=0, le=100)
    retry_margin: timedelta = Field(default=timedelta(minutes=1), ge=timedelta(0))
    """Retry by deadline: an unreachable channel is retried until go-live minus this margin
    (then its stores fail and `on_store_failure` applies), not a fixed number of times."""


class PromotionPolicy(BaseModel):
    """The approval matrix and launch rules as data (examples/policy/promotion.json)."""

    model_config = ConfigDict(extra="forbid")

    margin_floor_pct: Decimal = Field(ge=0)
    roles: dict[str, RolePolicy]
    tiers: list[TierRule] = Field(min_length=1)
    material_changes: list[MaterialChangeRule] = Field(default_factory=list)
    coverage_thresholds: dict[str, Decimal]
    default_coverage_threshold: Decimal = Decimal(1)
    override_roles: list[str]
    cancel_roles: list[str]
    price_change_roles: list[str]
    excluded_items: dict[str, str] = Field(
        default_factory=dict,
        description="items never discounted, with the reason (a plan naming one is refused)",
    )
    on_rejected_price_change: Literal["keep_approved", "end_promotion"] = "keep_approved"
    """A price change whose re-approval is rejected after approval: the last approved
    version stays in force (`keep_approved`), or the promotion ends REJECTED and is rolled
    back (`end_promotion`). Either way the rejected version stays in the audit trail only."""
    reminder_at_fraction: Decimal = Field(default=Decimal("0.5"), gt=0, lt=1)
    rebalance_lead: timedelta = timedelta(days=2)
    tasks: list[TaskTemplate] = Field(default_factory=list)
    publication: PublicationPolicy = Field(default_factory=PublicationPolicy)
    rebalance: RebalancePolicy | None = Field(
        default=None, description="policy of the pre-positioning InventoryRebalance child"
    )
    monitor: MonitorPolicy = Field(
        default_factory=MonitorPolicy, description="policy of the SellThroughMonitor child"
    )
    trust: TrustPolicy = Field(
        default_factory=TrustPolicy,
        description="who may vouch for a decision (default: nobody, unsigned refused); "
        "the rebalance child inherits it unless its policy has its own",
    )

    @model_validator(mode="after")
    def _rebalance_inherits_trust(self) -> PromotionPolicy:
        rebalance = self.rebalance
        if (
            rebalance is not None
            and "trust" in self.model_fields_set
            and "trust" not in rebalance.model_fields_set
        ):
            self.rebalance = rebalance.model_copy(update={"trust": self.trust})
        return self

    @model_validator(mode="after")
    def _roles_known(self) -> PromotionPolicy:
        known = set(self.roles)
        named: list[tuple[str, str]] = []
        for tier in self.tiers:
            named += [(f"tiers.{tier.name}", role) for role in tier.roles]
        for rule in self.material_changes:
            named += [(f"material_changes.{rule.name}", role) for role in rule.reopens]
        for name, role_policy in self.roles.items():
            if role_policy.escalates_to:
                named.append((f"roles.{name}.escalates_to", role_policy.escalates_to))
        for field_name in ("override_roles", "cancel_roles", "price_change_roles"):
            named += [(field_name, role) for role in getattr(self, field_name)]
        for where, role_name in named:
            if role_name not in known:
                raise ValueError(f"{where} names role {role_name!r}, which roles does not define")
        return self

    def approver_of(self, role: str) -> str:
        """The first person the matrix names for `role` (demos, drills and tests act as them)."""
        return self.roles[role].approvers[0]

    def roles_of(self, person: str) -> list[str]:
        return sorted(name for name, role in self.roles.items() if person in role.approvers)

    def threshold_for(self, store_class: str) -> Decimal:
        return self.coverage_thresholds.get(store_class, self.default_coverage_threshold)
