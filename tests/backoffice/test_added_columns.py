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
