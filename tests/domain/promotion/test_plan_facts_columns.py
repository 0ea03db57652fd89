"""PlanFacts' stores cross history as columns: the same facts back, and far smaller."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.promotion.plan import STORE_COLUMNS, PlanFacts, StoreFacts


def facts(n: int) -> PlanFacts:
    start = datetime(2026, 5, 1, 4, tzinfo=UTC)
    stores = {
        f"S{i:04d}": StoreFacts(
            store_id=f"S{i:04d}",
            store_class="ABC"[i % 3],
            region="central",
            timezone="America/Chicago",
            starts_at=start if i % 2 else None,
            ends_at=start if i % 2 else None,
        )
        for i in range(n)
    }
    return PlanFacts(items={}, stores=stores, store_ids=list(stores))


def test_stores_round_trip_through_columns() -> None:
    original = facts(7)
    dumped = original.model_dump(mode="json")
    assert set(dumped["stores"]) == {STORE_COLUMNS}
    assert dumped["stores"][STORE_COLUMNS]["store_id"][:2] == ["S0000", "S0001"]
    assert PlanFacts.model_validate(dumped) == original
    assert PlanFacts.model_validate_json(original.model_dump_json()) == original
    assert (
        PlanFacts.model_validate_json(PlanFacts(items={}, stores={}).model_dump_json()).stores == {}
    )


def test_facts_recorded_before_as_a_mapping_still_read() -> None:
    original = facts(3)
    mapping = {k: v.model_dump(mode="json") for k, v in original.stores.items()}
    assert PlanFacts.model_validate({"items": {}, "stores": mapping}).stores == original.stores


def test_five_thousand_stores_stay_far_under_the_payload_limit() -> None:
    assert len(facts(5000).model_dump_json()) < 400 * 1024  # the limit is 512 KiB
