"""A backoffice database created before store groups and price zones keeps working: the
columns added since are added on start with their defaults (`backoffice.db.ADDED_COLUMNS`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlmodel import select

from backoffice.db import Database, PromotionRow, StoreGroupRow, StoreRow


def test_an_older_database_gets_the_new_columns_and_tables(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE store (store_id VARCHAR PRIMARY KEY, name VARCHAR, region VARCHAR, "
        "timezone VARCHAR, store_class VARCHAR, dc_id VARCHAR, latitude FLOAT, longitude FLOAT)"
    )
    con.execute("INSERT INTO store VALUES ('S1', 'Old', 'east', 'UTC', 'B', 'DC-EAST', 0, 0)")
    con.commit()
    con.close()
    db = Database(f"sqlite:///{path}")
    db.create_all()
    db.create_all()  # a second start adds nothing twice
    with db.read() as s:
        [store] = s.exec(select(StoreRow)).all()
        assert (store.format, store.price_zone) == ("supermarket", "Z2")
        assert s.exec(select(StoreGroupRow)).all() == []
        assert s.exec(select(PromotionRow)).all() == []
    db.dispose()


def test_an_estate_without_price_zones_prices_its_stores_at_the_standard_zone(
    tmp_path: Path,
) -> None:
    """An estate document written before zones (or by a tool that knows none) still seeds a
    backoffice whose stores' zone resolves: the look-up of a launch must not fail on it."""
    import json

    from fastapi.testclient import TestClient

    from backoffice.app import create_app
    from backoffice.config import BackofficeConfig
    from backoffice.seed import load_estate_document

    doc = load_estate_document(Path("examples/estate/estate.json"))
    doc.pop("price_zones")
    doc.pop("store_groups")
    for store in doc["stores"]:
        store.pop("price_zone")
    estate = tmp_path / "estate.json"
    estate.write_text(json.dumps(doc))
    item = doc["items"][0]
    config = BackofficeConfig(
        database_url=f"sqlite:///{tmp_path / 'bo.db'}", estate_path=str(estate)
    )
    with TestClient(create_app(config)) as http:
        zones = http.get("/erp/price-zones").json()
        assert [(z["zone_id"], z["store_count"]) for z in zones] == [("Z2", len(doc["stores"]))]
        [price] = http.get(
            "/erp/zone-prices", params={"item_ids": item["item_id"], "zones": "Z2"}
        ).json()
        assert price["shelf_price"] == item["regular_price"]
