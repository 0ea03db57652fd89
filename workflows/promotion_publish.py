"""PromotionLaunch, PUBLISHING: send the current price version to every channel through
ChannelPublication batch children (or, for a batch one call covers, in the launch
itself), and record what each channel confirmed.

Used by the first publication, by republication after a price change, by the release of
overridden stores, by the revert at the end and by the retraction of a rollback."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.promotion.gates import StoreGateState
    from domain.promotion.publishing import group_by, judge_round, rounds
    from domain.publication.contract import (
        ALL_TARGETS,
        STORE_SCOPED,
        Channel,
        PublicationAction,
        PublicationOutcome,
        PublicationRequest,
    )
    from domain.publication.prices import PriceLine

from workflows.channel_publication import publish_all
from workflows.promotion_run import LaunchFailed, LaunchRun

STORE_PRICES = "store-price-sets"
"""Patch: POS requests per store window *and* price set (each store's own prices by zone
and group offer); runs recorded before send the chain's lines to every store."""

ONE_ROUND = "one-publication-round"
"""Patch: every request of a publication (POS stores in several time zones or price
sets, and the other channels) in one round, not one round per request of a channel."""

INLINE_BATCHES = "inline-publication-batches"
"""Patch: a batch one call to its channel covers (ERP, e-commerce, marketplace, POS in
bulk) runs in the launch itself, not in a ChannelPublication child."""

POS_BULK_CALLS = "pos-bulk-calls"
"""Patch: POS configured as bulk gets many stores a call (`targets_per_call`)."""


def targets_per_call(run: LaunchRun, channel: Channel) -> int:
    """Stores one call to `channel` carries, as the policy configures it (1: per store)."""
    calls = run.s.policy.publication.pos
    if channel is Channel.POS and calls.mode == "bulk" and workflow.patched(POS_BULK_CALLS):
        return calls.targets_per_call
    return 1


def request(
    run: LaunchRun,
    channel: Channel,
    action: PublicationAction,
    targets: list[str],
    reason: str = "",
    *,
    window: tuple[datetime, datetime] | None = None,
    lines: list[PriceLine] | None = None,
) -> PublicationRequest:
    s = run.s
    pub = s.policy.publication
    starts_at, ends_at = window or (s.first_start, s.last_end)
    return PublicationRequest(
        promotion_id=run.promotion_id,
        channel=channel,
        action=action,
        targets=targets,
        lines=list(s.lines if lines is None else lines),
        version=s.version,
        starts_at=starts_at,
        ends_at=ends_at,
        ack_timeout=pub.ack_timeout,
        max_republish=pub.max_republish,
        retry_until=starts_at - pub.retry_margin if action is PublicationAction.PUBLISH else None,
        name=s.plan.name,
        offer_type=s.plan.offer.type.value,
        scope_store_ids=s.stores_in(StoreGateState.READY) or list(s.stores),
        deal_id=s.plan.vendor_deal_id,
        exclusive=s.plan.exclusive,
        priority=s.plan.priority,
        reason=reason,
        targets_per_call=targets_per_call(run, channel),
    )


def requests_for(
    run: LaunchRun,
    channel: Channel,
    action: PublicationAction,
    targets: list[str],
    reason: str = "",
) -> list[PublicationRequest]:
    """One request per distinct store window (store time) and price set for POS, else
    one request with the chain's lines."""
    if channel not in STORE_SCOPED:
        return [request(run, channel, action, targets, reason)]
    s = run.s
    if s.price_sets and workflow.patched(STORE_PRICES):
        sets = group_by(
            targets, lambda t: (s.window(t), getattr(s.stores.get(t), "price_set", None))
        )
        return [
            request(run, channel, action, group, reason, window=key[0], lines=s.lines_for(group[0]))
            for key, group in sets.items()
        ]
    groups = group_by(targets, s.window)
    return [
        request(run, channel, action, group, reason, window=window)
        for window, group in groups.items()
    ]


async def fan_out(run: LaunchRun, requests: list[PublicationRequest]) -> list[PublicationOutcome]:
    """Run the requests as batch children (all at once; runs recorded before: round after
    round); mark channels SENT."""
    if not requests:
        return []
    s = run.s
    pub = s.policy.publication
    for r in requests:
        status = s.channels[r.channel.value]
        status.state = "SENT"
        status.version = r.version
        attempted = s.attempted.setdefault(r.channel.value, [])
        known = set(attempted)
        for t in r.targets:
            if t not in known:
                attempted.append(t)
                known.add(t)
    outcomes: list[PublicationOutcome] = []
    # every request at once: their batches are numbered apart (`numbered_batches`); runs
    # recorded before went round by round, one request of a channel per round
    together = workflow.patched(ONE_ROUND)
    # a batch one call covers runs here, its confirmations signalled to the launch itself
    inline = run.inline if workflow.patched(INLINE_BATCHES) else None
    for round_ in [requests] if together else rounds(requests):
        outcomes += await publish_all(
            workflow.info().workflow_id,
            round_,
            batch_size=pub.batch_size,
            max_pending_children=pub.max_pending_children,
            inline=inline,
        )
    return outcomes


async def publish(
    run: LaunchRun, store_ids: list[str] | None = None, *, first: bool = False
) -> None:
    """Publish the current price version: every channel, or POS for `store_ids` only."""
    s = run.s
    ready = s.stores_in(StoreGateState.READY) if store_ids is None else store_ids
    requests: list[PublicationRequest] = []
    for channel in s.plan.channels:
        if channel in STORE_SCOPED:
            if ready:
                requests += requests_for(run, channel, PublicationAction.PUBLISH, ready)
        elif store_ids is None:
            requests.append(request(run, channel, PublicationAction.PUBLISH, [ALL_TARGETS]))
    record(run, await fan_out(run, requests), first=first)


async def republish(run: LaunchRun) -> None:
    """Send the current version to every target that confirmed an earlier one."""
    s = run.s
    requests: list[PublicationRequest] = []
    for channel_value, targets in s.published.items():
        if targets:
            requests += requests_for(
                run, Channel(channel_value), PublicationAction.PUBLISH, list(targets)
            )
    record(run, await fan_out(run, requests), first=False)
    run.audit("workflow", "republished", f"price version {s.version}")


def record(run: LaunchRun, outcomes: list[PublicationOutcome], *, first: bool) -> None:
    """Record a round's confirmations per channel and store; hold failed stores or fail
    the launch, as the policy says (`domain.promotion.publishing.judge_round`)."""
    s = run.s
    for outcome in outcomes:
        status = s.channels[outcome.channel.value]
        published = s.published.setdefault(outcome.channel.value, [])
        seen = set(published)
        for o in outcome.outcomes:
            if o.state == "CONFIRMED" and o.target not in seen:
                published.append(o.target)
                seen.add(o.target)
            if outcome.channel in STORE_SCOPED and o.target in s.stores:
                s.stores[o.target].published = o.state == "CONFIRMED"
        if first:
            s.targets_planned += len(outcome.outcomes)
            s.targets_on_time += sum(
                1 for o in outcome.outcomes if o.state == "CONFIRMED" and o.attempts <= 1
            )
        status.targets = len(set(s.attempted.get(outcome.channel.value, [])))
        status.confirmed = len(published)
        status.failed = outcome.failed
        status.reconciled_by_readback += outcome.reconciled_by_readback
        status.republished += outcome.republished
        status.duplicate_acks_dropped += outcome.duplicate_acks_dropped
        status.state = (
            "FAILED"
            if outcome.failed and not published
            else ("CONFIRMED" if published else status.state)
        )
        status.detail = (
            f"v{outcome.version}: {outcome.confirmed} confirmed, {outcome.failed} failed"
        )
    # runs with price sets judge a channel's stores together (behind the same patch)
    per_channel = bool(s.price_sets) and workflow.patched(STORE_PRICES)
    verdict = judge_round(outcomes, s.policy.publication, per_channel=per_channel)
    for channel_value, failed in verdict.held.items():
        for store_id in failed:
            st = s.stores.get(store_id)
            if st is not None:
                st.gate = StoreGateState.HELD
                st.note = f"{channel_value} publication failed"
        run.audit(
            "workflow",
            "stores held",
            f"{len(failed)} store(s) not published to {channel_value}, held by "
            f"policy: {', '.join(failed[:10])}",
        )
    if verdict.failures:
        raise LaunchFailed("; ".join(verdict.failures))


def publishing_words(run: LaunchRun) -> str:
    s = run.s
    ready = len(s.stores_in(StoreGateState.READY))
    return (
        f"publishing price version {s.version} to "
        f"{', '.join(c.value for c in s.plan.channels)} ({ready} stores), waiting for "
        "confirmations"
    )
