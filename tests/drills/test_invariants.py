"""The drills' exactly-once judge: a subject twice or unplanned is doubled, one missing is
lost, and only the exact set passes."""

from __future__ import annotations

from drills.invariants import Each, Verdict, judge_each

REFUNDS = Each("refund per tender", "pos", "refund:R1:", {"refund:R1:T1", "refund:R1:T2"})


def judged(*seen: str) -> Verdict:
    verdict = Verdict()
    judge_each(REFUNDS, list(seen), verdict)
    return verdict


def test_exactly_the_planned_effects_pass() -> None:
    assert judged("refund:R1:T2", "refund:R1:T1").passed


def test_a_tender_refunded_twice_is_doubled() -> None:
    verdict = judged("refund:R1:T1", "refund:R1:T2", "refund:R1:T1")
    assert verdict.doubled == ["refund per tender: refund:R1:T1 more than once"]
    assert not verdict.lost and not verdict.passed


def test_a_refund_nobody_planned_is_doubled_and_a_missing_one_lost() -> None:
    verdict = judged("refund:R1:T1", "refund:R1:store_credit")
    assert verdict.doubled == ["refund per tender: unplanned refund:R1:store_credit"]
    assert verdict.lost == ["refund per tender: none for refund:R1:T2"]
