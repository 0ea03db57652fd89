"""Store groups, price zones and the one-price rule of a plan.

A store belongs to one region, one format and one price zone (ERP store master); named
store groups are lists of stores defined in the ERP. A plan names stores, groups or both
(`PromotionPlan.stores`, `store_groups`); an item may carry group offers aimed at some of
those groups (`PlanItem.group_offers`) and prices per zone (`zone_prices`).

**One price per store and item.** Every offer line that reaches a store is a candidate:
the item's own line (its offer or zone price, or the plan's offer) and each of its group
offers whose groups or stores take the store in. :func:`choose_line` picks one:

1. the line of the highest ``priority``;
2. among those, the lowest promoted price at that store (the deepest discount);
3. among those, the line listed first (the item's own line, then its group offers in
   order).

A line's price at a store: its zone price for the store's price zone when it names one,
else its offer applied to the zone's shelf price (the ERP's shelf price per zone; the
item's regular price when the zone has none of its own).

Pure and deterministic: the look-up activity resolves the groups against the ERP masters
(`resolve_targets`, recorded in the workflow history); the workflow computes the price
sets (`price_sets`) from those recorded facts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import BaseModel, Field

from domain.money import cents
from domain.promotion.plan import (
    GroupOffer,
    ItemFacts,
    Offer,
    PlanFacts,
    PlanItem,
    PromotionPlan,
    StoreFacts,
    in_store_group,
)
from domain.publication.prices import PriceLine

NAMED = "group"
"""`group:<id>`: a named store group, a list of stores defined in the ERP."""
ATTRIBUTES = ("region", "format", "zone", "class", "dc")
"""`<attribute>:<value>`: the stores whose master has that region, format, price zone,
class or distribution centre."""


def group_members(
    group: str, stores: Sequence[StoreFacts], named: Mapping[str, Sequence[str]]
) -> list[str] | None:
    """The stores of a group (in the stores' order), or None when the group is unknown: a
    named group the ERP does not define, an unknown kind, or an attribute no store has.

    A bare name is a named group when the ERP defines one, else a region (as before)."""
    kind, sep, value = group.partition(":")
    if sep and kind == NAMED:
        listed = named.get(value)
        if listed is None:
            return None
        wanted = set(listed)
        return [s.store_id for s in stores if s.store_id in wanted]
    if not sep and group != "all" and group in named:
        wanted = set(named[group])
        return [s.store_id for s in stores if s.store_id in wanted]
    if sep and kind not in ATTRIBUTES:
        return None
    members = [
        s.store_id
        for s in stores
        if in_store_group(
            group,
            region=s.region,
            store_class=s.store_class,
            dc_id=s.dc_id,
            store_format=s.format,
            price_zone=s.price_zone,
        )
    ]
    return members or None


class Targets(BaseModel):
    """A plan's stores as the ERP resolves them (recorded in `PlanFacts`)."""

    store_ids: list[str] = Field(default_factory=list)
    unknown_stores: list[str] = Field(default_factory=list)
    unknown_groups: list[str] = Field(default_factory=list)
    group_members: dict[str, list[str]] = Field(default_factory=dict)


def line_groups(plan: PromotionPlan) -> list[str]:
    """Store groups named by the plan's group offers, first-seen order."""
    seen: dict[str, None] = {}
    for item in plan.items:
        for offer in item.group_offers:
            for group in offer.store_groups:
                seen.setdefault(group, None)
    return list(seen)


def resolve_targets(
    plan: PromotionPlan, stores: Sequence[StoreFacts], named: Mapping[str, Sequence[str]]
) -> Targets:
    """The plan's stores: its stores (in order), then the members of its groups (in group
    order), each once; unknown stores and groups named. Groups of group offers resolve
    among the plan's stores (a group offer never adds a store to the event)."""
    known = {s.store_id for s in stores}
    chosen: dict[str, None] = {}
    unknown_stores = [s for s in plan.stores if s not in known]
    for s in plan.stores:
        if s in known:
            chosen.setdefault(s, None)
    unknown_groups: list[str] = []
    members: dict[str, list[str]] = {}
    for group in plan.store_groups:
        found = group_members(group, stores, named)
        if found is None:
            unknown_groups.append(group)
            continue
        members[group] = found
        for m in found:
            chosen.setdefault(m, None)
    in_plan = set(chosen)
    for group in line_groups(plan):
        if group in members or group in unknown_groups:
            continue
        found = group_members(group, stores, named)
        if found is None:
            unknown_groups.append(group)
            continue
        members[group] = [m for m in found if m in in_plan]
    return Targets(
        store_ids=list(chosen),
        unknown_stores=unknown_stores,
        unknown_groups=unknown_groups,
        group_members=members,
    )


# -- the one-price rule --------------------------------------------------------------------


@dataclass(frozen=True)
class PricedLine:
    """A candidate offer line at one store: where it comes from and the price it gives."""

    source: str
    """`items.<n>` (the item's own line) or `items.<n>.group_offers.<m>`."""
    order: int
    """Listing order: 0 for the item's own line, 1 + m for its group offer m."""
    priority: int
    price: Decimal
    offer: str
    """The offer in words ("20% off", "now 2.99 in zone Z1")."""


def choose_line(candidates: Sequence[PricedLine]) -> PricedLine:
    """THE rule for a store several lines reach: the highest priority, then the lowest
    price (the deepest discount), then the line listed first."""
    if not candidates:
        raise ValueError("no offer line reaches this store")
    return min(candidates, key=lambda c: (-c.priority, c.price, c.order))


def line_price(
    offer: Offer, zone_prices: Mapping[str, Decimal], zone: str, shelf: Decimal
) -> tuple[Decimal, str]:
    """A line's promoted price at a store of `zone` whose shelf price is `shelf`."""
    if zone in zone_prices:
        price = cents(zone_prices[zone])
        return price, f"now {price} in zone {zone}"
    return offer.unit_price(shelf), offer.words()


def candidates(
    plan: PromotionPlan, index: int, item: PlanItem, zone: str, shelf: Decimal, reached: set[int]
) -> list[PricedLine]:
    """The lines of item `index` at a store of `zone`: its own, then each group offer in
    `reached` (the indices of the group offers whose groups take the store in)."""
    own = item.offer or plan.offer
    price, words = line_price(own, item.zone_prices, zone, shelf)
    lines = [PricedLine(f"items.{index}", 0, item.priority, price, words)]
    for m, go in enumerate(item.group_offers):
        if m not in reached:
            continue
        price, words = line_price(go.offer or own, go.zone_prices, zone, shelf)
        lines.append(
            PricedLine(f"items.{index}.group_offers.{m}", 1 + m, go.priority, price, words)
        )
    return lines


class PriceSet(BaseModel):
    """Stores that get the same prices: one POS publication each (per store window)."""

    label: str
    """`zone Z1`, plus the group offers that price some of its items."""
    zone: str
    stores: list[str]
    lines: list[PriceLine]

    def summary(self) -> str:
        return f"{self.label}: {len(self.stores)} store(s), {len(self.lines)} price(s)"


def offer_members(go: GroupOffer, facts: PlanFacts, in_plan: set[str]) -> set[str]:
    """The plan's stores a group offer reaches."""
    reached = {s for s in go.stores if s in in_plan}
    for group in go.store_groups:
        reached.update(facts.group_members.get(group, []))
    return reached


@dataclass
class Pricing:
    """The price sets of a plan and the prices the rule could not give, in words."""

    sets: list[PriceSet] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


def price_sets(plan: PromotionPlan, facts: PlanFacts) -> Pricing:
    """Every store's price of every known item by the one-price rule, grouped into sets of
    stores with the same prices (first-seen order). A price at or below zero, or above the
    zone's shelf price, is a problem (the item is left out of that set).

    Stores are grouped first by signature (price zone, group offers reaching the store), and
    each (zone, item, reaching offers) is priced once."""
    in_plan = set(facts.store_ids)
    reached_by: dict[str, list[tuple[int, int]]] = {}
    for i, item in enumerate(plan.items):
        for m, go in enumerate(item.group_offers):
            for store_id in sorted(offer_members(go, facts, in_plan)):
                reached_by.setdefault(store_id, []).append((i, m))
    by_signature: dict[tuple[str, frozenset[tuple[int, int]]], list[str]] = {}
    for store_id in facts.store_ids:
        store = facts.stores.get(store_id)
        zone = store.price_zone if store is not None else ""
        signature = (zone, frozenset(reached_by.get(store_id, ())))
        by_signature.setdefault(signature, []).append(store_id)
    pricing = Pricing()
    pricer = _Pricer(plan, facts.items, pricing)
    merged: dict[tuple[tuple[str, Decimal, Decimal, str], ...], PriceSet] = {}
    for (zone, reached_keys), stores in by_signature.items():
        lines, used = pricer.lines(zone, reached_keys)
        key = tuple((x.item_id, x.regular_price, x.promo_price, x.offer) for x in lines)
        if key in merged:
            merged[key].stores.extend(stores)
            continue
        label = f"zone {zone}" if zone else "no price zone"
        if used:
            label += f" with {len(used)} group offer(s) ({', '.join(used[:3])}" + (
                ", ...)" if len(used) > 3 else ")"
            )
        merged[key] = PriceSet(label=label, zone=zone, stores=list(stores), lines=lines)
    pricing.sets = list(merged.values())
    return pricing


@dataclass
class _Pricer:
    """Prices each (zone, item, group offers reaching it) once for `price_sets`."""

    plan: PromotionPlan
    items: Mapping[str, ItemFacts]
    pricing: Pricing
    seen: set[tuple[str, str]] = field(default_factory=set)
    cache: dict[tuple[str, int, frozenset[int]], tuple[PriceLine | None, str | None]] = field(
        default_factory=dict
    )

    def lines(
        self, zone: str, reached_keys: Iterable[tuple[int, int]]
    ) -> tuple[list[PriceLine], list[str]]:
        """The lines of a zone's stores that the group offers `reached_keys` reach, and the
        group offers that priced some item."""
        reached: dict[int, set[int]] = {}
        for i, m in reached_keys:
            reached.setdefault(i, set()).add(m)
        lines: list[PriceLine] = []
        used: list[str] = []
        for index, item in enumerate(self.plan.items):
            key = (zone, index, frozenset(reached.get(index, ())))
            if key not in self.cache:
                self.cache[key] = self._line(zone, index, item, set(key[2]))
            line, source = self.cache[key]
            if line is not None:
                lines.append(line)
            if source is not None:
                used.append(source)
        return lines, used

    def _line(
        self, zone: str, index: int, item: PlanItem, reached: set[int]
    ) -> tuple[PriceLine | None, str | None]:
        known = self.items.get(item.item_id)
        if known is None:
            return None, None
        shelf = known.shelf_price(zone)
        chosen = choose_line(candidates(self.plan, index, item, zone, shelf, reached))
        source = chosen.source if chosen.order > 0 else None
        where = f" in zone {zone}" if zone else ""
        problem = None
        if chosen.price <= 0:
            problem = f"item {item.item_id}{where}: the offer brings the price to {chosen.price}"
        elif chosen.price > shelf:
            problem = (
                f"item {item.item_id}{where}: the promoted price {chosen.price} is above the "
                f"shelf price {shelf}"
            )
        if problem is not None:
            # the item's own line at the chain's regular price is judged by price_problems
            same_as_reference = chosen.order == 0 and shelf == known.regular_price
            entry = (chosen.source, problem)
            if not same_as_reference and entry not in self.seen:
                self.seen.add(entry)
                self.pricing.problems.append(entry)
            return None, source
        line = PriceLine(
            item_id=item.item_id,
            regular_price=cents(shelf),
            promo_price=chosen.price,
            offer=chosen.offer,
        )
        return line, source


def prices_of(sets: Sequence[PriceSet], store_id: str) -> list[PriceLine] | None:
    """The lines of a store's price set (None: the store is in no set)."""
    for s in sets:
        if store_id in s.stores:
            return s.lines
    return None


def store_weighted_lines(
    sets: Sequence[PriceSet], store_ids: Sequence[str], fallback: Sequence[PriceLine]
) -> list[PriceLine]:
    """Each item's regular and promoted price averaged over `store_ids` (each store
    weighing as its price set says), for figures kept per item (KPIs on units sold per
    item); `fallback` (the chain's lines) when no store is in a set."""
    wanted = set(store_ids)
    weights = [(ps, sum(1 for s in ps.stores if s in wanted)) for ps in sets]
    weights = [(ps, n) for ps, n in weights if n]
    if not weights:
        return list(fallback)
    total: dict[str, list[Decimal]] = {}
    count: dict[str, int] = {}
    offer: dict[str, str] = {}
    for ps, n in weights:
        for line in ps.lines:
            sums = total.setdefault(line.item_id, [Decimal(0), Decimal(0)])
            sums[0] += line.regular_price * n
            sums[1] += line.promo_price * n
            count[line.item_id] = count.get(line.item_id, 0) + n
            offer.setdefault(line.item_id, line.offer)
    order = [line.item_id for line in fallback] + list(total)
    out = []
    for item_id in dict.fromkeys(order):
        if item_id not in total:
            continue
        regular, promo = (cents(v / count[item_id]) for v in total[item_id])
        out.append(
            PriceLine(
                item_id=item_id,
                regular_price=regular,
                promo_price=min(promo, regular),
                offer=offer[item_id],
            )
        )
    return out
