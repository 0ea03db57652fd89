"""The stock feed checked against what the product itself moved, and against sales.

A feed can be wrong in ways its own figures do not show: frozen (every `as_of` recent
enough for `feed_max_age`, yet older than the transfers shipped since), blind to released
transfers that still sit at the source, or inflated. These checks read the WMS's transfer
records (`Estate.movements`) and the demand derived from sales:

- `last_movements`: a position reported before the last movement of its location and item
  is STALE (see `screening.distrust`), whatever its age;
- `commitments`: released transfers not shipped yet hold their units at the source and
  bring them to the destination (the feed counts neither); the planner counts both;
- `negative_problem`: a plan that would drive a source below zero is refused, with why;
- `doubtful_feed`: a feed where most stores hold far more than their sales and recent
  receipts explain is doubtful: its plan goes to approval whatever its size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from domain.rebalance.estate import Movement, Position

if TYPE_CHECKING:  # plan.py imports screening, which imports this module
    from domain.rebalance.plan import RebalancePlan

Key = tuple[str, str]


@dataclass(frozen=True)
class LastMove:
    at: datetime
    transfer_id: str
    status: str

    def words(self) -> str:
        return f"transfer {self.transfer_id} ({self.status} at {self.at.isoformat()})"


@dataclass
class Commitments:
    """Units of released, unshipped transfers: leaving a source, coming to a destination."""

    outbound: dict[Key, int] = field(default_factory=dict)
    inbound: dict[Key, int] = field(default_factory=dict)


def last_movements(movements: list[Movement]) -> dict[Key, LastMove]:
    """The latest movement of each (location, item), at the source and the destination."""
    last: dict[Key, LastMove] = {}
    for m in movements:
        move = LastMove(at=m.at, transfer_id=m.transfer_id, status=m.status)
        for location in (m.source_id, m.dest_id):
            key = (location, m.item_id)
            if key not in last or move.at > last[key].at:
                last[key] = move
    return last


def commitments(movements: list[Movement]) -> Commitments:
    out = Commitments()
    for m in movements:
        if m.shipped:
            continue
        src, dst = (m.source_id, m.item_id), (m.dest_id, m.item_id)
        out.outbound[src] = out.outbound.get(src, 0) + m.units
        out.inbound[dst] = out.inbound.get(dst, 0) + m.units
    return out


def received_recently(movements: list[Movement]) -> dict[Key, int]:
    """Units each destination received or has on the way from recent transfers."""
    received: dict[Key, int] = {}
    for m in movements:
        key = (m.dest_id, m.item_id)
        received[key] = received.get(key, 0) + m.units
    return received


def doubtful_feed(
    positions: dict[Key, Position],
    demand: dict[Key, int],
    received: dict[Key, int],
    *,
    stores: list[str],
    multiple: Decimal,
    share: Decimal,
) -> str | None:
    """Why the feed looks inflated against sales and recent receipts (None: it does not).

    A store/item with demand is doubtful when it holds more than `multiple` x (its demand
    plus what it received recently); the feed is doubtful when at least `share` of them are."""
    judged = doubtful = 0
    store_set = set(stores)
    for key, position in positions.items():
        units = demand.get(key, 0)
        if key[0] not in store_set or units <= 0:
            continue
        judged += 1
        explained = units + received.get(key, 0)
        if Decimal(position.on_hand + position.in_transit) > multiple * explained:
            doubtful += 1
    if judged == 0 or Decimal(doubtful) < share * judged:
        return None
    return (
        f"{doubtful} of {judged} store position(s) hold more than {multiple} x their demand "
        "and recent receipts: figures look inflated"
    )


def negative_problem(
    plan: RebalancePlan, positions: dict[Key, Position], committed: Commitments
) -> str | None:
    """Why the plan would drive a position below zero (None: it would not).

    Per source and item: reported on hand, minus released transfers not shipped yet,
    minus what the plan moves out."""
    planned: dict[Key, int] = {}
    for move in plan.moves:
        key = (move.source_id, move.item_id)
        planned[key] = planned.get(key, 0) + move.units
    problems = []
    for key in sorted(planned):
        position = positions.get(key)
        on_hand = position.on_hand if position is not None else 0
        held = committed.outbound.get(key, 0)
        left = on_hand - held - planned[key]
        if left < 0:
            problems.append(
                f"{key[0]}/{key[1]} would go to {left} (on hand {on_hand}, {held} on released "
                f"transfers, {planned[key]} planned out)"
            )
    if not problems:
        return None
    more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
    return "the plan would drive stock negative: " + "; ".join(problems[:3]) + more
