"""The promotion plan: the offer, its items and stores, and what the ERP says about them.

Pure pydantic: the facts (items, stores, other promotions, vendor deals) are read by an
activity and judged by `domain.promotion.validation`. Money is `Decimal`; times are aware.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

from domain.money import HUNDRED, cents
from domain.publication.contract import Channel

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class OfferType(StrEnum):
    PERCENT_OFF = "percent_off"
    AMOUNT_OFF = "amount_off"
    FIXED_PRICE = "fixed_price"
    BUY_X_GET_Y = "buy_x_get_y"
    SPEND_THRESHOLD = "spend_threshold"


_OFFER_FIELDS: dict[OfferType, tuple[str, ...]] = {
    OfferType.PERCENT_OFF: ("percent",),
    OfferType.AMOUNT_OFF: ("amount",),
    OfferType.FIXED_PRICE: ("price",),
    OfferType.BUY_X_GET_Y: ("buy", "get"),
    OfferType.SPEND_THRESHOLD: ("threshold", "amount"),
}


class Offer(BaseModel):
    """What the customer gets. Each type needs its own fields (see `_OFFER_FIELDS`)."""

    model_config = ConfigDict(extra="forbid")

    type: OfferType
    percent: Decimal | None = Field(default=None, gt=0, lt=100)
    amount: Decimal | None = Field(default=None, gt=0)
    price: Decimal | None = Field(default=None, gt=0)
    buy: int | None = Field(default=None, ge=1)
    get: int | None = Field(default=None, ge=1)
    threshold: Decimal | None = Field(default=None, gt=0)
    mix_and_match: bool = False
    """buy_x_get_y across a set: any `buy + get` units of the items carrying this offer."""

    @model_validator(mode="after")
    def _fields_for_type(self) -> Offer:
        needed = _OFFER_FIELDS[self.type]
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a {self.type.value} offer needs {', '.join(missing)}")
        extra = [
            name
            for names in _OFFER_FIELDS.values()
            for name in names
            if name not in needed and getattr(self, name) is not None
        ]
        if extra:
            raise ValueError(
                f"a {self.type.value} offer does not take {', '.join(sorted(set(extra)))}"
            )
        if self.mix_and_match and self.type is not OfferType.BUY_X_GET_Y:
            raise ValueError("mix_and_match applies to a buy_x_get_y offer only")
        if (
            self.type is OfferType.SPEND_THRESHOLD
            and self.amount is not None
            and self.threshold is not None
            and self.amount >= self.threshold
        ):
            raise ValueError("the amount off must be smaller than the spend threshold")
        return self

    def unit_price(self, regular: Decimal) -> Decimal:
        """The effective promoted unit price of an item whose regular price is `regular`."""
        if self.type is OfferType.PERCENT_OFF:
            assert self.percent is not None
            return cents(regular * (HUNDRED - self.percent) / HUNDRED)
        if self.type is OfferType.AMOUNT_OFF:
            assert self.amount is not None
            return cents(max(regular - self.amount, Decimal(0)))
        if self.type is OfferType.FIXED_PRICE:
            assert self.price is not None
            return cents(self.price)
        if self.type is OfferType.BUY_X_GET_Y:
            assert self.buy is not None and self.get is not None
            return cents(regular * self.buy / (self.buy + self.get))
        assert self.amount is not None and self.threshold is not None
        return cents(regular * (self.threshold - self.amount) / self.threshold)

    def words(self) -> str:
        if self.type is OfferType.PERCENT_OFF:
            return f"{self.percent}% off"
        if self.type is OfferType.AMOUNT_OFF:
            return f"{self.amount} off"
        if self.type is OfferType.FIXED_PRICE:
            return f"now {self.price}"
        if self.type is OfferType.BUY_X_GET_Y:
            if self.mix_and_match:
                return f"buy any {self.buy} get {self.get} free (mix and match)"
            return f"buy {self.buy} get {self.get} free"
        return f"{self.amount} off when you spend {self.threshold}"


ZonePrices = dict[str, Decimal]
"""A promoted price per price zone (zone id -> price): the line's price in that zone."""


def _positive_zone_prices(value: ZonePrices) -> ZonePrices:
    for zone, price in value.items():
        if not zone.strip():
            raise ValueError("a price zone id is blank")
        if price <= 0:
            raise ValueError(f"the price in zone {zone} must be above zero, got {price}")
    return {zone: cents(price) for zone, price in value.items()}


class GroupOffer(BaseModel):
    """An item's offer aimed at some store groups or stores (a regional or format price):
    it competes with the item's own line in the stores it reaches, by
    `domain.promotion.targeting.choose_line`."""

    model_config = ConfigDict(extra="forbid")

    store_groups: list[str] = Field(default_factory=list)
    stores: list[str] = Field(default_factory=list)
    offer: Offer | None = None
    zone_prices: ZonePrices = Field(default_factory=dict)
    priority: int = Field(
        default=0, ge=0, description="which line prices a store two lines reach: higher wins"
    )

    @field_validator("zone_prices")
    @classmethod
    def _zone_prices(cls, value: ZonePrices) -> ZonePrices:
        return _positive_zone_prices(value)

    @model_validator(mode="after")
    def _aimed_and_priced(self) -> GroupOffer:
        if not self.store_groups and not self.stores:
            raise ValueError("a group offer names store_groups or stores")
        if self.offer is None and not self.zone_prices:
            raise ValueError("a group offer gives an offer or zone_prices")
        return self


class PlanItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: str = Field(min_length=1)
    forecast_units_per_store: int = Field(
        ge=0, description="promotion demand per store over the whole window"
    )
    offer: Offer | None = Field(
        default=None,
        description="this item's own offer line (type and depth); none: the plan's offer",
    )
    zone_prices: ZonePrices = Field(
        default_factory=dict,
        description="the promoted price per price zone (a fixed price there); zones not "
        "named take the offer on the zone's shelf price",
    )
    priority: int = Field(
        default=0, ge=0, description="this line's priority against group offers: higher wins"
    )
    group_offers: list[GroupOffer] = Field(
        default_factory=list,
        description="offers of this item aimed at some of the plan's store groups or stores",
    )

    @field_validator("zone_prices")
    @classmethod
    def _zone_prices(cls, value: ZonePrices) -> ZonePrices:
        return _positive_zone_prices(value)


class PromotionPlan(BaseModel):
    """A promotion as the analyst submits it (examples/promotions/*.json)."""

    model_config = ConfigDict(extra="forbid")

    promotion_id: str
    name: str = Field(min_length=1)
    offer: Offer
    items: list[PlanItem] = Field(min_length=1)
    stores: list[str] = Field(default_factory=list)
    store_groups: list[str] = Field(default_factory=list)
    channels: list[Channel] = Field(min_length=1)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    forecast_uplift_pct: Decimal = Field(default=Decimal(0), ge=0)
    vendor_deal_id: str | None = None
    submitted_by: str = Field(min_length=1)
    exclusive: bool = Field(
        default=True,
        description="no other promotion may run on the same item, store and day; false: it "
        "stacks with other stackable promotions, in `priority` order",
    )
    priority: int = Field(default=0, ge=0, description="stacking order: lower applies first")
    window_in_store_time: bool = Field(
        default=False,
        description="the wall-clock times of starts_at/ends_at apply in each store's own "
        "time zone (a 08:00 start is 08:00 in New York and 08:00 in Los Angeles)",
    )

    @field_validator("promotion_id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(
                "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        return value

    @field_validator("ends_at")
    @classmethod
    def _end_after_start(cls, value: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("starts_at")
        if isinstance(start, datetime) and value <= start:
            raise ValueError(f"must be after starts_at ({start.isoformat()})")
        return value

    @field_validator("items")
    @classmethod
    def _unique_items(cls, value: list[PlanItem]) -> list[PlanItem]:
        seen: set[str] = set()
        for item in value:
            if item.item_id in seen:
                raise ValueError(f"item {item.item_id} is listed twice")
            seen.add(item.item_id)
        return value

    @field_validator("channels")
    @classmethod
    def _unique_channels(cls, value: list[Channel]) -> list[Channel]:
        if len(set(value)) != len(value):
            raise ValueError("a channel is listed twice")
        return value

    def offer_for(self, item_id: str) -> Offer:
        """The offer of an item: its own offer line, or the plan's offer."""
        for item in self.items:
            if item.item_id == item_id and item.offer is not None:
                return item.offer
        return self.offer

    def offer_words(self) -> str:
        """The offer in words: the plan's, or each offer line's with its item count."""
        lines: dict[str, int] = {}
        for item in self.items:
            words = (item.offer or self.offer).words()
            lines[words] = lines.get(words, 0) + 1
        if len(lines) == 1:
            return next(iter(lines))
        return "mixed: " + "; ".join(f"{w} ({n} item{'s' * (n > 1)})" for w, n in lines.items())

    @model_validator(mode="after")
    def _has_stores(self) -> PromotionPlan:
        if not self.stores and not self.store_groups:
            raise ValueError("stores or store_groups: name at least one store or store group")
        return self


MAX_PLAN_CELLS = 500_000
"""Items x stores a launch takes at most: beyond, split the event (the starter refuses it).
Measured by bench/launch_scale.py at 1,000 items x 500 stores: longest history 147 events,
biggest payload 239 KiB, status 207 KiB."""
MAX_LAUNCH_INPUT_BYTES = 512 * 1024
"""The serialized plan and policy a launch takes at most (Temporal's payload limit is 2 MiB;
the starter refuses bigger ones in one line)."""


def in_store_group(
    group: str,
    *,
    region: str,
    store_class: str,
    dc_id: str | None,
    store_format: str = "",
    price_zone: str = "",
) -> bool:
    """Attribute store groups: `all`, `region:<name>`, `format:<name>`, `zone:<id>`,
    `class:<A|B|C>`, `dc:<id>`, or a bare region name. Named groups (`group:<id>`, lists of
    stores defined in the ERP) are resolved by `domain.promotion.targeting.group_members`."""
    kind, _, value = group.partition(":")
    if group == "all":
        return True
    if not value:
        return region == group
    if kind == "region":
        return region == value
    if kind == "format":
        return store_format == value
    if kind == "zone":
        return price_zone == value
    if kind == "class":
        return store_class == value
    if kind == "dc":
        return dc_id == value
    return False


class ItemFacts(BaseModel):
    item_id: str
    description: str = ""
    cost: Decimal
    regular_price: Decimal
    vendor_id: str | None = None
    zone_prices: dict[str, Decimal] = Field(default_factory=dict)
    """Shelf price per price zone where the ERP's zone price differs from `regular_price`
    (zones of the plan's stores only)."""

    def shelf_price(self, zone: str) -> Decimal:
        """The regular (shelf) price in a price zone."""
        return self.zone_prices.get(zone, self.regular_price)


class StoreFacts(BaseModel):
    store_id: str
    store_class: str = "B"
    region: str = ""
    timezone: str = "UTC"
    format: str = ""
    price_zone: str = ""
    dc_id: str | None = None
    starts_at: AwareDatetime | None = None
    """The store's own go-live (UTC), when the plan's window is in store time."""
    ends_at: AwareDatetime | None = None


class ExistingPromotion(BaseModel):
    promotion_id: str
    name: str = ""
    items: list[str]
    stores: list[str]
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    status: str = "ACTIVE"
    exclusive: bool = True
    """Masters that do not say are taken as exclusive (the safe reading)."""
    priority: int = 0


class VendorDeal(BaseModel):
    deal_id: str
    vendor_id: str
    deal_type: Literal["off_invoice", "bill_back", "scan_based", "rebate"]
    items: list[str]
    funding_per_unit: Decimal = Field(ge=0)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    status: str = "ACTIVE"
    max_amount: Decimal | None = None


STORE_COLUMNS = "__columns__"
"""How `PlanFacts.stores` is serialized: {STORE_COLUMNS: {field: [value per store]}}."""


def _column(values: list[Any]) -> list[Any] | dict[str, list[Any]]:
    """A column of store facts, dictionary-encoded when its values repeat (regions,
    formats, zones and store-time windows take a handful of values over thousands of
    stores): {"values": [distinct...], "index": [position per store]}."""
    distinct: dict[Any, int] = {}
    index = [distinct.setdefault(v, len(distinct)) for v in values]
    if len(distinct) * 2 > len(values):
        return values
    return {"values": list(distinct), "index": index}


def _uncolumn(column: Any) -> list[Any]:
    if isinstance(column, dict):
        values = column["values"]
        return [values[i] for i in column["index"]]
    return list(column)


class PlanFacts(BaseModel):
    """What the ERP said about a plan: read once by an activity, judged here."""

    items: dict[str, ItemFacts]
    stores: dict[str, StoreFacts]
    """Serialized as columns (`STORE_COLUMNS`: one list per field), so the facts of a
    5,000-store plan cross history once well under the 512 KiB payload limit; the mapping
    by store id (facts recorded before) is read too."""
    unknown_stores: list[str] = Field(default_factory=list)
    unknown_groups: list[str] = Field(default_factory=list)
    store_ids: list[str] = Field(default_factory=list)
    """The plan's stores: its stores and the members of its store groups, resolved once."""
    group_members: dict[str, list[str]] = Field(default_factory=dict)
    """Every store group the plan or its group offers name, with its member stores among
    the plan's (recorded as the ERP resolved them)."""
    price_zones: list[str] = Field(default_factory=list)
    """Every price zone the ERP defines."""
    other_promotions: list[ExistingPromotion] = Field(default_factory=list)
    deal: VendorDeal | None = None
    deal_missing: bool = False

    @field_serializer("stores")
    def _stores_as_columns(self, stores: dict[str, StoreFacts]) -> dict[str, Any]:
        fields = list(StoreFacts.model_fields)
        rows = [st.model_dump(mode="json") for st in stores.values()]
        return {STORE_COLUMNS: {name: _column([row[name] for row in rows]) for name in fields}}

    @field_validator("stores", mode="before")
    @classmethod
    def _stores_from_columns(cls, value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {STORE_COLUMNS}:
            columns = {name: _uncolumn(col) for name, col in value[STORE_COLUMNS].items()}
            rows = [
                dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)
            ]
            return {row["store_id"]: row for row in rows}
        return value


class PlanMetrics(BaseModel):
    discount_depth_pct: Decimal
    margin_impact: Decimal
    vendor_funding: Decimal
    unfunded_cost: Decimal
    store_count: int
    planned_units: int
    planned_revenue: Decimal
    planned_margin: Decimal
