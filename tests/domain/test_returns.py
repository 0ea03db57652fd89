"""The returns rules, called directly: eligibility, allocation, fees, fraud, approval,
dispositions, settlement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.returns.approval import (
    approval_due,
    approval_refusal,
    awaited_role,
    roles_after_escalation,
)
from domain.returns.contract import APPROVE, ApprovalSignal, Decision
from domain.returns.disposition import (
    RETURNS_DC,
    Condition,
    Disposition,
    FollowUpKind,
    decide_disposition,
    follow_ups,
    plan_dispositions,
    receiving_location,
)
from domain.returns.eligibility import DeclineReason, check_eligibility
from domain.returns.fraud import assess_fraud
from domain.returns.policy import DEFAULT_POLICY, FraudTier, ReturnPolicy, Role
from domain.returns.refund import (
    allocate_refund,
    can_fall_back,
    fallback_notice,
    issues_new_store_credit,
    quote_lines,
    store_credit_fallback,
)
from domain.returns.request import (
    Channel,
    Customer,
    OrderLine,
    OrderRecord,
    ReasonCode,
    ReturnLineRequest,
    ReturnRequest,
    Tender,
    TenderType,
)
from domain.returns.settlement import refund_mismatch, refund_sla, settle
from domain.returns.status import ReturnState

BOUGHT = datetime(2026, 5, 1, 15, 0, tzinfo=UTC)
D = Decimal


def order(**changes: object) -> OrderRecord:
    base = OrderRecord(
        order_id="O-1",
        channel=Channel.STORE,
        store_id="S001",
        customer_id="C-1",
        purchased_at=BOUGHT,
        lines=[
            OrderLine(sku="SHIRT", category="apparel", unit_price=D("19.99"), quantity=3),
            OrderLine(sku="TV", category="electronics", unit_price=D("333.33"), quantity=1),
            OrderLine(
                sku="SOCKS", category="apparel", unit_price=D("4.99"), quantity=2, final_sale=True
            ),
        ],
        tenders=[
            Tender(
                tender_id="T1", type=TenderType.GIFT_CARD, amount=D("50.00"), captured_at=BOUGHT
            ),
            Tender(
                tender_id="T2",
                type=TenderType.CARD,
                amount=D("333.30"),
                captured_at=BOUGHT + timedelta(seconds=5),
                card_last4="4242",
            ),
        ],
    )
    return base.model_copy(update=changes)


def request(items: list[tuple[str, int]], **changes: object) -> ReturnRequest:
    data: dict[str, object] = {
        "rma_id": "RMA-1",
        "order_id": "O-1",
        "channel": "store",
        "store_id": "S001",
        "reason": "defective",
        "customer": {"customer_id": "C-1", "name": "Ada Buyer", "email": "ada@example.com"},
        "lines": [{"sku": s, "quantity": q} for s, q in items],
    }
    data.update(changes)
    return ReturnRequest.model_validate(data)


def test_eligible_return_is_authorized_with_a_quote() -> None:
    result = check_eligibility(request([("SHIRT", 2)]), order(), BOUGHT + timedelta(days=3))
    assert result.authorized and result.declines == []
    assert result.quote is not None and result.quote.net == D("39.98")


@pytest.mark.parametrize(
    ("lines", "changes", "when", "expected"),
    [
        ([("SOCKS", 1)], {}, 3, DeclineReason.FINAL_SALE),
        ([("SHIRT", 1)], {}, 31, DeclineReason.RETURN_PERIOD_ENDED),
        ([("TV", 1)], {}, 16, DeclineReason.RETURN_PERIOD_ENDED),  # electronics: 15 days
        ([("SHIRT", 4)], {}, 3, DeclineReason.QUANTITY_EXCEEDED),
        ([("TV", 1)], {"has_receipt": False}, 3, DeclineReason.NO_RECEIPT_LIMIT),
        ([("LAMP", 1)], {}, 3, DeclineReason.OTHER),
    ],
)
def test_each_decline_reason(
    lines: list[tuple[str, int]], changes: dict[str, object], when: int, expected: DeclineReason
) -> None:
    result = check_eligibility(request(lines, **changes), order(), BOUGHT + timedelta(days=when))
    assert not result.authorized
    assert [d.reason for d in result.declines] == [expected]
    assert result.declines[0].message


def test_every_reason_is_listed_not_only_the_first() -> None:
    result = check_eligibility(
        request([("SOCKS", 5), ("SHIRT", 1)]), order(), BOUGHT + timedelta(days=40)
    )
    reasons = {d.reason for d in result.declines}
    assert reasons == {
        DeclineReason.FINAL_SALE,
        DeclineReason.RETURN_PERIOD_ENDED,
        DeclineReason.QUANTITY_EXCEEDED,
    }


def test_already_returned_quantity_counts() -> None:
    lines = order().lines
    lines[0] = lines[0].model_copy(update={"returned_quantity": 2})
    result = check_eligibility(request([("SHIRT", 2)]), order(lines=lines), BOUGHT)
    assert [d.reason for d in result.declines] == [DeclineReason.QUANTITY_EXCEEDED]


def test_unknown_order_and_other_customer_are_declined() -> None:
    assert check_eligibility(request([("SHIRT", 1)]), None, BOUGHT).declines[0].reason is (
        DeclineReason.OTHER
    )
    other = check_eligibility(request([("SHIRT", 1)]), order(customer_id="C-9"), BOUGHT)
    assert other.declines[0].reason is DeclineReason.OTHER


def test_restocking_fee_by_reason_and_category() -> None:
    unwanted = quote_lines(request([("TV", 1), ("SHIRT", 1)], reason="unwanted"), order())
    assert unwanted.gross == D("353.32")
    assert unwanted.restocking_fee == D("50.00")  # 15% of 333.33 = 49.9995 -> 50.00
    assert unwanted.net == D("303.32")
    defective = quote_lines(request([("TV", 1)], reason="defective"), order())
    assert defective.restocking_fee == D("0.00")


def test_allocation_reverse_capture_order_is_cent_exact() -> None:
    plan = allocate_refund(
        "RMA-1", D("353.32"), order().tenders, channel=Channel.STORE, has_receipt=True
    )
    assert [(a.tender_id, a.method, a.amount) for a in plan] == [
        ("T2", TenderType.CARD, D("333.30")),
        ("T1", TenderType.GIFT_CARD, D("20.02")),
    ]
    assert len({a.idempotency_key for a in plan}) == 2


def test_allocation_cash_limit_and_online_cash_become_store_credit() -> None:
    cash = [Tender(tender_id="C", type=TenderType.CASH, amount=D("500.00"), captured_at=BOUGHT)]
    store = allocate_refund("R", D("250.00"), cash, channel=Channel.STORE, has_receipt=True)
    assert [(a.method, a.amount) for a in store] == [
        (TenderType.CASH, D("200.00")),
        (TenderType.STORE_CREDIT, D("50.00")),
    ]
    online = allocate_refund("R", D("250.00"), cash, channel=Channel.ONLINE, has_receipt=True)
    assert [(a.method, a.amount) for a in online] == [(TenderType.STORE_CREDIT, D("250.00"))]


def test_no_receipt_is_store_credit_and_refunded_tenders_are_capped() -> None:
    plan = allocate_refund(
        "R", D("30.00"), order().tenders, channel=Channel.STORE, has_receipt=False
    )
    assert [(a.tender_id, a.method) for a in plan] == [(None, TenderType.STORE_CREDIT)]
    tenders = [t.model_copy(update={"refunded": t.amount}) for t in order().tenders]
    rest = allocate_refund("R", D("10.00"), tenders, channel=Channel.STORE, has_receipt=True)
    assert [(a.tender_id, a.method, a.amount) for a in rest] == [
        (None, TenderType.STORE_CREDIT, D("10.00"))
    ]


money = st.decimals(min_value=D("0.01"), max_value=D("5000"), places=2)


@given(net=money, amounts=st.lists(money, min_size=1, max_size=5))
def test_allocation_always_sums_to_net(net: Decimal, amounts: list[Decimal]) -> None:
    tenders = [
        Tender(
            tender_id=f"T{i}",
            type=TenderType.CARD,
            amount=a,
            captured_at=BOUGHT + timedelta(minutes=i),
        )
        for i, a in enumerate(amounts)
    ]
    plan = allocate_refund("R", net, tenders, channel=Channel.ONLINE, has_receipt=True)
    assert sum((a.amount for a in plan), D("0")) == net
    assert all(a.amount > 0 and a.amount == a.amount.quantize(D("0.01")) for a in plan)
    by_tender = {a.tender_id: a.amount for a in plan if a.tender_id}
    assert all(by_tender.get(t.tender_id, D(0)) <= t.amount for t in tenders)


def test_store_credit_fallback_keeps_amount_with_its_own_key() -> None:
    leg = allocate_refund(
        "R", D("10.00"), order().tenders, channel=Channel.STORE, has_receipt=True
    )[0]
    fallback = store_credit_fallback(leg)
    assert fallback.method is TenderType.STORE_CREDIT and fallback.amount == leg.amount
    assert fallback.idempotency_key != leg.idempotency_key
    assert refund_mismatch(D("10.00"), D("9.99")) == D("0.01")


@pytest.mark.parametrize(
    ("score", "reasons", "tier", "role"),
    [
        (10, [], FraudTier.LOW, None),
        (39, [], FraudTier.LOW, None),
        (40, [], FraudTier.MEDIUM, Role.STORE_SUPERVISOR),
        (5, ["serial_returner"], FraudTier.MEDIUM, Role.STORE_SUPERVISOR),
        (70, [], FraudTier.HIGH, Role.LOSS_PREVENTION),
        (69, [], FraudTier.MEDIUM, Role.STORE_SUPERVISOR),
        (5, ["STOLEN_CARD"], FraudTier.HIGH, Role.LOSS_PREVENTION),
    ],
)
def test_fraud_tiers(score: int, reasons: list[str], tier: FraudTier, role: Role | None) -> None:
    assessed = assess_fraud(score, reasons)
    assert (assessed.tier, assessed.required_role) == (tier, role)
    assert assessed.holds_refund is (tier is FraudTier.HIGH)


@pytest.mark.parametrize(
    ("condition", "category", "vendor", "expected", "kind"),
    [
        (Condition.UNOPENED, "apparel", True, Disposition.RESTOCK, FollowUpKind.WMS_RESTOCK),
        (Condition.OPENED, "electronics", True, Disposition.REFURBISH, FollowUpKind.WMS_RESTOCK),
        (
            Condition.DEFECTIVE,
            "electronics",
            True,
            Disposition.RETURN_TO_VENDOR,
            FollowUpKind.ERP_VENDOR_CLAIM,
        ),
        (Condition.DAMAGED, "apparel", True, Disposition.LIQUIDATE, FollowUpKind.ERP_WRITE_OFF),
        (Condition.UNSAFE, "apparel", True, Disposition.DESTROY, FollowUpKind.ERP_WRITE_OFF),
        (Condition.DEFECTIVE, "apparel", False, Disposition.DESTROY, FollowUpKind.ERP_WRITE_OFF),
    ],
)
def test_dispositions_and_follow_ups(
    condition: Condition, category: str, vendor: bool, expected: Disposition, kind: FollowUpKind
) -> None:
    disposition = decide_disposition(condition, category=category, vendor_returnable=vendor)
    assert disposition is expected
    quote = quote_lines(request([("TV", 1)]), order())
    assert [f.kind for f in follow_ups(disposition, quote.lines)] == [kind]


def test_liquidation_writes_down_to_recovery_value() -> None:
    quote = quote_lines(request([("SHIRT", 2)]), order())
    (entry,) = follow_ups(Disposition.LIQUIDATE, quote.lines)
    assert entry.amount == D("31.98")  # 39.98 less 20 % recovery


def test_approval_refusals_say_why() -> None:
    supervisor = Decision(approver="sam", role=Role.STORE_SUPERVISOR)
    allowed = [Role.LOSS_PREVENTION]
    assert "needs loss_prevention" in (
        approval_refusal(ReturnState.AWAITING_APPROVAL, allowed, supervisor) or ""
    )
    assert "not awaiting approval" in (
        approval_refusal(ReturnState.REFUNDED, allowed, supervisor) or ""
    )
    lp = Decision(approver="lee", role=Role.LOSS_PREVENTION)
    assert approval_refusal(ReturnState.AWAITING_APPROVAL, allowed, lp) is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"rma_id": "bad id!"}, "rma_id"),
        ({"reason": "bored"}, "reason"),
        ({"channel": "store", "store_id": None}, "store_id"),
        ({"lines": []}, "lines"),
        ({"customer": {"customer_id": "C", "name": "A", "email": "nope"}}, "email"),
    ],
)
def test_bad_requests_name_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        request([("SHIRT", 1)], **changes)
    assert field in str(err.value)


def test_customer_email_is_masked_for_display() -> None:
    customer = Customer(customer_id="C", name="Ada", email="ada@example.com")
    assert customer.masked_email() == "a***@example.com"
    assert ReturnLineRequest(sku="X", quantity=1).quantity == 1
    assert ReasonCode("size") is ReasonCode.SIZE


def test_decline_reasons_read_as_one_sentence() -> None:
    result = check_eligibility(
        request([("SOCKS", 1), ("LAMP", 1)]), order(), BOUGHT + timedelta(days=3)
    )
    assert result.reasons() == "sku SOCKS was sold as final sale; sku LAMP is not on order O-1"


def test_fraud_roles_come_from_the_policy() -> None:
    policy = ReturnPolicy(
        tier_roles={FraudTier.MEDIUM: Role.LOSS_PREVENTION},
        tier_escalations={},
        holding_tiers=frozenset({FraudTier.MEDIUM}),
    )
    medium = assess_fraud(50, [], policy)
    assert (medium.required_role, medium.escalation_role) == (Role.LOSS_PREVENTION, None)
    assert medium.holds_refund
    high = assess_fraud(90, [], policy)
    assert high.required_role is None and not high.holds_refund


def test_approval_is_due_by_the_tier_sla_or_the_refund_sla_whichever_comes_first() -> None:
    now = BOUGHT
    medium = assess_fraud(50, [])
    assert approval_due(medium, now, None) == now + timedelta(hours=24)
    soon = now + timedelta(hours=5)
    assert approval_due(medium, now, soon) == soon
    assert approval_due(medium, now, now - timedelta(hours=1)) == now + timedelta(minutes=1)
    high = assess_fraud(90, [])
    assert approval_due(high, now, None) == now + timedelta(hours=72)
    untimed = ReturnPolicy(approval_sla_hours={})
    assert approval_due(medium, now, None, untimed) == now + timedelta(hours=24)


def test_escalation_adds_the_tier_escalation_role_once() -> None:
    medium = assess_fraud(50, [])
    allowed = roles_after_escalation([Role.STORE_SUPERVISOR], medium)
    assert allowed == [Role.STORE_SUPERVISOR, Role.LOSS_PREVENTION]
    assert roles_after_escalation(allowed, medium) == allowed
    high = assess_fraud(90, [])
    assert roles_after_escalation([Role.LOSS_PREVENTION], high) == [Role.LOSS_PREVENTION]
    assert awaited_role(allowed) is Role.LOSS_PREVENTION
    assert awaited_role([]) is None


def test_approval_signal_carries_the_same_decision() -> None:
    signal = ApprovalSignal(verdict=APPROVE, approver="sam", role=Role.STORE_SUPERVISOR, note="ok")
    assert signal.approves
    assert signal.decision() == Decision(approver="sam", role=Role.STORE_SUPERVISOR, note="ok")
    with pytest.raises(ValidationError):
        ApprovalSignal(verdict="maybe", approver="sam", role=Role.STORE_SUPERVISOR)


def test_dispositions_per_line_with_an_inspectors_override() -> None:
    quote = quote_lines(request([("SHIRT", 1), ("TV", 1)]), order())
    by_rule, planned = plan_dispositions(Condition.OPENED, None, quote.lines)
    assert by_rule == {"SHIRT": Disposition.LIQUIDATE, "TV": Disposition.REFURBISH}
    assert [(f.sku, f.kind) for f in planned] == [
        ("SHIRT", FollowUpKind.ERP_WRITE_OFF),
        ("TV", FollowUpKind.WMS_RESTOCK),
    ]
    overridden, planned = plan_dispositions(Condition.OPENED, Disposition.DESTROY, quote.lines)
    assert set(overridden.values()) == {Disposition.DESTROY}
    assert [f.kind for f in planned] == [FollowUpKind.ERP_WRITE_OFF] * 2


def test_follow_ups_are_booked_where_the_item_arrived() -> None:
    assert receiving_location("DC-7", "S001") == "DC-7"
    assert receiving_location("", "S001") == "S001"
    assert receiving_location("", None) == RETURNS_DC


def test_only_a_tender_that_is_not_store_credit_falls_back() -> None:
    card, gift = allocate_refund(
        "R", D("353.32"), order().tenders, channel=Channel.STORE, has_receipt=True
    )
    assert can_fall_back(card) and can_fall_back(gift)
    assert not can_fall_back(store_credit_fallback(card))
    assert fallback_notice(card, "SC-1") == (
        "333.30 could not go back to your card ending 4242; it was issued as store credit SC-1"
    )
    assert fallback_notice(gift, "SC-2") == (
        "20.02 could not go back to your gift_card; it was issued as store credit SC-2"
    )


def test_settlement_names_a_refund_mismatch() -> None:
    full = settle(D("100.00"), D("100.00"))
    assert (full.outcome, full.mismatch, full.problem) == (ReturnState.REFUNDED, D("0.00"), None)
    short = settle(D("100.00"), D("60.00"))
    assert short.outcome is ReturnState.PARTIALLY_REFUNDED and short.mismatch == D("40.00")
    assert short.problem == "refund mismatch: expected 100.00, refunded 60.00 (difference 40.00)"


def test_refund_sla_from_receipt() -> None:
    received = BOUGHT
    due = received + timedelta(hours=DEFAULT_POLICY.receipt_to_refund_sla_hours)
    assert refund_sla(received, due, received + timedelta(hours=2)) == (7200.0, True)
    assert refund_sla(received, due, due + timedelta(seconds=1))[1] is False
    assert refund_sla(None, None, received) == (None, None)


def test_every_leg_names_the_lines_taken_back() -> None:
    quote = quote_lines(request([("SHIRT", 2), ("TV", 1)]), order())
    assert quote.taken_back() == [
        ReturnLineRequest(sku="SHIRT", quantity=2),
        ReturnLineRequest(sku="TV", quantity=1),
    ]


def test_fallbacks_and_cash_beyond_the_limit_are_new_store_credit() -> None:
    card, gift = allocate_refund(
        "R", D("353.32"), order().tenders, channel=Channel.STORE, has_receipt=True
    )
    assert not issues_new_store_credit(card) and not issues_new_store_credit(gift)
    assert issues_new_store_credit(store_credit_fallback(card))
    cash = [Tender(tender_id="C", type=TenderType.CASH, amount=D("500.00"), captured_at=BOUGHT)]
    as_cash, beyond = allocate_refund(
        "R", D("250.00"), cash, channel=Channel.STORE, has_receipt=True
    )
    assert not issues_new_store_credit(as_cash) and issues_new_store_credit(beyond)
    credit = [
        Tender(tender_id="S", type=TenderType.STORE_CREDIT, amount=D("9.00"), captured_at=BOUGHT)
    ]
    (back,) = allocate_refund("R", D("9.00"), credit, channel=Channel.STORE, has_receipt=True)
    assert not issues_new_store_credit(back)
    (no_receipt,) = allocate_refund("R", D("9.00"), [], channel=Channel.STORE, has_receipt=False)
    assert not issues_new_store_credit(no_receipt)
