"""Sample plan, policy and ERP facts for the pure promotion rules' tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from domain.promotion.plan import (
    ItemFacts,
    PlanFacts,
    PromotionPlan,
    StoreFacts,
    VendorDeal,
)
from domain.promotion.policy import PromotionPolicy

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def policy() -> PromotionPolicy:
    return PromotionPolicy.model_validate_json(
        (ROOT / "examples" / "policy" / "promotion.json").read_text()
    )


def plan(**changes: object) -> PromotionPlan:
    data = json.loads((ROOT / "examples" / "promotions" / "grocery-weekend.json").read_text())
    data["starts_at"] = (NOW + timedelta(days=5)).isoformat()
    data["ends_at"] = (NOW + timedelta(days=8)).isoformat()
    data.update(changes)
    return PromotionPlan.model_validate(data)


ITEMS = {
    "I0012": ItemFacts(item_id="I0012", cost=Decimal("4.29"), regular_price=Decimal("6.99")),
    "I0060": ItemFacts(item_id="I0060", cost=Decimal("3.03"), regular_price=Decimal("4.99")),
    "I0156": ItemFacts(item_id="I0156", cost=Decimal("6.48"), regular_price=Decimal("10.99")),
}
STORE_IDS = ["S001", "S004", "S011", "S013", "S020", "S021", "S022", "S026"]


def deal(**changes: object) -> VendorDeal:
    data: dict[str, object] = {
        "deal_id": "D001",
        "vendor_id": "V01",
        "deal_type": "off_invoice",
        "items": ["I0012", "I0060", "I0156"],
        "funding_per_unit": Decimal("1.75"),
        "starts_at": NOW - timedelta(days=60),
        "ends_at": NOW + timedelta(days=120),
    }
    data.update(changes)
    return VendorDeal.model_validate(data)


def facts(**changes: object) -> PlanFacts:
    data: dict[str, object] = {
        "items": ITEMS,
        "stores": {
            s: StoreFacts(store_id=s, store_class="A" if s == "S001" else "B", region="east")
            for s in STORE_IDS
        },
        "store_ids": STORE_IDS,
        "deal": deal(),
    }
    data.update(changes)
    return PlanFacts.model_validate(data)
