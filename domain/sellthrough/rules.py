"""What a sell-through check recommends, from sales per region against the forecast.

Every check compares units sold since the start with the forecast pro rata of the window
elapsed, per region and item:

* selling **slower** than ``under_ratio`` x expected -> a MARKDOWN for that region and
  item, its depth growing with the gap (in ``markdown_step_pct`` steps, never beyond
  ``max_markdown_pct`` in total);
* selling **faster** than ``over_ratio`` x expected (stock-out risk) -> a TRANSFER of the
  projected shortfall from the slowest region that has a projected surplus, or, when no
  region has one, DIGITAL_THROTTLE (take the promotion off the digital channels so store
  stock lasts; one throttle covers every region).

No recommendation repeats one still open, or one of the same kind, region and item
applied or rejected within the cooldown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

from domain.money import CENT
from domain.publication.prices import PriceLine
from domain.sellthrough.contract import MonitorInput, RegionSales
from domain.sellthrough.prices import current_price, marked_down_price
from domain.sellthrough.status import (
    OPEN_STATUSES,
    MonitorState,
    Recommendation,
    RecommendationKind,
    RecommendationStatus,
    key,
)


@dataclass(frozen=True)
class Reading:
    """One region and item at this check: actual / expected, and both figures."""

    ratio: Decimal
    expected: Decimal
    actual: int


Readings = dict[tuple[str, str], Reading]


def elapsed_fraction(starts_at: datetime, ends_at: datetime, now: datetime) -> Decimal:
    total = (ends_at - starts_at).total_seconds()
    done = (min(max(now, starts_at), ends_at) - starts_at).total_seconds()
    return (Decimal(str(done)) / Decimal(str(total))).quantize(Decimal("0.000001"))


def evaluate(data: MonitorInput, sales: RegionSales, now: datetime) -> list[Recommendation]:
    """New recommendations for this check (ids from ``data.state.next_seq`` on).

    Pure: the same input, sales and time give the same recommendations. Also records the
    ratios in ``data.state.last_ratios``.
    """
    policy, state = data.policy, data.state
    fraction = elapsed_fraction(data.starts_at, data.ends_at, now)
    if fraction <= 0:
        return []
    readings = read_ratios(data, sales, fraction)
    out: list[Recommendation] = []
    for region in sorted(data.stores_by_region):
        for item in data.items:
            reading = readings.get((region, item.item_id))
            if reading is None:
                continue
            if reading.ratio < policy.under_ratio:
                fields = _markdown(data, region, item, reading, now)
            elif reading.ratio > policy.over_ratio:
                throttling = state.throttled or any(
                    r.kind is RecommendationKind.DIGITAL_THROTTLE for r in out
                )
                fields = _stock_out(
                    data, readings, region, item, reading, fraction, now, throttling
                )
            else:
                continue
            if fields is not None:
                out.append(
                    Recommendation(
                        id=f"rec-{state.next_seq + len(out)}",
                        created_at=now,
                        status=RecommendationStatus.AWAITING_DECISION,
                        **fields,
                    )
                )
    state.next_seq += len(out)
    return out


def read_ratios(data: MonitorInput, sales: RegionSales, fraction: Decimal) -> Readings:
    """Actual / expected per region and item, for those expected to have sold enough to
    judge (``min_expected_units``); recorded in ``data.state.last_ratios`` too."""
    readings: Readings = {}
    floor = max(Decimal(data.policy.min_expected_units), CENT)
    for region in sorted(data.stores_by_region):
        for item in data.items:
            forecast = data.forecast_units.get(region, {}).get(item.item_id, 0)
            expected = (Decimal(forecast) * fraction).quantize(CENT)
            actual = sales.units.get(region, {}).get(item.item_id, 0)
            if expected < floor:
                continue
            ratio = (Decimal(actual) / expected).quantize(CENT)
            readings[(region, item.item_id)] = Reading(ratio, expected, actual)
            data.state.last_ratios[key(region, item.item_id)] = ratio
    return readings


def _markdown(
    data: MonitorInput, region: str, item: PriceLine, reading: Reading, now: datetime
) -> dict[str, Any] | None:
    """A markdown for a slow seller: half the shortfall in percent, in steps, within the cap."""
    policy, state = data.policy, data.state
    if _blocked(state, RecommendationKind.MARKDOWN, region, item.item_id, now, policy.cooldown):
        return None
    done = state.markdown_pct.get(key(region, item.item_id), Decimal("0"))
    room = policy.max_markdown_pct - done
    if room <= 0:
        return None
    gap = (Decimal(1) - reading.ratio) * Decimal(50)  # half the shortfall, in percent
    pct = min(_round_up_to_step(gap, policy.markdown_step_pct), room)
    price = current_price(state, region, item)
    new_price = marked_down_price(item.promo_price, done + pct)
    return {
        "kind": RecommendationKind.MARKDOWN,
        "region": region,
        "item_id": item.item_id,
        "expected_units": reading.expected,
        "actual_units": reading.actual,
        "ratio": reading.ratio,
        "markdown_pct": pct,
        "new_price": new_price,
        "reason": (
            f"{item.item_id} in {region} sold {reading.actual} of {reading.expected} expected "
            f"({reading.ratio:.0%}), below {policy.under_ratio:.0%}: mark down {pct}% "
            f"from {price} to {new_price}"
        ),
        "automatic": pct <= policy.auto_markdown_max_pct,
    }


def _stock_out(
    data: MonitorInput,
    readings: Readings,
    region: str,
    item: PriceLine,
    reading: Reading,
    fraction: Decimal,
    now: datetime,
    throttling: bool,
) -> dict[str, Any] | None:
    """A fast seller: a transfer from a region with surplus, else digital throttling."""
    policy, state = data.policy, data.state
    projected = Decimal(reading.actual) / fraction
    planned = Decimal(data.forecast_units.get(region, {}).get(item.item_id, 0))
    shortfall = max(1, math.ceil(projected - planned))
    donor = _donor(data, readings, region, item.item_id, fraction)
    facts = {
        "region": region,
        "item_id": item.item_id,
        "expected_units": reading.expected,
        "actual_units": reading.actual,
        "ratio": reading.ratio,
    }
    sold = (
        f"{item.item_id} in {region} sold {reading.actual} of {reading.expected} expected "
        f"({reading.ratio:.0%})"
    )
    if donor is not None and policy.rebalance_policy is not None:
        source, surplus = donor
        kind = RecommendationKind.TRANSFER
        if _blocked(state, kind, region, item.item_id, now, policy.cooldown):
            return None
        units = min(shortfall, surplus)
        return facts | {
            "kind": kind,
            "transfer_units": units,
            "source_region": source,
            "reason": (
                f"{sold}, above {policy.over_ratio:.0%}: move {units} unit(s) from {source}, "
                "which sells below forecast"
            ),
            "automatic": units <= policy.auto_transfer_max_units,
        }
    kind = RecommendationKind.DIGITAL_THROTTLE
    if throttling or _blocked(state, kind, region, item.item_id, now, policy.cooldown):
        return None
    return facts | {
        "kind": kind,
        "reason": (
            f"{sold} and no region has stock to spare: take the promotion off e-commerce "
            "and marketplace so store stock lasts"
        ),
        "automatic": policy.auto_throttle,
    }


def _round_up_to_step(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def _blocked(
    state: MonitorState,
    kind: RecommendationKind,
    region: str,
    item_id: str,
    now: datetime,
    cooldown: timedelta,
) -> bool:
    """An open recommendation of this kind (and region, but for throttling) and item, or
    one applied or rejected within the cooldown."""
    for rec in state.recommendations:
        if rec.kind != kind or rec.item_id != item_id:
            continue
        if kind is not RecommendationKind.DIGITAL_THROTTLE and rec.region != region:
            continue
        if rec.status in OPEN_STATUSES:
            return True
        if rec.status is RecommendationStatus.APPLIED and now - rec.created_at < cooldown:
            return True
        if rec.status is RecommendationStatus.REJECTED and now - rec.created_at < cooldown:
            return True
    return False


def _donor(
    data: MonitorInput,
    readings: Readings,
    region: str,
    item_id: str,
    fraction: Decimal,
) -> tuple[str, int] | None:
    """The slowest other region with a projected surplus of the item, and that surplus."""
    best: tuple[Decimal, str, int] | None = None
    for other in sorted(data.stores_by_region):
        if other == region:
            continue
        found = readings.get((other, item_id))
        if found is None or found.ratio >= 1:
            continue
        forecast = Decimal(data.forecast_units.get(other, {}).get(item_id, 0))
        surplus = math.floor(forecast - Decimal(found.actual) / fraction)
        if surplus <= 0:
            continue
        if best is None or found.ratio < best[0]:
            best = (found.ratio, other, surplus)
    return None if best is None else (best[1], best[2])
