"""Returns-to-refund: the business rules, pure and deterministic.

Everything here is a pydantic model or a pure function: eligibility (return window,
final sale, receipt, quantities), the refund quote (restocking fee by reason and
category), the allocation of the refund over the original tenders (cent-exact, reverse
order of capture), the fraud tier and the role it requires, and the disposition of an
inspected item with the follow-up it needs. The `ReturnToRefund` workflow calls these;
tests call them directly.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(value: Decimal) -> Decimal:
    """Round half up to the cent: the one rounding rule for money in returns."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _money(value: Decimal) -> Decimal:
    if value != value.quantize(CENT):
        raise ValueError("must be a whole number of cents (at most 2 decimals)")
    if value < 0:
        raise ValueError("must not be negative")
    return value.quantize(CENT)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must carry a time zone (for example 2026-05-01T10:00:00Z)")
    return value


Money = Annotated[Decimal, AfterValidator(_money)]
AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class ReasonCode(StrEnum):
    SIZE = "size"
    DAMAGED = "damaged"
    DEFECTIVE = "defective"
    NOT_AS_DESCRIBED = "not_as_described"
    WRONG_ITEM = "wrong_item"
    UNWANTED = "unwanted"
    OTHER = "other"


class Channel(StrEnum):
    STORE = "store"
    ONLINE = "online"


class TenderType(StrEnum):
    CARD = "card"
    GIFT_CARD = "gift_card"
    STORE_CREDIT = "store_credit"
    CASH = "cash"


class DeclineReason(StrEnum):
    FINAL_SALE = "FINAL_SALE"
    RETURN_PERIOD_ENDED = "RETURN_PERIOD_ENDED"
    QUANTITY_EXCEEDED = "QUANTITY_EXCEEDED"
    NO_RECEIPT_LIMIT = "NO_RECEIPT_LIMIT"
    OTHER = "OTHER"


class FraudTier(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class Role(StrEnum):
    STORE_SUPERVISOR = "store_supervisor"
    LOSS_PREVENTION = "loss_prevention"


class Condition(StrEnum):
    UNOPENED = "unopened"
    LIKE_NEW = "like_new"
    OPENED = "opened"
    DAMAGED = "damaged"
    DEFECTIVE = "defective"
    UNSAFE = "unsafe"


class Disposition(StrEnum):
    RESTOCK = "RESTOCK"
    REFURBISH = "REFURBISH"
    RETURN_TO_VENDOR = "RETURN_TO_VENDOR"
    LIQUIDATE = "LIQUIDATE"
    DESTROY = "DESTROY"


class ReturnState(StrEnum):
    REQUESTED = "REQUESTED"
    AUTHORIZED = "AUTHORIZED"
    DECLINED = "DECLINED"
    AWAITING_ITEM = "AWAITING_ITEM"
    EXPIRED = "EXPIRED"
    RECEIVED = "RECEIVED"
    INSPECTED = "INSPECTED"
    AWAITING_APPROVAL = "AWAITING_APPROVAL"
    REJECTED = "REJECTED"
    REFUNDING = "REFUNDING"
    REFUNDED = "REFUNDED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    CLOSED = "CLOSED"


# ----------------------------------------------------------------------------- inputs

_RMA_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Customer(BaseModel):
    """Who returns: personal data, encrypted in Temporal by the payload codec."""

    model_config = ConfigDict(extra="forbid")

    customer_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    email: str
    address: str = ""
    phone: str = ""

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value

    def masked_email(self) -> str:
        local, _, domain = self.email.partition("@")
        return f"{local[:1]}***@{domain}"


class ReturnLineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1)
    quantity: int = Field(gt=0, le=1000)


class ReturnRequest(BaseModel):
    """What the customer asks for: `python starter.py return open FILE` reads this."""

    model_config = ConfigDict(extra="forbid")

    rma_id: str
    order_id: str = Field(min_length=1)
    channel: Channel
    store_id: str | None = None
    reason: ReasonCode
    has_receipt: bool = True
    customer: Customer
    lines: list[ReturnLineRequest] = Field(min_length=1)
    note: str = ""

    @field_validator("rma_id")
    @classmethod
    def _rma(cls, value: str) -> str:
        if not _RMA_ID.match(value):
            raise ValueError(
                "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        return value

    @model_validator(mode="after")
    def _shape(self) -> ReturnRequest:
        if self.channel is Channel.STORE and not self.store_id:
            raise ValueError("a store return needs store_id (the store taking the item back)")
        seen: set[str] = set()
        for line in self.lines:
            if line.sku in seen:
                raise ValueError(f"sku {line.sku} is listed twice; give one line per sku")
            seen.add(line.sku)
        return self

    @property
    def workflow_id(self) -> str:
        return workflow_id(self.rma_id)


def workflow_id(rma_id: str) -> str:
    return f"return-{rma_id}"


class OrderLine(BaseModel):
    sku: str
    description: str = ""
    category: str = "general"
    unit_price: Money
    quantity: int = Field(gt=0)
    returned_quantity: int = Field(default=0, ge=0)
    final_sale: bool = False
    vendor_id: str | None = None
    vendor_returnable: bool = True
    unit_cost: Money | None = None


class Tender(BaseModel):
    tender_id: str
    type: TenderType
    amount: Money
    captured_at: AwareDatetime
    refunded: Money = ZERO
    card_last4: str | None = None


class OrderRecord(BaseModel):
    """The original sale as the system of record knows it (receipt lookup)."""

    order_id: str
    channel: Channel
    store_id: str | None = None
    customer_id: str | None = None
    purchased_at: AwareDatetime
    lines: list[OrderLine]
    tenders: list[Tender]

    def line(self, sku: str) -> OrderLine | None:
        return next((line for line in self.lines if line.sku == sku), None)


# ----------------------------------------------------------------------------- policy


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


# ----------------------------------------------------------------------------- eligibility


class Decline(BaseModel):
    reason: DeclineReason
    sku: str | None = None
    message: str


class QuotedLine(BaseModel):
    sku: str
    description: str = ""
    category: str
    quantity: int
    unit_price: Money
    amount: Money
    restocking_fee: Money
    vendor_id: str | None = None
    vendor_returnable: bool = True
    unit_cost: Money | None = None


class RefundQuote(BaseModel):
    lines: list[QuotedLine]
    gross: Money
    restocking_fee: Money
    net: Money


class Eligibility(BaseModel):
    authorized: bool
    declines: list[Decline] = []
    quote: RefundQuote | None = None


def quote_lines(
    request: ReturnRequest, order: OrderRecord, policy: ReturnPolicy = DEFAULT_POLICY
) -> RefundQuote:
    """Amount and restocking fee per requested line (lines not on the order are skipped)."""
    quoted: list[QuotedLine] = []
    for wanted in request.lines:
        line = order.line(wanted.sku)
        if line is None:
            continue
        amount = cents(line.unit_price * wanted.quantity)
        fee = cents(amount * policy.fee_rate(request.reason, line.category))
        quoted.append(
            QuotedLine(
                sku=line.sku,
                description=line.description,
                category=line.category,
                quantity=wanted.quantity,
                unit_price=line.unit_price,
                amount=amount,
                restocking_fee=fee,
                vendor_id=line.vendor_id,
                vendor_returnable=line.vendor_returnable,
                unit_cost=line.unit_cost,
            )
        )
    gross = sum((q.amount for q in quoted), ZERO)
    fee = sum((q.restocking_fee for q in quoted), ZERO)
    return RefundQuote(lines=quoted, gross=gross, restocking_fee=fee, net=gross - fee)


def check_eligibility(
    request: ReturnRequest,
    order: OrderRecord | None,
    now: datetime,
    policy: ReturnPolicy = DEFAULT_POLICY,
) -> Eligibility:
    """Authorize or decline, listing every reason found (not only the first)."""
    if order is None:
        return Eligibility(
            authorized=False,
            declines=[
                Decline(
                    reason=DeclineReason.OTHER,
                    message=f"order {request.order_id} was not found in the sales records",
                )
            ],
        )
    declines: list[Decline] = []
    if order.customer_id and order.customer_id != request.customer.customer_id:
        declines.append(
            Decline(
                reason=DeclineReason.OTHER,
                message=f"order {order.order_id} belongs to another customer",
            )
        )
    for wanted in request.lines:
        line = order.line(wanted.sku)
        if line is None:
            declines.append(
                Decline(
                    reason=DeclineReason.OTHER,
                    sku=wanted.sku,
                    message=f"sku {wanted.sku} is not on order {order.order_id}",
                )
            )
            continue
        if line.final_sale:
            declines.append(
                Decline(
                    reason=DeclineReason.FINAL_SALE,
                    sku=line.sku,
                    message=f"sku {line.sku} was sold as final sale",
                )
            )
        days = policy.window_for(order.channel, line.category)
        ends = order.purchased_at + timedelta(days=days)
        if now > ends:
            declines.append(
                Decline(
                    reason=DeclineReason.RETURN_PERIOD_ENDED,
                    sku=line.sku,
                    message=(
                        f"sku {line.sku}: the {days}-day return period ended "
                        f"{ends.date().isoformat()}"
                    ),
                )
            )
        left = line.quantity - line.returned_quantity
        if wanted.quantity > left:
            declines.append(
                Decline(
                    reason=DeclineReason.QUANTITY_EXCEEDED,
                    sku=line.sku,
                    message=(
                        f"sku {line.sku}: {wanted.quantity} asked, {line.quantity} bought, "
                        f"{line.returned_quantity} already returned"
                    ),
                )
            )
    quote = quote_lines(request, order, policy)
    if not request.has_receipt and quote.gross > policy.no_receipt_limit:
        declines.append(
            Decline(
                reason=DeclineReason.NO_RECEIPT_LIMIT,
                message=(
                    f"without a receipt at most {policy.no_receipt_limit} can be refunded; "
                    f"this return is worth {quote.gross}"
                ),
            )
        )
    if declines:
        return Eligibility(authorized=False, declines=declines, quote=quote)
    return Eligibility(authorized=True, quote=quote)


# ----------------------------------------------------------------------------- allocation


class TenderAllocation(BaseModel):
    """One refund leg: which original tender it reverses, how, and its idempotency key."""

    idempotency_key: str
    tender_id: str | None
    original_type: TenderType | None
    method: TenderType
    amount: Money
    card_last4: str | None = None


def allocate_refund(
    rma_id: str,
    net: Decimal,
    tenders: list[Tender],
    *,
    channel: Channel,
    has_receipt: bool,
    policy: ReturnPolicy = DEFAULT_POLICY,
) -> list[TenderAllocation]:
    """Split `net` over the original tenders, last captured first, cent-exact.

    Rules: without a receipt everything goes to store credit; a tender gets back at most
    what it paid minus what was already refunded to it; card and gift card go back to the
    same instrument; store credit comes back as store credit; cash comes back as cash in a
    store up to the store's cash limit, the rest (and all cash on an online return) as
    store credit; anything the tenders cannot take is store credit.
    """
    net = cents(net)
    allocations: list[TenderAllocation] = []

    def add(tender: Tender | None, method: TenderType, amount: Decimal) -> None:
        if amount <= 0:
            return
        n = len(allocations) + 1
        tid = tender.tender_id if tender else "store-credit"
        allocations.append(
            TenderAllocation(
                idempotency_key=f"refund-{rma_id}-{n}-{tid}-{method.value}",
                tender_id=tender.tender_id if tender else None,
                original_type=tender.type if tender else None,
                method=method,
                amount=amount,
                card_last4=tender.card_last4 if tender else None,
            )
        )

    if net <= 0:
        return []
    if not has_receipt:
        add(None, TenderType.STORE_CREDIT, net)
        return allocations
    remaining = net
    cash_left = policy.store_cash_refund_limit if channel is Channel.STORE else ZERO
    ordered = sorted(
        enumerate(tenders), key=lambda pair: (pair[1].captured_at, pair[0]), reverse=True
    )
    for _, tender in ordered:
        if remaining <= 0:
            break
        take = min(remaining, max(tender.amount - tender.refunded, ZERO))
        if take <= 0:
            continue
        remaining -= take
        if tender.type is TenderType.CASH:
            as_cash = min(take, cash_left)
            cash_left -= as_cash
            add(tender, TenderType.CASH, as_cash)
            add(tender, TenderType.STORE_CREDIT, take - as_cash)
        else:
            add(tender, tender.type, take)
    add(None, TenderType.STORE_CREDIT, remaining)
    return allocations


def store_credit_fallback(allocation: TenderAllocation) -> TenderAllocation:
    """The store-credit leg that replaces a tender refund that failed for good."""
    return allocation.model_copy(
        update={
            "idempotency_key": f"{allocation.idempotency_key}-fallback-store-credit",
            "method": TenderType.STORE_CREDIT,
        }
    )


def refund_mismatch(expected: Decimal, refunded: Decimal) -> Decimal:
    """Expected minus refunded, to the cent (0 when they match)."""
    return cents(expected) - cents(refunded)


# ----------------------------------------------------------------------------- fraud


class FraudAssessment(BaseModel):
    score: int = Field(ge=0, le=100)
    reasons: list[str] = []
    tier: FraudTier
    required_role: Role | None
    escalation_role: Role | None
    holds_refund: bool


def fraud_tier(score: int, reasons: list[str], policy: ReturnPolicy = DEFAULT_POLICY) -> FraudTier:
    """Tier from the score, raised by reasons the policy names (never lowered)."""
    codes = {r.upper() for r in reasons}
    if score >= policy.fraud_high_score or codes & policy.fraud_high_reasons:
        return FraudTier.HIGH
    if score >= policy.fraud_medium_score or codes & policy.fraud_medium_reasons:
        return FraudTier.MEDIUM
    return FraudTier.LOW


def assess_fraud(
    score: int, reasons: list[str], policy: ReturnPolicy = DEFAULT_POLICY
) -> FraudAssessment:
    """Low refunds automatically; medium needs a store supervisor (escalating to loss
    prevention past its SLA); high needs loss prevention and holds the refund."""
    tier = fraud_tier(score, reasons, policy)
    if tier is FraudTier.LOW:
        role, escalation = None, None
    elif tier is FraudTier.MEDIUM:
        role, escalation = Role.STORE_SUPERVISOR, Role.LOSS_PREVENTION
    else:
        role, escalation = Role.LOSS_PREVENTION, None
    return FraudAssessment(
        score=score,
        reasons=list(reasons),
        tier=tier,
        required_role=role,
        escalation_role=escalation,
        holds_refund=tier is FraudTier.HIGH,
    )


# ----------------------------------------------------------------------------- disposition


class FollowUpKind(StrEnum):
    WMS_RESTOCK = "WMS_RESTOCK"
    ERP_VENDOR_CLAIM = "ERP_VENDOR_CLAIM"
    ERP_WRITE_OFF = "ERP_WRITE_OFF"


class FollowUp(BaseModel):
    kind: FollowUpKind
    sku: str
    quantity: int
    location: str | None = None
    vendor_id: str | None = None
    amount: Money = ZERO
    reason: str = ""


def decide_disposition(
    condition: Condition,
    *,
    category: str,
    vendor_returnable: bool,
    policy: ReturnPolicy = DEFAULT_POLICY,
) -> Disposition:
    """Where an inspected item goes, from its condition."""
    if condition in (Condition.UNOPENED, Condition.LIKE_NEW):
        return Disposition.RESTOCK
    if condition is Condition.OPENED:
        if category in policy.refurbishable_categories:
            return Disposition.REFURBISH
        return Disposition.LIQUIDATE
    if condition is Condition.DEFECTIVE:
        return Disposition.RETURN_TO_VENDOR if vendor_returnable else Disposition.DESTROY
    if condition is Condition.DAMAGED:
        return Disposition.LIQUIDATE
    return Disposition.DESTROY


def follow_ups(
    disposition: Disposition, lines: list[QuotedLine], policy: ReturnPolicy = DEFAULT_POLICY
) -> list[FollowUp]:
    """What each disposition sets in motion, one entry per line."""
    result: list[FollowUp] = []
    for line in lines:
        value = cents(
            (line.unit_cost if line.unit_cost is not None else line.unit_price) * line.quantity
        )
        if disposition is Disposition.RESTOCK:
            result.append(
                FollowUp(
                    kind=FollowUpKind.WMS_RESTOCK,
                    sku=line.sku,
                    quantity=line.quantity,
                    location="SELLABLE",
                    reason="returned in sellable condition",
                )
            )
        elif disposition is Disposition.REFURBISH:
            result.append(
                FollowUp(
                    kind=FollowUpKind.WMS_RESTOCK,
                    sku=line.sku,
                    quantity=line.quantity,
                    location="REFURBISH",
                    reason="opened: to refurbishment",
                )
            )
        elif disposition is Disposition.RETURN_TO_VENDOR:
            result.append(
                FollowUp(
                    kind=FollowUpKind.ERP_VENDOR_CLAIM,
                    sku=line.sku,
                    quantity=line.quantity,
                    vendor_id=line.vendor_id,
                    amount=value,
                    reason="defective: vendor return claim",
                )
            )
        elif disposition is Disposition.LIQUIDATE:
            loss = cents(value * (1 - policy.liquidation_recovery_rate))
            result.append(
                FollowUp(
                    kind=FollowUpKind.ERP_WRITE_OFF,
                    sku=line.sku,
                    quantity=line.quantity,
                    amount=loss,
                    reason="liquidated: written down to recovery value",
                )
            )
        else:
            result.append(
                FollowUp(
                    kind=FollowUpKind.ERP_WRITE_OFF,
                    sku=line.sku,
                    quantity=line.quantity,
                    amount=value,
                    reason="destroyed: written off in full",
                )
            )
    return result


# ----------------------------------------------------------------------------- messages


class ItemReceived(BaseModel):
    """`item_received` signal: a store scan or a warehouse receipt."""

    model_config = ConfigDict(extra="forbid")

    receipt_id: str = Field(min_length=1)
    source: str = Field(default="store_scan", pattern="^(store_scan|warehouse_receipt)$")
    location: str = ""
    received_by: str = ""


class InspectionResult(BaseModel):
    """`inspection_result` signal: condition, and an optional disposition override."""

    model_config = ConfigDict(extra="forbid")

    inspector: str = Field(min_length=1)
    condition: Condition
    disposition: Disposition | None = None
    notes: str = ""


class Decision(BaseModel):
    """`approve` / `reject` update payload."""

    model_config = ConfigDict(extra="forbid")

    approver: str = Field(min_length=1)
    role: Role
    note: str = ""


class ApprovalSignal(Decision):
    """`approval` signal: the same decision from a system that can only signal."""

    verdict: str = Field(pattern="^(approve|reject)$")


def approval_refusal(state: ReturnState, allowed: list[Role], decision: Decision) -> str | None:
    """Why a decision is refused (None when it is accepted): the update validators' rule."""
    if state is not ReturnState.AWAITING_APPROVAL:
        return f"this return is {state.value}, not awaiting approval: no decision is open"
    if not decision.approver.strip():
        return "approver is empty"
    if decision.role not in allowed:
        wanted = " or ".join(r.value for r in allowed) or "nobody"
        return f"role {decision.role.value} cannot decide this return: it needs {wanted}"
    return None


# ----------------------------------------------------------------------------- workflow I/O


class ReturnInput(BaseModel):
    """What `ReturnToRefund` starts with: the request and the policy in force."""

    request: ReturnRequest
    policy: ReturnPolicy = DEFAULT_POLICY


class OrderLookup(BaseModel):
    rma_id: str
    order_id: str
    channel: Channel


class OrderFound(BaseModel):
    """The receipt lookup's answer: the order, or why there is none."""

    order: OrderRecord | None = None
    problem: str = ""


class FraudQuery(BaseModel):
    rma_id: str
    customer_id: str
    value: Money
    has_receipt: bool
    days_since_purchase: int
    reason: ReasonCode
    item_count: int


class FraudScoreResult(BaseModel):
    score: int
    reasons: list[str] = []
    model_version: str = ""


class NotificationKind(StrEnum):
    AUTHORIZED = "authorized"
    DECLINED = "declined"
    EXPIRED = "expired"
    REJECTED = "rejected"
    STORE_CREDIT_FALLBACK = "store_credit_fallback"
    REFUNDED = "refunded"


class CustomerNotice(BaseModel):
    rma_id: str
    store_id: str | None
    customer: Customer
    kind: NotificationKind
    message: str
    idempotency_key: str


class RefundLeg(BaseModel):
    rma_id: str
    order_id: str
    allocation: TenderAllocation
    reason: str = ""
    lines: list[ReturnLineRequest] = Field(default_factory=list)
    """What the return takes back: the POS records it against the order lines (once per
    RMA, whatever the number of legs), so a later return sees it as already returned."""


class LegResult(BaseModel):
    refund_id: str
    amount: Money
    method: TenderType
    store_credit_id: str | None = None


class FollowUpOrder(BaseModel):
    rma_id: str
    location_id: str
    follow_up: FollowUp
    idempotency_key: str


class CreditMemo(BaseModel):
    rma_id: str
    order_id: str
    customer_id: str
    amount: Money
    restocking_fee: Money
    idempotency_key: str


class ReturnException(BaseModel):
    """Something a person must look at (refund mismatch, approval past its SLA)."""

    rma_id: str
    store_id: str | None
    kind: str
    message: str
    due_at: AwareDatetime
    idempotency_key: str


# ----------------------------------------------------------------------------- status


class LegState(StrEnum):
    PENDING = "PENDING"
    REFUNDED = "REFUNDED"
    FELL_BACK_TO_STORE_CREDIT = "FELL_BACK_TO_STORE_CREDIT"
    FAILED = "FAILED"


class TenderRefund(BaseModel):
    allocation: TenderAllocation
    state: LegState = LegState.PENDING
    refunded: Money = ZERO
    refund_id: str | None = None
    failure: str | None = None


class AuditEntry(BaseModel):
    at: AwareDatetime
    actor: str
    action: str
    detail: str = ""


class ApprovalRecord(BaseModel):
    decision: str
    approver: str
    role: Role
    note: str = ""
    at: AwareDatetime


class ReturnStatus(BaseModel):
    """What the `status` query answers: everything a UI or a script needs."""

    rma_id: str
    order_id: str
    state: ReturnState
    channel: Channel
    store_id: str | None
    customer: str = Field(description="masked e-mail: no personal data in plain text here")
    reason: ReasonCode
    declines: list[Decline] = []
    quote: RefundQuote | None = None
    fraud: FraudAssessment | None = None
    awaiting_role: list[Role] = []
    approval: ApprovalRecord | None = None
    escalated: bool = False
    item_deadline: AwareDatetime | None = None
    received_at: AwareDatetime | None = None
    receipt_id: str | None = None
    inspection: InspectionResult | None = None
    dispositions: dict[str, Disposition] = {}
    follow_ups: list[FollowUp] = []
    tenders: list[TenderRefund] = []
    expected_refund: Money | None = None
    refunded_total: Money = ZERO
    outcome: ReturnState | None = Field(
        default=None, description="REFUNDED or PARTIALLY_REFUNDED once the refund is done"
    )
    mismatch: Decimal = ZERO
    exception: str | None = None
    credit_memo_id: str | None = None
    refund_due_at: AwareDatetime | None = None
    refunded_at: AwareDatetime | None = None
    receipt_to_refund_seconds: float | None = None
    refund_sla_met: bool | None = None
    audit: list[AuditEntry] = []

    @property
    def closed(self) -> bool:
        return self.state in TERMINAL_STATES


TERMINAL_STATES = frozenset(
    {ReturnState.DECLINED, ReturnState.EXPIRED, ReturnState.REJECTED, ReturnState.CLOSED}
)
