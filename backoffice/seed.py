"""Load the estate into an empty database (first start only)."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from backoffice.db import (
    CustomerRow,
    Database,
    DcRow,
    DealRow,
    ItemRow,
    Meta,
    OrderRow,
    PositionRow,
    PriceZoneRow,
    StoreGroupRow,
    StoreRow,
    TenderRow,
    VendorRow,
    ZonePriceRow,
    utcnow,
)
from backoffice.estate import (
    generate_estate,
    initial_position,
    store_assortment,
    zone_shelf_price,
)

log = logging.getLogger("backoffice.seed")


def load_estate_document(path: str | Path) -> dict[str, Any]:
    """The estate file, or the default generated estate when the file does not exist."""
    file = Path(path)
    if file.exists():
        data: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
        return data
    log.warning("estate file %s not found: generating the default estate", file)
    return generate_estate()


def seeded_at(db: Database) -> datetime | None:
    with db.read() as s:
        row = s.get(Meta, "seeded_at")
        return datetime.fromisoformat(row.value) if row else None


def seed_if_empty(db: Database, estate_path: str | Path) -> datetime:
    """Seed once; later starts keep the state (and return the first seeding time)."""
    db.create_all()
    existing = seeded_at(db)
    if existing is not None:
        return existing
    doc = load_estate_document(estate_path)
    now = utcnow().replace(microsecond=0)
    with db.write() as s:
        if s.get(Meta, "seeded_at") is not None:  # another process got there first
            return seeded_at(db) or now
        _load(s, doc, now)
        s.add(Meta(key="seeded_at", value=now.isoformat()))
        s.add(Meta(key="estate_seed", value=str(doc.get("seed"))))
        s.commit()
    return now


STANDARD_ZONE = {"zone_id": "Z2", "name": "Standard", "markup_pct": "0"}
"""The zone a store without one is in (the `StoreRow.price_zone` default)."""


def _load_zones_and_groups(s: Session, doc: dict[str, Any], now: datetime) -> None:
    """Price zones with their shelf prices (derived: only where they differ from the
    regular price) and named store groups. An estate written before zones (or by a tool
    that does not speak of them) gets the standard zone its stores default to, at the
    regular price, so its stores' look-ups resolve."""
    zones = doc.get("price_zones") or [STANDARD_ZONE]
    _bulk(s, PriceZoneRow, [{"zone_id": z["zone_id"], "name": z["name"]} for z in zones])
    prices = []
    for z in zones:
        pct = Decimal(z["markup_pct"])
        for i in doc["items"]:
            regular = Decimal(i["regular_price"])
            shelf = zone_shelf_price(regular, Decimal(i["cost"]), pct)
            if shelf != regular:
                prices.append(
                    {
                        "zone_id": z["zone_id"],
                        "item_id": i["item_id"],
                        "shelf_price": shelf,
                        "updated_at": now,
                    }
                )
    _bulk(s, ZonePriceRow, prices)
    _bulk(
        s,
        StoreGroupRow,
        [{**g, "version": 1, "updated_at": now} for g in doc.get("store_groups", [])],
    )


def _bulk(s: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 5000):
        s.execute(insert(model), rows[start : start + 5000])


def _load(s: Session, doc: dict[str, Any], now: datetime) -> None:
    day = timedelta(days=1)
    _bulk(s, DcRow, doc["dcs"])
    _bulk(s, StoreRow, doc["stores"])
    _bulk(s, VendorRow, doc["vendors"])
    _bulk(
        s,
        ItemRow,
        [
            {**i, "cost": Decimal(i["cost"]), "regular_price": Decimal(i["regular_price"])}
            for i in doc["items"]
        ],
    )
    _load_zones_and_groups(s, doc, now)
    _bulk(
        s,
        DealRow,
        [
            {
                "deal_id": d["deal_id"],
                "vendor_id": d["vendor_id"],
                "deal_type": d["deal_type"],
                "item_ids": d["item_ids"],
                "funding_per_unit": Decimal(d["funding_per_unit"]),
                "valid_from": now + d["valid_from_days"] * day,
                "valid_to": now + d["valid_to_days"] * day,
                "cap_units": d.get("cap_units"),
                "cap_amount": Decimal(d["cap_amount"]) if d.get("cap_amount") else None,
                "accrued_amount": Decimal(0),
                "claimed_amount": Decimal(0),
                "claimed_units": 0,
            }
            for d in doc["deals"]
        ],
    )
    _bulk(
        s,
        CustomerRow,
        [
            {**c, "prior_returned_value": Decimal(c["prior_returned_value"])}
            for c in doc["customers"]
        ],
    )
    orders, tenders = [], []
    for o in doc["orders"]:
        orders.append(
            {
                "order_id": o["order_id"],
                "receipt_id": o["receipt_id"],
                "customer_id": o["customer_id"],
                "store_id": o["store_id"],
                "ordered_at": now - o["ordered_days_ago"] * day,
                "lines": o["lines"],
                "total": Decimal(o["total"]),
            }
        )
        for t in o["tenders"]:
            tenders.append(
                {
                    "tender_id": t["tender_id"],
                    "order_id": o["order_id"],
                    "tender_type": t["tender_type"],
                    "amount": Decimal(t["amount"]),
                    "refunded_amount": Decimal(0),
                    "last4": t.get("last4"),
                    "closed": bool(t.get("closed", False)),
                }
            )
    _bulk(s, OrderRow, orders)
    _bulk(s, TenderRow, tenders)
    positions = []
    for dc in doc["dcs"]:
        for item in doc["items"]:
            positions.append(
                {
                    "location_id": dc["dc_id"],
                    "item_id": item["item_id"],
                    "updated_at": now,
                    **initial_position(dc["dc_id"], item["item_id"], is_dc=True),
                }
            )
    for store in doc["stores"]:
        for item in store_assortment(store, doc["items"]):
            positions.append(
                {
                    "location_id": store["store_id"],
                    "item_id": item["item_id"],
                    "updated_at": now,
                    **initial_position(
                        store["store_id"],
                        item["item_id"],
                        is_dc=False,
                        store_class=store["store_class"],
                    ),
                }
            )
    _bulk(s, PositionRow, positions)
