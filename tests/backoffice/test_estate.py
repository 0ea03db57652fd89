"""The seed estate: deterministic, realistic, and the committed file matches the generator."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

from backoffice.estate import generate_estate, initial_position, store_assortment

ESTATE_FILE = Path(__file__).resolve().parents[2] / "examples" / "estate" / "estate.json"


def test_committed_estate_is_the_generated_one() -> None:
    assert json.loads(ESTATE_FILE.read_text()) == json.loads(json.dumps(generate_estate()))


def test_generator_is_deterministic_and_scales() -> None:
    assert generate_estate(stores=5) == generate_estate(stores=5)
    big = generate_estate(stores=3000, customers=5)
    assert len(big["stores"]) == 3000 and len({s["store_id"] for s in big["stores"]}) == 3000


def test_estate_shape() -> None:
    estate = generate_estate()
    assert len(estate["dcs"]) == 3 and len(estate["stores"]) == 40 and len(estate["items"]) == 200
    stores = estate["stores"]
    assert len({s["timezone"] for s in stores}) >= 2 and len({s["region"] for s in stores}) >= 2
    assert set(Counter(s["store_class"] for s in stores)) == {"A", "B", "C"}
    assert len({i["category"] for i in estate["items"]}) >= 5
    for item in estate["items"]:
        assert Decimal(item["regular_price"]) > Decimal(item["cost"]) > 0
    assert {d["deal_type"] for d in estate["deals"]} == {
        "off_invoice",
        "bill_back",
        "scan_based",
        "rebate",
    }
    assert any(d["valid_to_days"] < 0 for d in estate["deals"])  # some expired
    assert any(d["cap_amount"] for d in estate["deals"])


def test_orders_are_paid_exactly_by_split_tenders() -> None:
    estate = generate_estate()
    kinds: Counter[str] = Counter()
    for order in estate["orders"]:
        total = sum(Decimal(t["amount"]) for t in order["tenders"])
        assert total == Decimal(order["total"])
        assert all(Decimal(t["amount"]) >= 0 for t in order["tenders"])
        kinds.update(t["tender_type"] for t in order["tenders"])
    assert set(kinds) == {"card", "gift_card", "store_credit", "cash"}
    assert any(len(o["tenders"]) > 1 for o in estate["orders"])
    assert any(line["final_sale"] for o in estate["orders"] for line in o["lines"])
    assert any(t.get("closed") for o in estate["orders"] for t in o["tenders"])


def test_positions_have_short_stores_for_rebalancing() -> None:
    estate = generate_estate()
    short = total = 0
    for store in estate["stores"]:
        for item in store_assortment(store, estate["items"]):
            p = initial_position(
                store["store_id"], item["item_id"], is_dc=False, store_class=store["store_class"]
            )
            total += 1
            short += p["on_hand"] < p["safety_stock"]
    assert 0.05 < short / total < 0.25
