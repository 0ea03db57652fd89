"""The reference estate: distribution centres, stores, items, vendors, deals, customers.

Deterministic: :func:`generate_estate` with the same arguments always returns the same
document. Dates are stored as day offsets from the moment the backoffice is seeded
("``ordered_days_ago``", "``valid_from_days``"), so the estate never goes stale: a deal
that is valid now stays valid whenever the backoffice is first started.

``examples/estate/estate.json`` is this document for the default estate (40 stores);
``examples/estate/generate.py --stores 5000`` writes bigger ones for benchmarks.
Stock positions and sales history are derived from the document on load (functions
below), so the file stays small.
"""

from __future__ import annotations

import hashlib
import random
from decimal import Decimal
from typing import Any

DEFAULT_SEED = 20260512
ESTATE_VERSION = 1

REGIONS: tuple[tuple[str, str, float, float], ...] = (
    # region, time zone, latitude, longitude of its DC
    ("east", "America/New_York", 40.2, -75.1),
    ("central", "America/Chicago", 41.8, -88.0),
    ("west", "America/Los_Angeles", 34.1, -117.9),
)

CATEGORIES: tuple[tuple[str, float, float], ...] = (
    # category, cost low, cost high
    ("apparel", 4.0, 40.0),
    ("footwear", 12.0, 60.0),
    ("home", 3.0, 80.0),
    ("grocery", 0.5, 8.0),
    ("electronics", 15.0, 220.0),
    ("beauty", 2.0, 25.0),
    ("toys", 3.0, 45.0),
    ("seasonal", 2.0, 30.0),
)

PRICE_ZONES: tuple[tuple[str, str, str], ...] = (
    # zone, name, shelf price against the item's regular price (percent)
    ("Z1", "Metro", "8"),
    ("Z2", "Standard", "0"),
    ("Z3", "Value", "-6"),
)
"""Every store is in one price zone; its shelf prices are the zone's (`zone_shelf_price`)."""
FORMATS = ("hypermarket", "supermarket", "express")

DEAL_TYPES = ("off_invoice", "bill_back", "scan_based", "rebate")
TENDER_TYPES = ("card", "gift_card", "store_credit", "cash")
CITY_NAMES = (
    "Riverside",
    "Lakeview",
    "Fairfield",
    "Greenville",
    "Springdale",
    "Franklin",
    "Clinton",
    "Madison",
    "Georgetown",
    "Salem",
    "Ashland",
    "Burlington",
    "Chester",
    "Dayton",
    "Dover",
    "Hudson",
    "Kingston",
    "Milford",
    "Newport",
    "Oxford",
)


def _money(value: float) -> str:
    return str(Decimal(str(value)).quantize(Decimal("0.01")))


def _price_from_cost(cost: Decimal, rng: random.Random) -> Decimal:
    raw = cost * Decimal(str(round(rng.uniform(1.45, 2.3), 2)))
    whole = raw.quantize(Decimal("1"))
    return max(whole - Decimal("0.01"), cost + Decimal("0.50")).quantize(Decimal("0.01"))


def zone_shelf_price(regular: Decimal, cost: Decimal, markup_pct: Decimal) -> Decimal:
    """An item's shelf price in a zone: its regular price moved by the zone's percent,
    ending in .99 like the regular prices, never below cost + 0.50 (0 %: the regular)."""
    if markup_pct == 0:
        return regular
    raw = regular * (1 + markup_pct / 100)
    whole = raw.quantize(Decimal("1"))
    return max(whole - Decimal("0.01"), cost + Decimal("0.50")).quantize(Decimal("0.01"))


def store_format(n: int, store_class: str) -> str:
    """Class A stores are hypermarkets, every fourth other store an express, the rest
    supermarkets."""
    if store_class == "A":
        return "hypermarket"
    return "express" if n % 4 == 0 else "supermarket"


def generate_estate(
    *, stores: int = 40, items: int = 200, customers: int = 60, seed: int = DEFAULT_SEED
) -> dict[str, Any]:
    """The estate as a JSON-ready document (see the module doc)."""
    if stores < 1 or items < 10 or customers < 1:
        raise ValueError("an estate needs at least 1 store, 10 items and 1 customer")
    rng = random.Random(seed)
    dcs = [
        {
            "dc_id": f"DC-{region.upper()}",
            "name": f"{region.title()} distribution centre",
            "region": region,
            "timezone": tz,
            "latitude": lat,
            "longitude": lon,
            "daily_capacity_units": 40_000,
        }
        for region, tz, lat, lon in REGIONS
    ]
    store_rows = []
    width = max(3, len(str(stores)))
    for n in range(1, stores + 1):
        region, tz, lat, lon = REGIONS[(n - 1) % len(REGIONS)]
        store_class = "A" if n % 5 == 1 else ("C" if n % 3 == 0 else "B")
        city = CITY_NAMES[(n * 7) % len(CITY_NAMES)]
        store_rows.append(
            {
                "store_id": f"S{n:0{width}d}",
                "name": f"{city} {region.title()} #{n}",
                "region": region,
                "timezone": tz,
                "store_class": store_class,
                "dc_id": f"DC-{region.upper()}",
                "latitude": round(lat + rng.uniform(-2.5, 2.5), 4),
                "longitude": round(lon + rng.uniform(-3.0, 3.0), 4),
                # three stores in a row span the three regions; each triple is one zone,
                # so every region has stores in every zone
                "format": store_format(n, store_class),
                "price_zone": PRICE_ZONES[((n - 1) // 3) % len(PRICE_ZONES)][0],
            }
        )
    store_groups = [
        {
            "group_id": "flagships",
            "name": "Flagship stores",
            "store_ids": [st["store_id"] for st in store_rows if st["store_class"] == "A"],
        },
        {
            "group_id": "pilot",
            "name": "Pilot stores for new offers",
            "store_ids": [store_rows[n - 1]["store_id"] for n in (2, 3, 5, 8) if n <= stores],
        },
    ]
    store_groups = [g for g in store_groups if g["store_ids"]]
    vendors = [
        {"vendor_id": f"V{n:02d}", "name": f"Vendor {n:02d} Supply Co"} for n in range(1, 13)
    ]
    item_rows = []
    for n in range(1, items + 1):
        category, low, high = CATEGORIES[(n - 1) % len(CATEGORIES)]
        cost = Decimal(_money(rng.uniform(low, high)))
        price = _price_from_cost(cost, rng)
        item_rows.append(
            {
                "item_id": f"I{n:04d}",
                "name": f"{category.title()} item {n:04d}",
                "category": category,
                "vendor_id": vendors[(n * 5) % len(vendors)]["vendor_id"],
                "cost": str(cost),
                "regular_price": str(price),
                "pack_size": rng.choice((1, 1, 2, 4, 6, 12)),
                "final_sale": category == "seasonal" and n % 4 == 0,
            }
        )
    deals = []
    for n in range(1, 25):
        vendor = vendors[(n - 1) % len(vendors)]["vendor_id"]
        vendor_items = [i["item_id"] for i in item_rows if i["vendor_id"] == vendor]
        chosen = sorted(rng.sample(vendor_items, k=min(len(vendor_items), rng.randint(3, 8))))
        deal_type = DEAL_TYPES[(n - 1) % len(DEAL_TYPES)]
        expired = n % 8 == 0
        future = n % 11 == 0
        valid_from = -60 if not future else 45
        valid_to = -5 if expired else (120 if not future else 200)
        capped = n % 3 != 0
        deals.append(
            {
                "deal_id": f"D{n:03d}",
                "vendor_id": vendor,
                "deal_type": deal_type,
                "item_ids": chosen,
                "funding_per_unit": _money(rng.uniform(0.25, 4.0)),
                "valid_from_days": valid_from,
                "valid_to_days": valid_to,
                "cap_units": rng.choice((2000, 5000, 20000)) if capped else None,
                "cap_amount": _money(rng.choice((2500, 10000, 40000))) if capped else None,
            }
        )
    customer_rows = []
    orders = []
    order_no = 0
    for n in range(1, customers + 1):
        heavy = n % 10 == 0
        customer_rows.append(
            {
                "customer_id": f"C{n:04d}",
                "name": f"Customer {n:04d}",
                "email": f"customer{n:04d}@example.com",
                "prior_returns": rng.randint(6, 14) if heavy else rng.randint(0, 2),
                "prior_returned_value": _money(
                    rng.uniform(600, 2400) if heavy else rng.uniform(0, 120)
                ),
            }
        )
        for _ in range(rng.randint(1, 4)):
            order_no += 1
            store = store_rows[rng.randrange(len(store_rows))]
            lines: list[dict[str, Any]] = []
            for line_no in range(1, rng.randint(1, 4) + 1):
                item = item_rows[rng.randrange(len(item_rows))]
                lines.append(
                    {
                        "line_no": line_no,
                        "item_id": item["item_id"],
                        "quantity": rng.randint(1, 3),
                        "unit_price": item["regular_price"],
                        "final_sale": bool(item["final_sale"])
                        or (order_no % 17 == 0 and line_no == 1),
                    }
                )
            total = sum(
                (Decimal(str(line["unit_price"])) * int(line["quantity"]) for line in lines),
                Decimal("0"),
            )
            tenders = _split_tenders(total, rng, order_no)
            orders.append(
                {
                    "order_id": f"O{order_no:05d}",
                    "receipt_id": f"R{order_no:05d}",
                    "customer_id": f"C{n:04d}",
                    "store_id": store["store_id"],
                    "ordered_days_ago": rng.choice((1, 3, 7, 12, 20, 28, 35, 45, 60, 95)),
                    "lines": lines,
                    "tenders": tenders,
                    "total": str(total),
                }
            )
    return {
        "version": ESTATE_VERSION,
        "seed": seed,
        "dcs": dcs,
        "stores": store_rows,
        "price_zones": [
            {"zone_id": zone, "name": name, "markup_pct": pct} for zone, name, pct in PRICE_ZONES
        ],
        "store_groups": store_groups,
        "vendors": vendors,
        "items": item_rows,
        "deals": deals,
        "customers": customer_rows,
        "orders": orders,
    }


def _split_tenders(total: Decimal, rng: random.Random, order_no: int) -> list[dict[str, Any]]:
    """One to three tenders summing exactly to ``total``; some cards are closed."""
    count = 1 if total < Decimal("20") else rng.choice((1, 2, 2, 3))
    kinds = ["card", *rng.sample(["gift_card", "store_credit", "cash"], k=count - 1)]
    remaining = total
    tenders = []
    for index, kind in enumerate(kinds):
        if index == len(kinds) - 1:
            amount = remaining
        else:
            share = Decimal(str(round(rng.uniform(0.2, 0.5), 2)))
            amount = (total * share).quantize(Decimal("0.01"))
        remaining -= amount
        tender: dict[str, Any] = {
            "tender_id": f"T{order_no:05d}-{index + 1}",
            "tender_type": kind,
            "amount": str(amount),
        }
        if kind == "card":
            tender["last4"] = f"{rng.randint(0, 9999):04d}"
            tender["closed"] = order_no % 13 == 0
        tenders.append(tender)
    return tenders


# -- derived figures (deterministic functions, not stored in the file) ---------------------


def _unit(*parts: object) -> float:
    """A stable number in [0, 1) from the parts (no global random state)."""
    digest = hashlib.blake2b("|".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


CLASS_VOLUME = {"A": 1.6, "B": 1.0, "C": 0.6}


def store_assortment(store: dict[str, Any], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items a store carries: class A all, B about 80 %, C about 60 %."""
    share = {"A": 1.0, "B": 0.8, "C": 0.6}.get(store["store_class"], 0.8)
    return [i for i in items if _unit("assort", store["store_id"], i["item_id"]) < share]


def baseline_daily_units(store_id: str, store_class: str, item_id: str, day: str) -> float:
    """Expected units an item sells in a store on a day (regular price)."""
    base = 0.5 + 5.0 * _unit("rate", store_id, item_id)
    wiggle = 0.7 + 0.6 * _unit("day", store_id, item_id, day)
    return base * wiggle * CLASS_VOLUME.get(store_class, 1.0)


def initial_position(
    location_id: str, item_id: str, *, is_dc: bool, store_class: str = "B"
) -> dict[str, int]:
    """Seeded on hand / in transit / safety stock for one location and item."""
    u = _unit("stock", location_id, item_id)
    if is_dc:
        return {
            "on_hand": 400 + int(u * 2400),
            "in_transit": int(_unit("transit", location_id, item_id) * 200),
            "safety_stock": 200,
        }
    volume = CLASS_VOLUME.get(store_class, 1.0)
    safety = max(2, int(6 * volume))
    # about one store-item in eight is short (below safety stock): work for rebalancing
    short = _unit("short", location_id, item_id) < 0.125
    on_hand = int(u * safety) if short else safety + int(u * 40 * volume)
    in_transit = 0 if _unit("it", location_id, item_id) < 0.8 else int(u * 12)
    return {"on_hand": on_hand, "in_transit": in_transit, "safety_stock": safety}
