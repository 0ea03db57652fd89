"""The simulated retailer: its estate and its promotion events, built from the prepared week.

What the data set gives (The Complete Journey, `datasets.completejourney`): stores,
products with department and manufacturer, which products each store promoted this week
(display and mailer placement) and what households bought. What it lacks is synthesized
here by stated, seeded rules (`unit(seed, ...)`, a hash of the seed and the names):

* cost = shelf price x (0.50 + 0.15 u): a grocery gross margin of 35 to 50 %;
* store class by sales rank (top third A, middle B, rest C), region round-robin; stock and
  assortment then follow the backoffice's own seeded estate rule (backoffice/estate.py:
  class A stores carry every item, B about 80 %, C about 60 %; one store-item in eight
  below safety stock; DCs hold 400 to 2,800 units);
* depth = the depth observed in the week (retail discount over shelf price) rounded to 5 %,
  else by placement (front/back page or wrap feature 30 %, other mailer 20 %, display
  15 %), kept between 10 % and 30 %; the offer type by u: percent off, amount off, fixed
  price, buy 2 get 1 (mix and match within a category) or spend 10 save 2; an offer below the
  margin floor falls back to the plan's percent off;
* forecast units per store = the week's units per store x (0.8 + 0.8 u), rounded (an item
  selling under half a unit a store is forecast at 0: no stock is held for it);
* vendor funding: one scan-based deal per national-brand manufacturer, 30 % of its items'
  average discount per unit, every fourth deal capped.

Events as a retailer builds them: each product goes to one event, the weekly ad (mailer)
when most of its stores mailed it, else the in-store display event, of its department
(departments with few items are pooled); events over `MAX_EVENT_ITEMS` are split.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from datasets.completejourney import PreparedWeek, Product
from datasets.tpcds import StoreReturn
from domain.money import cents
from domain.promotion.plan import Offer, OfferType, PlanItem, PromotionPlan
from domain.publication.contract import Channel

MAX_EVENT_ITEMS = 80
MIN_DEPARTMENT_ITEMS = 8
MIN_FUNDED_ITEMS = 5
PRIVATE_LABEL = "Private"
FEATURE_PAGES = {"D", "F", "H", "L", "Z"}
REGIONS = (("east", "America/New_York"), ("central", "America/Chicago"))
MARGIN_FLOOR = Decimal("1.06")
"""The planner keeps promoted prices at cost + 6 % (the policy's floor is 5 %)."""
SPEND = (Decimal("10.00"), Decimal("2.00"))


def unit(seed: int, *parts: object) -> float:
    """A stable number in [0, 1) from the seed and the parts (no global random state)."""
    text = "|".join(str(p) for p in (seed, *parts)).encode()
    digest = hashlib.blake2b(text, digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def store_id(cj_store: str) -> str:
    return f"CJ{cj_store}"


def item_id(product_id: str) -> str:
    return f"P{product_id}"


def cost_of(product: Product, seed: int) -> Decimal:
    shelf = Decimal(str(product.shelf_price))
    return max(
        cents(shelf * Decimal(str(0.50 + 0.15 * unit(seed, "cost", product.product_id)))),
        Decimal("0.01"),
    )


@dataclass
class EventItem:
    item_id: str
    product_id: str
    category: str
    shelf: Decimal
    cost: Decimal
    offer: Offer | None
    """None: the event's own offer (what a last-minute price change moves)."""
    forecast: int
    vendor_id: str


@dataclass
class Event:
    promotion_id: str
    name: str
    kind: str
    """'weekly ad' (mailer) or 'in-store display'."""
    department: str
    offer: Offer
    items: list[EventItem]
    stores: list[str]
    deal_id: str | None = None

    def plan(self, *, starts_at: datetime, ends_at: datetime, submitted_by: str) -> PromotionPlan:
        return PromotionPlan(
            promotion_id=self.promotion_id,
            name=self.name,
            offer=self.offer,
            items=[
                PlanItem(item_id=i.item_id, forecast_units_per_store=i.forecast, offer=i.offer)
                for i in self.items
            ],
            stores=self.stores,
            channels=[Channel.ERP, Channel.POS, Channel.ECOMMERCE],
            starts_at=starts_at,
            ends_at=ends_at,
            vendor_deal_id=self.deal_id,
            submitted_by=submitted_by,
            exclusive=True,
        )


@dataclass
class World:
    """The estate document (for the backoffice) and the week's events."""

    estate: dict[str, Any]
    events: list[Event]
    store_ids: list[str]
    item_of: dict[str, str]
    """product id -> item id."""
    returns: list[dict[str, Any]] = field(default_factory=list)
    """One entry per TPC-DS return: rma, order, store, customer, item, quantity, reason."""
    rules: list[str] = field(default_factory=list)


def _depth(product: Product, placements: list[tuple[str, str]]) -> Decimal:
    observed = Decimal(str(product.observed_depth))
    if observed >= Decimal("0.05"):
        raw = observed
    elif any(m in FEATURE_PAGES for _, m in placements):
        raw = Decimal("0.30")
    elif any(m != "0" for _, m in placements):
        raw = Decimal("0.20")
    else:
        raw = Decimal("0.15")
    stepped = (raw * 20).quantize(Decimal(1), rounding=ROUND_FLOOR) / 20
    return min(max(stepped, Decimal("0.10")), Decimal("0.30"))


def _offer(depth: Decimal, shelf: Decimal, u: float) -> Offer:
    pct = (depth * 100).quantize(Decimal(1))
    if u < 0.45:
        return Offer(type=OfferType.PERCENT_OFF, percent=pct)
    if u < 0.62:
        return Offer(type=OfferType.AMOUNT_OFF, amount=max(cents(shelf * depth), Decimal("0.01")))
    if u < 0.78:
        return Offer(
            type=OfferType.FIXED_PRICE, price=max(cents(shelf * (1 - depth)), Decimal("0.01"))
        )
    if u < 0.92:
        return Offer(type=OfferType.BUY_X_GET_Y, buy=2, get=1, mix_and_match=True)
    return Offer(type=OfferType.SPEND_THRESHOLD, threshold=SPEND[0], amount=SPEND[1])


def _within_floor(offer: Offer, shelf: Decimal, cost: Decimal) -> bool:
    return offer.unit_price(shelf) >= cents(cost * MARGIN_FLOOR)


def build_world(week: PreparedWeek, *, seed: int, returns: list[StoreReturn]) -> World:
    """The estate and the events of `week` (see the module doc for every rule)."""
    ranked = list(week.stores)
    third = max(1, len(ranked) // 3)
    stores: list[dict[str, Any]] = []
    for rank, cj in enumerate(ranked):
        region, tz = REGIONS[rank % len(REGIONS)]
        stores.append(
            {
                "store_id": store_id(cj),
                "name": f"Complete Journey store {cj}",
                "region": region,
                "timezone": tz,
                "store_class": "A" if rank < third else ("B" if rank < 2 * third else "C"),
                "dc_id": f"DC-{region.upper()}",
                "latitude": 40.0 + unit(seed, "lat", cj),
                "longitude": -80.0 - 8 * unit(seed, "lon", cj),
            }
        )
    dcs = [
        {
            "dc_id": f"DC-{region.upper()}",
            "name": f"{region.title()} distribution centre",
            "region": region,
            "timezone": tz,
            "latitude": 40.0,
            "longitude": -80.0,
            "daily_capacity_units": 40_000,
        }
        for region, tz in REGIONS
    ]
    products = week.products
    item_of = {p: item_id(p) for p in products}
    costs = {p: cost_of(prod, seed) for p, prod in products.items()}
    vendors = sorted({f"V{prod.manufacturer}" for prod in products.values()})
    items = [
        {
            "item_id": item_of[p],
            "name": f"{prod.brand} {prod.category.title()} {p}"[:120],
            "category": prod.department.lower(),
            "vendor_id": f"V{prod.manufacturer}",
            "cost": str(costs[p]),
            "regular_price": str(cents(Decimal(str(prod.shelf_price)))),
            "pack_size": 1,
            "final_sale": False,
        }
        for p, prod in sorted(products.items())
    ]
    by_product: dict[str, list[tuple[str, str]]] = defaultdict(list)
    stores_of: dict[str, set[str]] = defaultdict(set)
    for pl in week.placements:
        by_product[pl.product_id].append((pl.display, pl.mailer))
        stores_of[pl.product_id].add(store_id(pl.store_id))
    units: Counter[str] = Counter()
    for sale in week.sales:
        units[sale.product_id] += sale.quantity
    depth = {p: _depth(products[p], by_product.get(p, [])) for p in products}
    deals, deal_of = _deals(products, depth, seed)
    dept_count = Counter(prod.department for prod in products.values())
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for p, prod in sorted(products.items()):
        placed = by_product.get(p, [])
        mailed = sum(1 for _, m in placed if m != "0")
        kind = "weekly ad" if mailed * 2 >= max(len(placed), 1) else "in-store display"
        dept = prod.department if dept_count[prod.department] >= MIN_DEPARTMENT_ITEMS else "MORE"
        groups[(kind, dept)].append(p)
    events: list[Event] = []
    all_stores = [s["store_id"] for s in stores]
    for (kind, dept), members in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        members.sort(key=lambda p: (-units[p], p))
        for deal_id, chunk_members in _by_funding(members, deal_of):
            for part, start in enumerate(range(0, len(chunk_members), MAX_EVENT_ITEMS)):
                chunk = chunk_members[start : start + MAX_EVENT_ITEMS]
                events.append(
                    _event(
                        week,
                        kind,
                        dept,
                        part,
                        chunk,
                        products,
                        costs,
                        depth,
                        units,
                        stores_of,
                        all_stores,
                        deal_id,
                        seed,
                    )
                )
    estate = {
        "version": 1,
        "seed": seed,
        "dcs": dcs,
        "stores": stores,
        "vendors": [{"vendor_id": v, "name": f"Manufacturer {v[1:]}"} for v in vendors],
        "items": items,
        "deals": deals,
        "customers": [],
        "orders": [],
    }
    world = World(estate=estate, events=events, store_ids=all_stores, item_of=item_of)
    _add_returns(world, returns, seed)
    return world


def _by_funding(members: list[str], deal_of: dict[str, str]) -> list[tuple[str | None, list[str]]]:
    """A vendor's deal funds a whole plan (the ERP checks every item against it): a vendor
    with `MIN_FUNDED_ITEMS` or more items in the event gets its own funded event, the rest
    stay in one unfunded event."""
    counts = Counter(deal_of[p] for p in members if p in deal_of)
    funded = sorted(d for d, n in counts.items() if n >= MIN_FUNDED_ITEMS)
    out: list[tuple[str | None, list[str]]] = [
        (d, [p for p in members if deal_of.get(p) == d]) for d in funded
    ]
    rest = [p for p in members if deal_of.get(p) not in funded]
    if rest:
        out.append((None, rest))
    return out


def _deals(
    products: dict[str, Product], depth: dict[str, Decimal], seed: int
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    by_vendor: dict[str, list[str]] = defaultdict(list)
    for p, prod in products.items():
        if prod.brand != PRIVATE_LABEL:
            by_vendor[prod.manufacturer].append(p)
    deals: list[dict[str, Any]] = []
    deal_of: dict[str, str] = {}
    for n, (maker, members) in enumerate(sorted(by_vendor.items())):
        if len(members) < 2:
            continue
        total = sum((Decimal(str(products[p].shelf_price)) * depth[p] for p in members), Decimal(0))
        cut = total / len(members)
        deal_id = f"DL-{maker}"
        deals.append(
            {
                "deal_id": deal_id,
                "vendor_id": f"V{maker}",
                "deal_type": "scan_based",
                "item_ids": sorted(item_id(p) for p in members),
                "funding_per_unit": str(max(cents(cut * Decimal("0.3")), Decimal("0.05"))),
                "valid_from_days": -30,
                "valid_to_days": 60,
                "cap_units": None,
                "cap_amount": "5.00" if n % 4 == 3 else None,
            }
        )
        for p in members:
            deal_of[p] = deal_id
    return deals, deal_of


def _event(
    week: PreparedWeek,
    kind: str,
    dept: str,
    part: int,
    members: list[str],
    products: dict[str, Product],
    costs: dict[str, Decimal],
    depth: dict[str, Decimal],
    units: Counter[str],
    stores_of: dict[str, set[str]],
    all_stores: list[str],
    deal_id: str | None,
    seed: int,
) -> Event:
    modal = Counter(depth[p] for p in members).most_common(1)[0][0]
    plan_pct = min((modal * 100).quantize(Decimal(1)), Decimal(25))
    plan_offer = Offer(type=OfferType.PERCENT_OFF, percent=plan_pct)
    stores = sorted(set().union(*(stores_of[p] for p in members)) or set(all_stores))
    items = []
    categories = Counter(products[p].category for p in members)
    for p in members:
        prod = products[p]
        shelf = cents(Decimal(str(prod.shelf_price)))
        offer: Offer | None = _offer(depth[p], shelf, unit(seed, "offer", p))
        assert offer is not None
        if offer.type is OfferType.BUY_X_GET_Y and categories[prod.category] < 2:
            offer = Offer(type=OfferType.PERCENT_OFF, percent=(depth[p] * 100).quantize(Decimal(1)))
        if offer.type is OfferType.PERCENT_OFF and offer.percent == plan_pct:
            offer = None
        if not _within_floor(offer or plan_offer, shelf, costs[p]):
            offer = None
            if not _within_floor(plan_offer, shelf, costs[p]):
                offer = Offer(type=OfferType.PERCENT_OFF, percent=Decimal(10))
        per_store = units[p] / max(len(stores), 1)
        forecast = round(per_store * (0.8 + 0.8 * unit(seed, "forecast", p)))
        items.append(
            EventItem(
                item_id=item_id(p),
                product_id=p,
                category=prod.category,
                shelf=shelf,
                cost=costs[p],
                offer=offer,
                forecast=forecast,
                vendor_id=f"V{prod.manufacturer}",
            )
        )
    slug = "AD" if kind == "weekly ad" else "DSP"
    dept_slug = "".join(ch for ch in dept.upper() if ch.isalnum())[:12]
    suffix = (f"-{deal_id[3:]}" if deal_id else "") + (f"-{part + 1}" if part else "")
    funded_by = f", funded by {items[0].vendor_id}" if deal_id else ""
    return Event(
        promotion_id=f"W{week.week}-{slug}-{dept_slug}{suffix}",
        name=f"Week {week.week} {kind}: {dept.title()}{funded_by}"
        + (f" part {part + 1}" if part else ""),
        kind=kind,
        department=dept,
        offer=plan_offer,
        items=items,
        stores=stores,
        deal_id=deal_id,
    )


REASONS = ("unwanted", "damaged", "defective", "size", "not_as_described")


def _add_returns(world: World, returns: list[StoreReturn], seed: int) -> None:
    """TPC-DS returns as receipts of the estate: each sale becomes an order in one of the
    week's stores, of one of its items, paid with the tenders the return was refunded to
    (in the same shares); the customer's return history from the seed."""
    items = world.estate["items"]
    if not items:
        return
    for n, r in enumerate(returns, start=1):
        item = items[(r.item * 7 + n) % len(items)]
        store = world.store_ids[r.store % len(world.store_ids)]
        unit_price = cents(r.sale_amount / r.quantity) if r.quantity else r.sale_amount
        total = unit_price * r.quantity
        tenders = _tenders(total, r, n)
        customer = f"TC{r.customer}-{n}"
        heavy = unit(seed, "heavy", customer) < 0.1
        world.estate["customers"].append(
            {
                "customer_id": customer,
                "name": f"Customer {r.customer}",
                "email": f"c{r.customer}.{n}@example.com",
                "prior_returns": 8 if heavy else int(3 * unit(seed, "prior", customer)),
                "prior_returned_value": "900.00" if heavy else "20.00",
            }
        )
        order = f"TO{n:05d}"
        world.estate["orders"].append(
            {
                "order_id": order,
                "receipt_id": f"TR{n:05d}",
                "customer_id": customer,
                "store_id": store,
                "ordered_days_ago": max(1, r.days_since_sale),
                "lines": [
                    {
                        "line_no": 1,
                        "item_id": item["item_id"],
                        "quantity": r.quantity,
                        "unit_price": str(unit_price),
                        "final_sale": False,
                    }
                ],
                "tenders": tenders,
                "total": str(total),
            }
        )
        world.returns.append(
            {
                "rma_id": f"RMA-W-{n:04d}",
                "order_id": order,
                "store_id": store,
                "customer_id": customer,
                "customer_name": f"Customer {r.customer}",
                "email": f"c{r.customer}.{n}@example.com",
                "item_id": item["item_id"],
                "quantity": r.quantity,
                "reason": REASONS[int(unit(seed, "reason", n) * len(REASONS))],
                "tpcds_amount": str(r.return_amount),
                "tpcds_tenders": {k: str(v) for k, v in r.tenders.items()},
                "days_since_sale": r.days_since_sale,
            }
        )


def _tenders(total: Decimal, r: StoreReturn, n: int) -> list[dict[str, Any]]:
    split = r.tenders or {"card": r.return_amount}
    whole = sum(split.values(), Decimal(0))
    names = sorted(split)
    out, left = [], total
    for i, name in enumerate(names):
        amount = left if i == len(names) - 1 else cents(total * split[name] / whole)
        left -= amount
        tender: dict[str, Any] = {
            "tender_id": f"TT{n:05d}-{i + 1}",
            "tender_type": name,
            "amount": str(amount),
        }
        if name == "card":
            tender["last4"] = f"{(r.ticket * 31) % 10000:04d}"
            tender["closed"] = False
        out.append(tender)
    return out
