"""Publication decisions of a launch: which requests go out together, and what a round's
outcomes mean for the launch (stores held by policy, or the launch failed)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from domain.promotion.policy import PublicationPolicy
from domain.publication.contract import STORE_SCOPED, PublicationOutcome, PublicationRequest

K = TypeVar("K", bound=Hashable)

Window = tuple[datetime, datetime]


def group_by(targets: list[str], key: Callable[[str], K]) -> dict[K, list[str]]:
    """Targets grouped by `key` (a store's window), groups and members in first-seen order."""
    groups: dict[K, list[str]] = {}
    for target in targets:
        groups.setdefault(key(target), []).append(target)
    return groups


def rounds(requests: list[PublicationRequest]) -> list[list[PublicationRequest]]:
    """Requests split into successive rounds so no round holds two requests of the same
    channel, action and version (their batch children would share ids: POS stores in
    different time zones are such requests)."""
    result: list[list[PublicationRequest]] = []
    for request in requests:
        key = (request.channel, request.action, request.version)
        for round_ in result:
            if all((r.channel, r.action, r.version) != key for r in round_):
                round_.append(request)
                break
        else:
            result.append([request])
    return result


@dataclass
class RoundVerdict:
    """What a publication round means: stores to hold per channel, or why it failed."""

    held: dict[str, list[str]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.held and not self.failures


def judge_round(
    outcomes: list[PublicationOutcome], policy: PublicationPolicy, *, per_channel: bool = False
) -> RoundVerdict:
    """Failed store-scoped targets are held when the policy allows (`hold_store`, and no
    more than `max_failed_store_pct` of the stores); a failed chain-wide channel, or more
    failed stores than that, fails the launch.

    The share is taken per request, or with `per_channel` over every request of a channel
    together (a launch split into price sets and store windows: one zone of one store
    failing is that store's share of the launch, not 100 %)."""
    verdict = RoundVerdict()
    groups: list[list[PublicationOutcome]] = []
    by_channel: dict[str, list[PublicationOutcome]] = {}
    for outcome in outcomes:
        if per_channel and outcome.channel in STORE_SCOPED:
            if outcome.channel.value not in by_channel:
                by_channel[outcome.channel.value] = []
                groups.append(by_channel[outcome.channel.value])
            by_channel[outcome.channel.value].append(outcome)
        else:
            groups.append([outcome])
    for group in groups:
        channel = group[0].channel
        failed = [t for o in group for t in o.failed_targets]
        if not failed:
            continue
        reasons = sorted({t.reason for o in group for t in o.outcomes if t.state == "FAILED"})
        if channel not in STORE_SCOPED:
            verdict.failures.append(
                f"channel {channel.value} could not be published: {'; '.join(reasons)}"
            )
            continue
        total = sum(len(o.outcomes) for o in group)
        share = Decimal(len(failed)) * 100 / Decimal(max(total, 1))
        if policy.on_store_failure == "fail_launch" or share > policy.max_failed_store_pct:
            verdict.failures.append(
                f"{len(failed)} store(s) ({share.quantize(Decimal('0.1'))}%) could not be "
                f"published to {channel.value} ({'; '.join(reasons)[:300]}); "
                f"policy {policy.on_store_failure}, at most {policy.max_failed_store_pct}% of "
                "stores may be held"
            )
            continue
        verdict.held.setdefault(channel.value, []).extend(failed)
    return verdict
