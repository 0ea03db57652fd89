"""The network facts the rebalancing planner reads: locations, positions, demand, lanes, items.

Pure pydantic models and the derivations the estate reader needs (lanes from geography,
demand from sales); no I/O. Quantities are whole units (`int`), money is `Decimal`, times
are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from math import asin, cos, radians, sin, sqrt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


def aware_utc(value: datetime) -> datetime:
    """Validator: a timezone-aware time, converted to UTC (a naive one is refused in words)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must be timezone-aware (for example 2026-11-23T10:00:00Z)")
    return value.astimezone(UTC)


class Location(BaseModel):
    """A store or a distribution centre that can send or receive stock."""

    model_config = ConfigDict(frozen=True)

    location_id: str = Field(min_length=1)
    kind: Literal["store", "dc"] = "store"
    region: str | None = None
    outbound_capacity: int | None = Field(
        default=None, ge=0, description="units this location can ship in the window (None: no cap)"
    )


class Position(BaseModel):
    """One location's stock of one item as the stock feed reports it.

    Deliberately not constrained to be non-negative: a wrong feed is a fact the planner must
    see, exclude and report (see `domain.rebalance.screening`).
    """

    model_config = ConfigDict(frozen=True)

    location_id: str
    item_id: str
    on_hand: int
    in_transit: int = 0
    safety_stock: int = 0
    as_of: datetime

    _utc_as_of = field_validator("as_of")(aware_utc)


class Demand(BaseModel):
    """Forecast demand of one store for one item over the planning window."""

    model_config = ConfigDict(frozen=True)

    store_id: str
    item_id: str
    units: int = Field(ge=0)


class Lane(BaseModel):
    """A way to move stock from a source to a destination."""

    model_config = ConfigDict(frozen=True)

    source_id: str
    dest_id: str
    lead_time: timedelta
    cost_per_unit: Decimal = Field(ge=0)
    cost_per_shipment: Decimal = Field(default=Decimal("0"), ge=0)
    capacity_units: int | None = Field(default=None, ge=0)


class ItemRule(BaseModel):
    """How an item moves: whole packs, and no move smaller than the minimum."""

    model_config = ConfigDict(frozen=True)

    item_id: str
    pack_size: int = Field(default=1, ge=1)
    min_move: int = Field(default=1, ge=1)


class Movement(BaseModel):
    """A transfer order the WMS holds for a location in scope (released or further).

    The planner's check on the stock feed: a position reported before the last movement of
    its location and item is stale, whatever its age; a released transfer that has not
    shipped yet still holds its units at the source (the feed's on-hand counts them) and
    brings them to the destination (the feed's in-transit does not count them yet)."""

    model_config = ConfigDict(frozen=True)

    transfer_id: str
    source_id: str
    dest_id: str
    item_id: str
    units: int = Field(ge=0)
    status: Literal["RELEASED", "PICKED", "SHIPPED", "RECEIVED"]
    at: datetime
    """When the WMS last changed the transfer (released, picked, shipped, received)."""

    _utc_at = field_validator("at")(aware_utc)

    @property
    def shipped(self) -> bool:
        return self.status in ("SHIPPED", "RECEIVED")


class Estate(BaseModel):
    """Everything the planner needs to know about the network, as read from WMS and ERP."""

    locations: list[Location] = Field(default_factory=list)
    positions: list[Position] = Field(default_factory=list)
    demand: list[Demand] = Field(default_factory=list)
    lanes: list[Lane] = Field(default_factory=list)
    items: list[ItemRule] = Field(default_factory=list)
    movements: list[Movement] = Field(default_factory=list)
    """Recent transfers touching the locations (empty in estates read before they were)."""


# --------------------------------------------------------------------------- derived facts


class Site(BaseModel):
    """A location with its geography, from the ERP's store and DC master."""

    location_id: str
    kind: Literal["store", "dc"]
    region: str
    latitude: float
    longitude: float
    serving_dc: str | None = None


def distance_km(a: Site, b: Site) -> float:
    """Great-circle distance (haversine), enough to rank lanes."""
    lat1, lon1, lat2, lon2 = map(radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = sin((lat2 - lat1) / 2) ** 2 + cos(lat1) * cos(lat2) * sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * asin(sqrt(h))


def derive_lanes(
    sites: list[Site],
    dest_ids: list[str],
    *,
    km_per_hour: float = 60.0,
    base_hours: float = 12.0,
    cost_per_unit_km: Decimal = Decimal("0.002"),
    base_cost_per_unit: Decimal = Decimal("0.30"),
    cost_per_shipment: Decimal = Decimal("25"),
    store_to_store_same_region_only: bool = True,
) -> list[Lane]:
    """Lanes to each destination store: from every DC, and from stores of the same region.

    The WMS and ERP of the reference estate do not publish a lane table, so lead time and
    cost come from distance: `base_hours` + distance / speed, unit cost rising with distance.
    """
    by_id = {s.location_id: s for s in sites}
    lanes: list[Lane] = []
    for dest_id in dest_ids:
        dest = by_id.get(dest_id)
        if dest is None:
            continue
        for source in sites:
            if source.location_id == dest_id:
                continue
            if (
                source.kind == "store"
                and store_to_store_same_region_only
                and source.region != dest.region
            ):
                continue
            km = distance_km(source, dest)
            hours = base_hours + km / km_per_hour
            unit = base_cost_per_unit + cost_per_unit_km * Decimal(str(round(km, 1)))
            lanes.append(
                Lane(
                    source_id=source.location_id,
                    dest_id=dest_id,
                    lead_time=timedelta(minutes=round(hours * 60)),
                    cost_per_unit=unit.quantize(Decimal("0.0001")),
                    cost_per_shipment=cost_per_shipment,
                )
            )
    return lanes


def demand_from_sales(
    sales: list[tuple[str, str, int]],
    *,
    history: timedelta,
    window: timedelta,
    stores: list[str],
    items: list[str],
) -> list[Demand]:
    """Forecast for the window = units sold over `history`, scaled to the window, rounded up."""
    sold: dict[tuple[str, str], int] = {}
    for store, item, units in sales:
        sold[(store, item)] = sold.get((store, item), 0) + units
    ratio = Decimal(str(window.total_seconds())) / Decimal(str(history.total_seconds()))
    out = []
    for store in stores:
        for item in items:
            units = sold.get((store, item), 0)
            forecast = int((Decimal(units) * ratio).to_integral_value(rounding="ROUND_CEILING"))
            out.append(Demand(store_id=store, item_id=item, units=max(0, forecast)))
    return out
