"""The prepared week and the simulated retailer built from it: the stated rules hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from datasets import completejourney as cj
from datasets.cache import ENV_VAR
from datasets.tpcds import StoreReturn
from domain.money import cents
from domain.promotion.plan import OfferType
from sim.faults import profile_specs
from sim.world import MARGIN_FLOOR, build_world
from starter import app


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> cj.PreparedWeek:
    cache = tmp_path_factory.mktemp("datasets")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ENV_VAR, str(cache))
        prepared = cj.prepare_week(20, stores=5, max_items=120)
        assert list(cache.glob("completejourney/*.json")), "the prepared week is cached"
        assert cj.prepare_week(20, stores=5, max_items=120) == prepared
    return prepared


def test_the_week_is_the_data_sets_week(week: cj.PreparedWeek) -> None:
    assert week.week_stores > 100 and week.week_pairs > 300_000
    assert len(week.stores) == 5 and len(week.products) == 120
    assert {p.store_id for p in week.placements} <= set(week.stores)
    assert all(0 <= s.day <= 6 and 0 <= s.hour <= 23 for s in week.sales)


def test_shelf_price_is_sales_value_plus_retail_discount_over_quantity(
    week: cj.PreparedWeek,
) -> None:
    product = next(iter(week.products.values()))
    path = cj.data_dir() / "transactions.parquet"
    value, disc, qty = duckdb.connect().execute(
        f"SELECT sum(sales_value), sum(retail_disc), sum(quantity) FROM read_parquet('{path}') "
        f"WHERE product_id = {product.product_id} AND quantity > 0 AND sales_value > 0"
    ).fetchone() or (0, 0, 1)
    assert product.shelf_price == pytest.approx(max(0.10, (value + disc) / qty), abs=0.006)


def test_each_product_runs_in_one_event_with_its_own_offer_line(week: cj.PreparedWeek) -> None:
    world = build_world(week, seed=7, returns=[])
    seen: list[str] = []
    types: set[OfferType] = set()
    deals = {d["deal_id"]: set(d["item_ids"]) for d in world.estate["deals"]}
    for event in world.events:
        seen += [i.item_id for i in event.items]
        if event.deal_id:
            assert {i.item_id for i in event.items} <= deals[event.deal_id]
        for item in event.items:
            offer = item.offer or event.offer
            types.add(offer.type)
            assert offer.unit_price(item.shelf) >= cents(item.cost * MARGIN_FLOOR)
        start = datetime.now(UTC)
        plan = event.plan(starts_at=start, ends_at=start + timedelta(hours=1), submitted_by="ana")
        assert plan.stores == event.stores and len(plan.items) == len(event.items)
    assert sorted(seen) == sorted(world.item_of.values())
    assert types == set(OfferType), "all five offer types are mixed in the week"
    assert {e.kind for e in world.events} == {"weekly ad", "in-store display"}


def test_the_same_seed_builds_the_same_world(week: cj.PreparedWeek) -> None:
    a, b = build_world(week, seed=7, returns=[]), build_world(week, seed=7, returns=[])
    assert a.estate == b.estate
    other = build_world(week, seed=8, returns=[])
    assert [i["cost"] for i in other.estate["items"]] != [i["cost"] for i in a.estate["items"]]


def test_a_tpcds_return_becomes_a_receipt_paid_with_its_split(week: cj.PreparedWeek) -> None:
    r = StoreReturn(
        ticket=11,
        item=5,
        store=2,
        customer=9,
        quantity=2,
        category="Music",
        sold_on=datetime(2001, 1, 1).date(),
        returned_on=datetime(2001, 1, 11).date(),
        sale_amount=Decimal("40.00"),
        return_amount=Decimal("30.00"),
        cash=Decimal("10.00"),
        card=Decimal("20.00"),
        store_credit=Decimal("0"),
    )
    world = build_world(week, seed=7, returns=[r])
    order = world.estate["orders"][0]
    tenders = {t["tender_type"]: Decimal(t["amount"]) for t in order["tenders"]}
    assert tenders == {"cash": Decimal("13.33"), "card": Decimal("26.67")}
    assert sum(tenders.values()) == Decimal(order["total"]) == Decimal("40.00")
    assert order["ordered_days_ago"] == 10
    assert world.returns[0]["order_id"] == order["order_id"]


def test_bad_sizes_and_profiles_are_refused_in_words(tmp_path: Path) -> None:
    with pytest.raises(cj.DataSetError, match="week must be 1 to 53"):
        cj.prepare_week(0)
    with pytest.raises(ValueError, match="unknown fault profile 'worst'"):
        profile_specs("worst", 1)
    runner = CliRunner()
    for args, words in (
        (["--profile", "worst"], "unknown profile 'worst'"),
        (["--stores", "0"], "stores must be 1 to 120"),
        (["--day-seconds", "1"], "a simulated day is 5 to 3,600 s"),
    ):
        result = runner.invoke(app, ["simulate-week", *args])
        assert result.exit_code == 2, result.output
        assert words in result.output
    assert not list((tmp_path).iterdir()), "nothing was started or written"
