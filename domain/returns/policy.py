"""The retailer's return policy as data: windows, fees, fraud tiers and who decides them."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.identity import TrustPolicy
from domain.returns.request import Channel, Money, ReasonCode


class FraudTier(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class Role(StrEnum):
    STORE_SUPERVISOR = "store_supervisor"
    LOSS_PREVENTION = "loss_prevention"


class ReturnPolicy(BaseModel):
    """The retailer's return policy as data (defaults are a typical mid-market policy)."""

    window_days: dict[Channel, int] = {Channel.STORE: 30, Channel.ONLINE: 30}
    category_window_days: dict[str, int] = {"electronics": 15}
    no_receipt_limit: Money = Decimal("50.00")
    restocking_fee_rates: dict[str, Decimal] = {
        "electronics": Decimal("0.15"),
        "appliances": Decimal("0.10"),
    }
    restocking_fee_reasons: frozenset[ReasonCode] = frozenset(
        {ReasonCode.UNWANTED, ReasonCode.SIZE, ReasonCode.OTHER}
    )
    store_cash_refund_limit: Money = Decimal("200.00")
    fraud_medium_score: int = 40
    fraud_high_score: int = 70
    fraud_high_reasons: frozenset[str] = frozenset(
        {"STOLEN_CARD", "KNOWN_FRAUD_RING", "RECEIPT_FORGERY"}
    )
    fraud_medium_reasons: frozenset[str] = frozenset(
        {"SERIAL_RETURNER", "NO_RECEIPT_HIGH_VALUE", "WARDROBING"}
    )
    tier_roles: dict[FraudTier, Role] = {
        FraudTier.MEDIUM: Role.STORE_SUPERVISOR,
        FraudTier.HIGH: Role.LOSS_PREVENTION,
    }
    """The role whose approval a tier needs (a tier not listed refunds automatically)."""
    tier_escalations: dict[FraudTier, Role] = {FraudTier.MEDIUM: Role.LOSS_PREVENTION}
    """The role that may also decide once the tier's approval is past its SLA."""
    approvers: dict[Role, list[str]] = {}
    """Who holds each role (a signed decision must come from one of them)."""
    trust: TrustPolicy = Field(default_factory=TrustPolicy)
    """Who may vouch for a decision (default: nobody, and unsigned decisions refused)."""
    holding_tiers: frozenset[FraudTier] = frozenset({FraudTier.HIGH})
    """Tiers that hold the refund until loss prevention has looked."""
    item_deadline_days: dict[Channel, int] = {Channel.STORE: 2, Channel.ONLINE: 14}
    approval_sla_hours: dict[FraudTier, int] = {FraudTier.MEDIUM: 24, FraudTier.HIGH: 72}
    receipt_to_refund_sla_hours: int = 48
    liquidation_recovery_rate: Decimal = Decimal("0.20")
    refurbishable_categories: frozenset[str] = frozenset({"electronics", "appliances"})

    def window_for(self, channel: Channel, category: str) -> int:
        return self.category_window_days.get(category, self.window_days[channel])

    def fee_rate(self, reason: ReasonCode, category: str) -> Decimal:
        if reason not in self.restocking_fee_reasons:
            return Decimal("0")
        return self.restocking_fee_rates.get(category, Decimal("0"))


DEFAULT_POLICY = ReturnPolicy()
