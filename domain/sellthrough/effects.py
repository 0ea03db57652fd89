"""What applying a recommendation asks for, and what its outcome means for the monitor.

* markdown -> one POS publication of the region's stores with the lower price (every
  item of the promotion at its current price, so the price book stays whole), under its
  own price version;
* digital throttling -> a retraction from e-commerce and marketplace;
* transfer -> an `InventoryRebalance` request moving stock from a slow region to the fast
  one.

The workflow runs the publications and the child; these functions build their inputs and
record their outcomes in the monitor's state.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal

from domain.publication.contract import (
    ALL_TARGETS,
    Channel,
    PublicationAction,
    PublicationOutcome,
    PublicationRequest,
)
from domain.publication.prices import PriceLine
from domain.rebalance.contract import DemandOverride, RebalanceRequest, RebalanceScope
from domain.rebalance.contract import workflow_id as workflow_id_for
from domain.sellthrough.contract import MonitorInput
from domain.sellthrough.prices import current_price
from domain.sellthrough.status import MonitorState, Recommendation, key

THROTTLED_CHANNELS = (Channel.ECOMMERCE, Channel.MARKETPLACE)


def price_version(data: MonitorInput, rec: Recommendation) -> int:
    """The price version of a recommendation's publications: base + its number, so their
    idempotency keys never collide with the launch's own versions."""
    return data.markdown_version_base + int(rec.id.rsplit("-", 1)[-1])


def markdown_total(state: MonitorState, rec: Recommendation) -> Decimal:
    """The region and item's total markdown once ``rec`` is applied."""
    return state.markdown_pct.get(key(rec.region, rec.item_id), Decimal("0")) + rec.markdown_pct


def markdown_request(data: MonitorInput, rec: Recommendation) -> PublicationRequest:
    """The region's POS price books with ``rec``'s item at its new price."""
    new_total = markdown_total(data.state, rec)
    lines = []
    for item in data.items:
        price = current_price(data.state, rec.region, item)
        offer = item.offer
        if item.item_id == rec.item_id and rec.new_price is not None:
            price = rec.new_price
            offer = f"{item.offer}, marked down {new_total}%"
        lines.append(
            PriceLine(
                item_id=item.item_id,
                regular_price=item.regular_price,
                promo_price=price,
                offer=offer,
            )
        )
    return _request(
        data,
        rec,
        Channel.POS,
        PublicationAction.PUBLISH,
        targets=list(data.stores_by_region[rec.region]),
        lines=lines,
        reason=f"sell-through markdown {rec.id}",
    )


def record_markdown(
    state: MonitorState, rec: Recommendation, outcome: PublicationOutcome, new_total: Decimal
) -> tuple[bool, str]:
    """Applied when at least one store took the price; the markdown then counts in full."""
    if outcome.confirmed:
        state.markdown_pct[key(rec.region, rec.item_id)] = new_total
    words = f"{rec.item_id} at {rec.new_price} in {outcome.confirmed} store(s) of {rec.region}"
    if outcome.failed:
        failed = ", ".join(outcome.failed_targets[:10])
        words += f"; {outcome.failed} store(s) could not be updated: {failed}"
    return outcome.confirmed > 0, words


def throttle_requests(data: MonitorInput, rec: Recommendation) -> list[PublicationRequest]:
    """Retract the promotion from the digital channels."""
    return [
        _request(
            data,
            rec,
            channel,
            PublicationAction.RETRACT,
            targets=[ALL_TARGETS],
            lines=list(data.items),
            reason=f"digital throttling {rec.id}: store stock at risk",
        )
        for channel in THROTTLED_CHANNELS
    ]


def record_throttle(state: MonitorState, outcomes: list[PublicationOutcome]) -> tuple[bool, str]:
    """Applied only when every digital channel took the promotion down."""
    ok = all(o.failed == 0 for o in outcomes)
    if ok:
        state.throttled = True
    words = "; ".join(
        f"{o.channel.value}: {'retracted' if o.failed == 0 else o.outcomes[0].reason}"
        for o in outcomes
    )
    return ok, f"promotion taken off the digital channels ({words})"


def transfer_request(
    data: MonitorInput, rec: Recommendation, actor: str, now: datetime
) -> RebalanceRequest | None:
    """The rebalance plan moving about ``rec.transfer_units`` from the source region's
    stores to the fast region's (None without a rebalance policy or a source region)."""
    policy = data.policy.rebalance_policy
    if policy is None or rec.source_region is None:
        return None
    dest = data.stores_by_region[rec.region]
    source = data.stores_by_region[rec.source_region]
    per_store = max(1, math.ceil(rec.transfer_units / len(dest)))
    return RebalanceRequest(
        plan_id=f"{data.promotion_id}-st-{rec.id}",
        reason="manual",
        scope=RebalanceScope(stores=[*dest, *source], items=[rec.item_id]),
        need_by=now + data.policy.transfer_need_by,
        policy=policy,
        demand_override=[
            DemandOverride(store_id=s, item_id=rec.item_id, units=per_store) for s in dest
        ]
        + [DemandOverride(store_id=s, item_id=rec.item_id, units=0) for s in source],
        parent_promotion_id=data.promotion_id,
        requested_by=actor,
    )


def transfer_workflow_id(request: RebalanceRequest) -> str:
    return workflow_id_for(request.plan_id)


def transfer_words(rec: Recommendation, child: str) -> str:
    return (
        f"transfer of about {rec.transfer_units} {rec.item_id} from {rec.source_region} to "
        f"{rec.region} started as {child}"
    )


def _request(
    data: MonitorInput,
    rec: Recommendation,
    channel: Channel,
    action: PublicationAction,
    *,
    targets: list[str],
    lines: list[PriceLine],
    reason: str,
) -> PublicationRequest:
    return PublicationRequest(
        promotion_id=data.promotion_id,
        channel=channel,
        action=action,
        targets=targets,
        lines=lines,
        version=price_version(data, rec),
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        ack_timeout=data.policy.ack_timeout,
        max_republish=data.policy.max_republish,
        reason=reason,
    )
