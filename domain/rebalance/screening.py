"""Which rows of the stock feed the planner trusts, and why it excludes the others.

A wrong feed (negative figures, a stale report, stock far beyond any demand, a store the
feed does not mention) is a fact the planner must see, exclude and report, never plan on.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel

from domain.rebalance.estate import Position
from domain.rebalance.feed import LastMove

Key = tuple[str, str]
"""(location id, item id)."""


class ExclusionReason(StrEnum):
    NEGATIVE = "NEGATIVE"
    STALE = "STALE"
    IMPLAUSIBLE = "IMPLAUSIBLE"
    MISSING = "MISSING"


class ExcludedPosition(BaseModel):
    """A position the planner did not trust, and why (in words)."""

    location_id: str
    item_id: str
    reason: ExclusionReason
    detail: str


def newest_reports(positions: list[Position]) -> dict[Key, Position]:
    """A location/item reported twice keeps the newest report."""
    newest: dict[Key, Position] = {}
    for position in positions:
        key = (position.location_id, position.item_id)
        current = newest.get(key)
        if current is None or position.as_of > current.as_of:
            newest[key] = position
    return newest


def distrust(
    position: Position,
    *,
    planned_at: datetime,
    max_age: timedelta,
    implausible_multiple: Decimal,
    reference: int,
    moved: LastMove | None = None,
) -> tuple[ExclusionReason, str] | None:
    """Why this report is not to be trusted (None: trust it)."""
    if position.on_hand < 0 or position.in_transit < 0 or position.safety_stock < 0:
        return ExclusionReason.NEGATIVE, (
            f"negative figure in feed (on hand {position.on_hand}, in transit "
            f"{position.in_transit}, safety stock {position.safety_stock})"
        )
    if planned_at - position.as_of > max_age:
        age_h = (planned_at - position.as_of).total_seconds() / 3600
        return ExclusionReason.STALE, (
            f"reported {age_h:.1f} h before planning, older than the policy's "
            f"{max_age.total_seconds() / 3600:.1f} h"
        )
    if moved is not None and position.as_of < moved.at:
        return ExclusionReason.STALE, (
            f"reported at {position.as_of.isoformat()}, before {moved.words()} moved this "
            "stock: the feed does not show the product's own movement"
        )
    stock = position.on_hand + position.in_transit
    if reference > 0 and Decimal(stock) > implausible_multiple * reference:
        return ExclusionReason.IMPLAUSIBLE, (
            f"{stock} units is more than {implausible_multiple} x demand of {reference}"
        )
    return None


def screen_positions(
    positions: list[Position],
    *,
    planned_at: datetime,
    max_age: timedelta,
    implausible_multiple: Decimal,
    reference_demand: dict[Key, int],
    last_moves: dict[Key, LastMove] | None = None,
) -> tuple[dict[Key, Position], list[ExcludedPosition]]:
    """Split a stock feed into trusted positions and excluded ones with the reason.

    - negative on hand, in transit or safety stock: NEGATIVE;
    - reported longer ago than `max_age` before `planned_at`, or before the last movement
      of its location and item (`last_moves`, from the WMS's transfers): STALE;
    - stock beyond `implausible_multiple` x the location's reference demand (when that demand
      is positive): IMPLAUSIBLE.
    A location/item reported twice keeps the newest report.
    """
    newest = newest_reports(positions)
    trusted: dict[Key, Position] = {}
    excluded: list[ExcludedPosition] = []
    for key in sorted(newest):
        position = newest[key]
        verdict = distrust(
            position,
            planned_at=planned_at,
            max_age=max_age,
            implausible_multiple=implausible_multiple,
            reference=reference_demand.get(key, 0),
            moved=(last_moves or {}).get(key),
        )
        if verdict is None:
            trusted[key] = position
        else:
            reason, detail = verdict
            excluded.append(
                ExcludedPosition(location_id=key[0], item_id=key[1], reason=reason, detail=detail)
            )
    return trusted, excluded


def account_for_missing(
    trusted: dict[Key, Position],
    excluded: list[ExcludedPosition],
    *,
    stores: list[str],
    items: list[str],
    rule: Literal["zero", "exclude"],
    planned_at: datetime,
) -> dict[Key, ExclusionReason]:
    """Decide each store/item the feed does not mention (in place); the reasons by key.

    `zero`: the WMS convention, no row means nothing on hand (the item is not ranged yet);
    `exclude`: the store/item is excluded as MISSING.
    """
    reasons = {(e.location_id, e.item_id): e.reason for e in excluded}
    for store in stores:
        for item in items:
            key = (store, item)
            if key in trusted or key in reasons:
                continue
            if rule == "zero":
                trusted[key] = Position(
                    location_id=store, item_id=item, on_hand=0, as_of=planned_at
                )
            else:
                excluded.append(
                    ExcludedPosition(
                        location_id=store,
                        item_id=item,
                        reason=ExclusionReason.MISSING,
                        detail="the stock feed has no position for this store and item",
                    )
                )
                reasons[key] = ExclusionReason.MISSING
    return reasons
