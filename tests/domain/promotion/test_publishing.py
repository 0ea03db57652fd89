"""Publication decisions: requests by store window, rounds, and a round's verdict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from domain.promotion.policy import PublicationPolicy
from domain.promotion.publishing import group_by, judge_round, rounds
from domain.publication.contract import (
    Channel,
    PublicationAction,
    PublicationOutcome,
    PublicationRequest,
    TargetOutcome,
)
from domain.publication.prices import PriceLine
from domain.publication.rules import numbered_batches

START = datetime(2026, 12, 4, 8, tzinfo=UTC)
LINE = PriceLine(
    item_id="I1", regular_price=Decimal("5.00"), promo_price=Decimal("4.00"), offer="20% off"
)


def request(channel: Channel, targets: list[str], version: int = 1) -> PublicationRequest:
    return PublicationRequest(
        promotion_id="P1",
        channel=channel,
        action=PublicationAction.PUBLISH,
        targets=targets,
        lines=[LINE],
        version=version,
        starts_at=START,
        ends_at=START + timedelta(days=2),
        ack_timeout=timedelta(minutes=5),
        max_republish=2,
    )


def outcome(channel: Channel, states: dict[str, str]) -> PublicationOutcome:
    failed = sum(1 for s in states.values() if s == "FAILED")
    return PublicationOutcome(
        channel=channel,
        action=PublicationAction.PUBLISH,
        version=1,
        outcomes=[
            TargetOutcome.model_validate(
                {
                    "target": t,
                    "state": s,
                    "attempts": 1,
                    "reason": "refused" if s == "FAILED" else "",
                }
            )
            for t, s in states.items()
        ],
        confirmed=len(states) - failed,
        failed=failed,
        duplicate_acks_dropped=0,
        reconciled_by_readback=0,
        republished=0,
    )


def test_stores_group_by_their_window_in_first_seen_order() -> None:
    windows = {"S1": "east", "S2": "west", "S3": "east"}
    assert group_by(["S1", "S2", "S3"], windows.__getitem__) == {
        "east": ["S1", "S3"],
        "west": ["S2"],
    }


def test_requests_sharing_channel_action_and_version_go_in_successive_rounds() -> None:
    east = request(Channel.POS, ["S1"])
    west = request(Channel.POS, ["S2"])
    web = request(Channel.ECOMMERCE, ["*"])
    assert rounds([east, west, web]) == [[east, web], [west]]
    assert rounds([east, request(Channel.POS, ["S2"], version=2)]) == [
        [east, request(Channel.POS, ["S2"], version=2)]
    ]


def test_batches_of_requests_sharing_channel_action_and_version_are_numbered_apart() -> None:
    east = request(Channel.POS, ["S1", "S2", "S3"])
    west = request(Channel.POS, ["S4"])
    web = request(Channel.ECOMMERCE, ["*"])
    numbered = [(i, n, b.targets) for i, n, b in numbered_batches([east, web, west], 2)]
    assert numbered == [(0, 0, ["S1", "S2"]), (0, 1, ["S3"]), (1, 0, ["*"]), (2, 2, ["S4"])]


def test_a_few_failed_stores_are_held_by_policy() -> None:
    states = {f"S{i}": "CONFIRMED" for i in range(19)} | {"S19": "FAILED"}
    verdict = judge_round([outcome(Channel.POS, states)], PublicationPolicy())
    assert verdict.held == {"pos": ["S19"]} and verdict.failures == []


def test_too_many_failed_stores_or_fail_launch_policy_fails_the_launch() -> None:
    states = {"S1": "CONFIRMED", "S2": "FAILED"}
    verdict = judge_round([outcome(Channel.POS, states)], PublicationPolicy())
    assert verdict.held == {}
    assert "1 store(s) (50.0%) could not be published to pos" in verdict.failures[0]
    strict = PublicationPolicy(on_store_failure="fail_launch")
    few = {f"S{i}": "CONFIRMED" for i in range(99)} | {"S99": "FAILED"}
    assert judge_round([outcome(Channel.POS, few)], strict).failures


def test_a_failed_chain_wide_channel_fails_the_launch() -> None:
    verdict = judge_round([outcome(Channel.ECOMMERCE, {"*": "FAILED"})], PublicationPolicy())
    assert verdict.failures == ["channel ecommerce could not be published: refused"]
    assert judge_round([outcome(Channel.ECOMMERCE, {"*": "CONFIRMED"})], PublicationPolicy()).ok


def test_with_price_sets_a_channels_stores_are_judged_together() -> None:
    policy = PublicationPolicy(on_store_failure="hold_store", max_failed_store_pct=Decimal(50))
    zone_a = outcome(Channel.POS, {"S1": "FAILED"})  # a one-store price set
    zone_b = outcome(Channel.POS, {"S2": "CONFIRMED", "S3": "CONFIRMED", "S4": "CONFIRMED"})
    apart = judge_round([zone_a, zone_b], policy)
    assert apart.failures and "100.0%" in apart.failures[0]
    together = judge_round([zone_a, zone_b], policy, per_channel=True)
    assert together.failures == [] and together.held == {"pos": ["S1"]}  # 1 of 4: 25 %
    worse = outcome(Channel.POS, {"S5": "FAILED", "S6": "FAILED", "S7": "FAILED"})
    verdict = judge_round([zone_a, zone_b, worse], policy, per_channel=True)
    assert verdict.held == {} and "4 store(s) (57.1%)" in verdict.failures[0]
