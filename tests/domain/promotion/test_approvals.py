"""The approval matrix: tiers, whose turn, who may decide, escalation, material change."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.promotion.approvals import (
    ApprovalState,
    RequiredApproval,
    approvals_outcome,
    current_approval,
    decision_refusal,
    price_change_pct,
    reapprovals,
    required_approvals,
    tier_roles,
)
from domain.promotion.plan import (
    StoreFacts,
)
from domain.promotion.policy import PromotionPolicy
from domain.promotion.validation import validate_plan
from tests.domain.promotion.samples import NOW, ROOT, facts, plan, policy


def test_tiers_from_discount_depth() -> None:
    shallow = validate_plan(
        plan(offer={"type": "percent_off", "percent": "10"}), facts(), policy(), now=NOW
    ).metrics
    assert shallow is not None
    assert tier_roles(shallow, policy())[1] == ["category_manager"]
    deep = validate_plan(plan(), facts(), policy(), now=NOW).metrics
    assert deep is not None
    assert tier_roles(deep, policy())[1] == ["category_manager", "finance"]
    very = validate_plan(
        plan(offer={"type": "percent_off", "percent": "45"}), facts(), policy(), now=NOW
    ).metrics
    assert very is not None
    assert tier_roles(very, policy())[1] == ["category_manager", "finance", "loss_prevention"]


def test_tiers_from_store_count_and_unfunded_cost() -> None:
    many = [f"S{n:03d}" for n in range(1, 61)]
    f = facts(
        stores={s: StoreFacts(store_id=s) for s in many},
        store_ids=many,
        deal=None,
    )
    result = validate_plan(
        plan(offer={"type": "percent_off", "percent": "10"}, stores=many, vendor_deal_id=None),
        f,
        policy(),
        now=NOW,
    )
    assert result.metrics is not None
    names, roles = tier_roles(result.metrics, policy())
    assert "wide roll-out" in names
    assert roles == ["category_manager", "supply_chain", "store_operations"]


def test_required_approvals_in_matrix_order_without_deadlines_until_their_turn() -> None:
    m = validate_plan(plan(), facts(), policy(), now=NOW).metrics
    assert m is not None
    approvals = required_approvals(m, policy())
    assert [a.role for a in approvals] == ["category_manager", "finance"]
    assert all(a.deadline is None for a in approvals)
    assert current_approval(approvals) is approvals[0]
    assert approvals_outcome(approvals) is ApprovalState.PENDING


def test_decision_refusals() -> None:
    p = policy()
    approvals = [RequiredApproval(role="category_manager"), RequiredApproval(role="finance")]
    ok, which = decision_refusal(approvals, p, approver="alice", role=None, open_for_decisions=True)
    assert ok is None and which is approvals[0]
    cases = [
        ("frank", None, True, "finance decides after category_manager"),
        ("mallory", None, True, "not an approver"),
        ("lena", None, True, "needs a decision from category_manager, finance"),
        ("alice", "finance", True, "does not hold the role finance"),
        ("alice", "ceo", True, "not in the approval matrix"),
        ("alice", None, False, "closed"),
        ("", None, True, "names no approver"),
    ]
    for approver, role, open_, words in cases:
        reason, _ = decision_refusal(
            approvals, p, approver=approver, role=role, open_for_decisions=open_
        )
        assert reason is not None and words in reason, (approver, reason)


def test_the_matrix_is_decided_in_order_and_the_next_role_opens_after_the_current() -> None:
    p = policy()
    approvals = [RequiredApproval(role="category_manager"), RequiredApproval(role="finance")]
    early, _ = decision_refusal(approvals, p, approver="frank", role=None, open_for_decisions=True)
    assert early == (
        "finance decides after category_manager: the approval matrix is decided in order, "
        "and it waits for category_manager (alice, carlos)"
    )
    approvals[0].state, approvals[0].decided_by = ApprovalState.APPROVED, "alice"
    ok, which = decision_refusal(approvals, p, approver="frank", role=None, open_for_decisions=True)
    assert ok is None and which is approvals[1]


def test_an_approver_may_change_their_mind_and_reject_while_the_step_is_open() -> None:
    p = policy()
    approvals = [RequiredApproval(role="category_manager"), RequiredApproval(role="finance")]
    approvals[0].state, approvals[0].decided_by = ApprovalState.APPROVED, "alice"
    reason, which = decision_refusal(
        approvals, p, approver="alice", role=None, open_for_decisions=True, approve=False
    )
    assert reason is None and which is approvals[0]
    closed, _ = decision_refusal(
        approvals, p, approver="alice", role=None, open_for_decisions=False, approve=False
    )
    assert closed is not None and "closed" in closed


def test_duplicate_decision_is_idempotent_and_other_person_is_refused() -> None:
    p = policy()
    approvals = [RequiredApproval(role="category_manager")]
    approvals[0].state = ApprovalState.APPROVED
    approvals[0].decided_by = "alice"
    reason, which = decision_refusal(
        approvals, p, approver="alice", role=None, open_for_decisions=True
    )
    assert reason is None and which is approvals[0]
    reason, _ = decision_refusal(
        approvals, p, approver="carlos", role=None, open_for_decisions=True
    )
    assert reason is not None and "already decided" in reason
    assert approvals_outcome(approvals) is ApprovalState.APPROVED


def test_escalated_approval_counts_once_replaced() -> None:
    a = RequiredApproval(role="category_manager", state=ApprovalState.ESCALATED)
    b = RequiredApproval(role="merchandising_director", escalated_from="category_manager")
    assert approvals_outcome([a, b]) is ApprovalState.PENDING
    b.state = ApprovalState.APPROVED
    assert approvals_outcome([a, b]) is ApprovalState.APPROVED
    assert policy().roles["category_manager"].escalates_to == "merchandising_director"


# --------------------------------------------------------------------------- material change


def test_material_change_reopens_by_size() -> None:
    p = policy()
    base = validate_plan(plan(), facts(), p, now=NOW)
    approvals = required_approvals(base.metrics, p)  # type: ignore[arg-type]
    for a in approvals:
        a.state = ApprovalState.APPROVED
    small = validate_plan(plan(offer={"type": "percent_off", "percent": "31"}), facts(), p, now=NOW)
    change = price_change_pct(base.lines, small.lines)
    assert change < Decimal(5)
    assert reapprovals(approvals, small.metrics, change, p, round_=2) == []  # type: ignore[arg-type]
    mid = validate_plan(plan(offer={"type": "percent_off", "percent": "35"}), facts(), p, now=NOW)
    change = price_change_pct(base.lines, mid.lines)
    assert Decimal(5) <= change < Decimal(15)
    assert reapprovals(approvals, mid.metrics, change, p, round_=2) == ["category_manager"]  # type: ignore[arg-type]
    big = validate_plan(plan(offer={"type": "percent_off", "percent": "45"}), facts(), p, now=NOW)
    change = price_change_pct(base.lines, big.lines)
    assert change >= Decimal(15)
    # loss prevention is newly required by the deeper discount
    assert reapprovals(approvals, big.metrics, change, p, round_=2) == [  # type: ignore[arg-type]
        "category_manager",
        "finance",
        "loss_prevention",
    ]


def test_policy_refuses_unknown_roles() -> None:
    data = json.loads((ROOT / "examples" / "policy" / "promotion.json").read_text())
    data["tiers"][0]["roles"] = ["ceo"]
    with pytest.raises(ValidationError, match="names role 'ceo'"):
        PromotionPolicy.model_validate(data)


# --------------------------------------------------------------------------- coverage


def test_reopening_makes_decided_roles_pending_again_and_adds_new_ones() -> None:
    from domain.promotion.approvals import reopen_approvals

    decided = [
        RequiredApproval(role="category_manager", state=ApprovalState.APPROVED, decided_by="alice"),
        RequiredApproval(role="finance", state=ApprovalState.APPROVED, decided_by="frank"),
    ]
    after = reopen_approvals(decided, ["finance", "finance_director"], round_=2)
    assert [(a.role, a.state, a.round) for a in after] == [
        ("category_manager", ApprovalState.APPROVED, 1),
        ("finance", ApprovalState.PENDING, 2),
        ("finance_director", ApprovalState.PENDING, 2),
    ]
    reopened = after[1]
    assert reopened.decided_by is None and reopened.deadline is None and not reopened.reminded
    assert decided[1].state is ApprovalState.APPROVED  # the input is left as it was


def test_authority_for_price_change_override_and_cancel() -> None:
    from domain.promotion.approvals import authority_refusal

    p = policy()
    allowed = p.cancel_roles
    holder = p.roles[allowed[0]].approvers[0]
    assert authority_refusal(p, holder, allowed, None) is None
    assert authority_refusal(p, holder, allowed, allowed[0]) is None
    assert authority_refusal(p, "mallory", allowed, None) == "mallory is not in the approval matrix"
    outsider = next(
        person
        for role in p.roles.values()
        for person in role.approvers
        if not set(p.roles_of(person)) & set(allowed)
    )
    refusal = authority_refusal(p, outsider, allowed, None)
    assert refusal is not None and "holds none of the roles allowed" in refusal
    other_role = next(r for r in p.roles if r not in p.roles_of(holder))
    refusal = authority_refusal(p, holder, allowed, other_role)
    assert refusal is not None and f"may not act as {other_role}" in refusal


def test_a_missed_deadline_escalates_to_the_next_role_or_expires() -> None:
    from domain.promotion.approvals import escalate

    pending = [RequiredApproval(role="category_manager"), RequiredApproval(role="finance")]
    escalated = escalate(pending, "category_manager", "merchandising_director", NOW)
    assert [(a.role, a.state, a.escalated_from) for a in escalated] == [
        ("category_manager", ApprovalState.ESCALATED, None),
        ("merchandising_director", ApprovalState.PENDING, "category_manager"),
        ("finance", ApprovalState.PENDING, None),
    ]
    assert pending[0].state is ApprovalState.PENDING
    expired = escalate(pending, "finance", None, NOW)
    assert expired[1].state is ApprovalState.REJECTED
    assert expired[1].decided_by == "workflow" and expired[1].decided_at == NOW
    assert "nobody to escalate to" in expired[1].comment
    again = escalate(escalated, "finance", "merchandising_director", NOW)
    assert [a.role for a in again].count("merchandising_director") == 1  # already pending
