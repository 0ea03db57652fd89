"""What `PromotionLaunch` validators will call: steps, subjects and `prove` (pure)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from domain.identity import DecisionRefused, DecisionSigner, Refusal, Verdict, new_private_key
from domain.promotion import identity as pid
from domain.promotion.plan import PlanMetrics
from domain.publication.prices import PriceLine
from tests.domain.promotion.samples import NOW, policy

WF = "promotion-P1"
INBOX = DecisionSigner(key=new_private_key(), issuer="inbox", kid="inbox-1")
POLICY = policy().model_copy(
    update={"trust": policy().trust.model_copy(update={"issuers": [INBOX.trusted_issuer()]})}
)
METRICS = PlanMetrics(
    discount_depth_pct=Decimal("20"),
    margin_impact=Decimal("100"),
    vendor_funding=Decimal("0"),
    unfunded_cost=Decimal("100"),
    store_count=8,
    planned_units=100,
    planned_revenue=Decimal("200"),
    planned_margin=Decimal("40"),
)
V1 = [
    PriceLine(
        item_id="I1", regular_price=Decimal("2.49"), promo_price=Decimal("1.99"), offer="20% off"
    )
]
V2 = [
    PriceLine(
        item_id="I1", regular_price=Decimal("2.49"), promo_price=Decimal("1.49"), offer="40% off"
    )
]


def sign(
    step: str, subject: Any, verdict: Verdict, person: str = "alice", role: str = "category_manager"
) -> str:
    return INBOX.sign(
        person=person,
        role=role,
        workflow_id=WF,
        step=step,
        subject=subject,
        decision=verdict,
        issued_at=NOW - timedelta(minutes=1),
        jti=f"t-{step}-{verdict}-{person}",
    )


def prove(token: str | None, step: str, subject: Any, verdict: Verdict, **changes: Any) -> Any:
    args: dict[str, Any] = {
        "policy": POLICY,
        "trust": POLICY.trust,
        "now": NOW,
        "workflow_id": WF,
        "step": step,
        "subject": subject,
        "verdict": verdict,
        "seen": set(),
        "person": "alice",
        "role": "category_manager",
        "allowed_roles": ["category_manager"],
    }
    args.update(changes)
    return pid.prove(token, **args)


def test_an_approval_of_version_1_is_refused_once_the_price_changed_to_version_2() -> None:
    step = pid.approval_step("category_manager")
    token = sign(step, pid.approval_subject("P1", 1, V1, METRICS), Verdict.APPROVE)
    proof = prove(token, step, pid.approval_subject("P1", 1, V1, METRICS), Verdict.APPROVE)
    assert (proof.person, proof.issuer) == ("alice", "inbox")
    with pytest.raises(DecisionRefused) as err:
        prove(token, step, pid.approval_subject("P1", 2, V2, METRICS), Verdict.APPROVE)
    assert err.value.reason is Refusal.STALE_SUBJECT


def test_the_subject_survives_the_status_query_round_trip() -> None:
    shown = [PriceLine.model_validate_json(line.model_dump_json()) for line in V1]
    metrics = PlanMetrics.model_validate_json(METRICS.model_dump_json())
    step = pid.approval_step("category_manager")
    token = sign(step, pid.approval_subject("P1", 1, shown, metrics), Verdict.APPROVE)
    assert prove(token, step, pid.approval_subject("P1", 1, V1, METRICS), Verdict.APPROVE).signed


def test_holders_come_from_the_matrix_and_roles_are_checked() -> None:
    assert "alice" in pid.holders(POLICY)["category_manager"]
    step = pid.approval_step("category_manager")
    subject = pid.approval_subject("P1", 1, V1, METRICS)
    with pytest.raises(DecisionRefused, match="'eve' does not hold"):
        prove(
            sign(step, subject, Verdict.APPROVE, person="eve"),
            step,
            subject,
            Verdict.APPROVE,
            person="eve",
        )
    with pytest.raises(DecisionRefused, match="needs finance"):
        prove(
            sign(step, subject, Verdict.APPROVE),
            step,
            subject,
            Verdict.APPROVE,
            allowed_roles=["finance"],
        )


def test_each_decision_is_bound_to_its_own_step() -> None:
    cancel = pid.cancel_subject("P1", 1)
    token = sign(pid.CANCEL_STEP, cancel, Verdict.CANCEL)
    assert prove(
        token, pid.CANCEL_STEP, cancel, Verdict.CANCEL, allowed_roles=POLICY.cancel_roles
    ).signed
    held = pid.override_subject("P1", 1, "S001", Decimal("0.4"))
    override = sign(
        pid.override_step("S001"), held, Verdict.OVERRIDE, person="olga", role="store_operations"
    )
    with pytest.raises(DecisionRefused) as err:
        prove(
            override,
            pid.override_step("S004"),
            pid.override_subject("P1", 1, "S004", Decimal("0.4")),
            Verdict.OVERRIDE,
            person="olga",
            role="store_operations",
            allowed_roles=POLICY.override_roles,
        )
    assert err.value.reason is Refusal.WRONG_STEP
    change = pid.price_change_subject("P1", 1, {"kind": "percent_off", "percent": "40"})
    price = sign(pid.price_change_step(1), change, Verdict.CHANGE_PRICE)
    with pytest.raises(DecisionRefused) as stale:
        prove(price, pid.price_change_step(2), change, Verdict.CHANGE_PRICE)
    assert stale.value.reason is Refusal.WRONG_STEP


def test_the_example_policy_refuses_unsigned_and_its_rebalance_child_inherits_the_trust() -> None:
    example = policy()
    assert not example.trust.accept_unsigned and example.trust.issuers
    assert example.rebalance is not None and example.rebalance.trust == example.trust
    with pytest.raises(DecisionRefused) as err:
        prove(
            None, pid.CANCEL_STEP, pid.cancel_subject("P1", 1), Verdict.CANCEL, trust=example.trust
        )
    assert err.value.reason is Refusal.UNSIGNED
