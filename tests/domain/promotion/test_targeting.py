"""Store groups, price zones and the one-price rule (`domain.promotion.targeting`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.promotion.plan import ItemFacts, PlanFacts, PromotionPlan, StoreFacts
from domain.promotion.targeting import (
    PricedLine,
    choose_line,
    group_members,
    price_sets,
    prices_of,
    resolve_targets,
)
from domain.promotion.validation import validate_plan
from tests.domain.promotion.samples import NOW, plan, policy

# nine stores: three regions x three zones; S1, S5 hypermarkets, every fourth an express
ESTATE = [
    StoreFacts(
        store_id=f"S{n}",
        region=("east", "central", "west")[(n - 1) % 3],
        price_zone=("Z1", "Z2", "Z3")[(n - 1) // 3],
        format="hypermarket" if n in (1, 5) else ("express" if n % 4 == 0 else "supermarket"),
        store_class="A" if n in (1, 5) else "B",
        dc_id=f"DC-{('east', 'central', 'west')[(n - 1) % 3].upper()}",
    )
    for n in range(1, 10)
]
NAMED = {"flagships": ["S1", "S5"], "pilot": ["S2", "S3", "S9"]}
ITEMS = {
    "I0012": ItemFacts(
        item_id="I0012",
        cost=Decimal("4.29"),
        regular_price=Decimal("6.99"),
        zone_prices={"Z1": Decimal("7.49"), "Z3": Decimal("6.49")},
    ),
    "I0060": ItemFacts(item_id="I0060", cost=Decimal("3.03"), regular_price=Decimal("4.99")),
    "I0156": ItemFacts(
        item_id="I0156",
        cost=Decimal("6.48"),
        regular_price=Decimal("10.99"),
        zone_prices={"Z1": Decimal("11.99")},
    ),
}


def targeted(**changes: Any) -> PromotionPlan:
    data: dict[str, Any] = {"stores": [], "store_groups": ["region:east", "format:hypermarket"]}
    data.update(changes)
    return plan(**data)


def facts_for(p: PromotionPlan, items: dict[str, ItemFacts] | None = None) -> PlanFacts:
    t = resolve_targets(p, ESTATE, NAMED)
    by_id = {s.store_id: s for s in ESTATE}
    return PlanFacts(
        items=items or ITEMS,
        stores={s: by_id[s] for s in t.store_ids},
        store_ids=t.store_ids,
        unknown_stores=t.unknown_stores,
        unknown_groups=t.unknown_groups,
        group_members=t.group_members,
        price_zones=["Z1", "Z2", "Z3"],
    )


# -- groups --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "members"),
    [
        ("all", [f"S{n}" for n in range(1, 10)]),
        ("region:east", ["S1", "S4", "S7"]),
        ("east", ["S1", "S4", "S7"]),
        ("format:hypermarket", ["S1", "S5"]),
        ("format:express", ["S4", "S8"]),
        ("zone:Z3", ["S7", "S8", "S9"]),
        ("class:A", ["S1", "S5"]),
        ("dc:DC-WEST", ["S3", "S6", "S9"]),
        ("group:pilot", ["S2", "S3", "S9"]),
        ("flagships", ["S1", "S5"]),
    ],
)
def test_group_members_by_region_format_zone_and_named_lists(
    group: str, members: list[str]
) -> None:
    assert group_members(group, ESTATE, NAMED) == members


@pytest.mark.parametrize(
    "group", ["group:nope", "colour:red", "region:mars", "format:kiosk", "zone:Z9", "nowhere"]
)
def test_unknown_groups_are_none(group: str) -> None:
    assert group_members(group, ESTATE, NAMED) is None


def test_resolve_each_store_once_in_order_and_unknowns_named() -> None:
    p = targeted(
        stores=["S5", "S404"],
        store_groups=["region:east", "format:hypermarket", "group:ghost", "zone:Z1"],
    )
    t = resolve_targets(p, ESTATE, NAMED)
    assert t.store_ids == ["S5", "S1", "S4", "S7", "S2", "S3"]
    assert t.unknown_stores == ["S404"]
    assert t.unknown_groups == ["group:ghost"]
    assert t.group_members["format:hypermarket"] == ["S1", "S5"]


def test_group_offer_groups_resolve_among_the_plans_stores_only() -> None:
    p = targeted(
        items=[
            {
                "item_id": "I0012",
                "forecast_units_per_store": 5,
                "group_offers": [{"store_groups": ["zone:Z3"], "offer": _pct(40)}],
            }
        ]
    )
    t = resolve_targets(p, ESTATE, NAMED)
    assert "S8" not in t.store_ids and "S9" not in t.store_ids
    assert t.group_members["zone:Z3"] == ["S7"]  # the only Z3 store in the event


# -- the rule ------------------------------------------------------------------------------


def _line(order: int, priority: int, price: str) -> PricedLine:
    return PricedLine(f"line{order}", order, priority, Decimal(price), "x")


def test_rule_highest_priority_first_even_when_shallower() -> None:
    assert choose_line([_line(0, 0, "3.00"), _line(1, 2, "4.00")]).order == 1


def test_rule_then_the_deepest_discount() -> None:
    assert choose_line([_line(0, 1, "4.00"), _line(1, 1, "3.50"), _line(2, 0, "1.00")]).order == 1


def test_rule_then_the_line_listed_first() -> None:
    assert choose_line([_line(2, 0, "3.00"), _line(1, 0, "3.00")]).order == 1


def test_rule_needs_a_line() -> None:
    with pytest.raises(ValueError, match="no offer line"):
        choose_line([])


def _pct(n: int) -> dict[str, str]:
    return {"type": "percent_off", "percent": str(n)}


# -- price sets ----------------------------------------------------------------------------


def test_promo_price_is_computed_from_each_zones_shelf_price() -> None:
    p = targeted(offer=_pct(20))
    pricing = price_sets(p, facts_for(p))
    assert not pricing.problems
    by_store = {s: prices_of(pricing.sets, s) for s in ["S1", "S4", "S7", "S5"]}
    price = {
        s: {x.item_id: (x.regular_price, x.promo_price) for x in v or []}
        for s, v in by_store.items()
    }
    assert price["S1"]["I0012"] == (Decimal("7.49"), Decimal("5.99"))  # Z1 shelf 7.49 - 20 %
    assert price["S4"]["I0012"] == (Decimal("6.99"), Decimal("5.59"))  # Z2: the regular price
    assert price["S7"]["I0012"] == (Decimal("6.49"), Decimal("5.19"))  # Z3 shelf 6.49
    assert price["S5"] == price["S4"]  # S5 is in Z2 too: same set
    assert {ps.zone for ps in pricing.sets} == {"Z1", "Z2", "Z3"}


def test_a_line_may_give_its_price_per_zone() -> None:
    p = targeted(
        items=[
            {
                "item_id": "I0012",
                "forecast_units_per_store": 5,
                "offer": _pct(10),
                "zone_prices": {"Z1": "5.49"},
            }
        ]
    )
    pricing = price_sets(p, facts_for(p))
    s1 = prices_of(pricing.sets, "S1")
    s4 = prices_of(pricing.sets, "S4")
    assert s1 and s1[0].promo_price == Decimal("5.49") and "zone Z1" in s1[0].offer
    assert s4 and s4[0].promo_price == Decimal("6.29")  # 10 % off 6.99 where no zone price


def test_a_store_in_several_targeted_groups_gets_one_price_by_the_rule() -> None:
    p = targeted(
        items=[
            {
                "item_id": "I0060",
                "forecast_units_per_store": 5,
                "offer": _pct(10),
                "group_offers": [
                    {"store_groups": ["format:hypermarket"], "offer": _pct(30)},
                    {"store_groups": ["group:flagships"], "offer": _pct(25), "priority": 1},
                    {"store_groups": ["region:east"], "offer": _pct(20)},
                ],
            }
        ]
    )
    pricing = price_sets(p, facts_for(p))
    seen = [s for ps in pricing.sets for s in ps.stores]
    assert sorted(seen) == sorted(facts_for(p).store_ids)  # every store in exactly one set
    price = {s: (prices_of(pricing.sets, s) or [])[0].promo_price for s in seen}
    # S1: east + hypermarket + flagship: the flagship line has the highest priority
    assert price["S1"] == Decimal("3.74")  # 25 % off 4.99
    # S4, S7: east only: the east line (20 %) beats the item's own (10 %) by depth
    assert price["S4"] == price["S7"] == Decimal("3.99")
    # S5: hypermarket + flagship: priority again
    assert price["S5"] == Decimal("3.74")


def test_price_above_the_zones_shelf_price_is_named_with_the_zone() -> None:
    p = targeted(
        items=[
            {
                "item_id": "I0012",
                "forecast_units_per_store": 5,
                "offer": {"type": "fixed_price", "price": "6.79"},
            }
        ]
    )
    result = validate_plan(p, facts_for(p), policy(), now=NOW)
    words = [pr.words() for pr in result.problems]
    assert any("in zone Z3" in w and "above the shelf price 6.49" in w for w in words), words
    assert result.metrics is None


def test_zone_prices_naming_an_unknown_zone_and_a_group_offer_outside_the_plan() -> None:
    p = targeted(
        items=[
            {
                "item_id": "I0060",
                "forecast_units_per_store": 5,
                "zone_prices": {"Z9": "3.00"},
                "group_offers": [{"stores": ["S9"], "offer": _pct(30)}],
            }
        ]
    )
    result = validate_plan(p, facts_for(p), policy(), now=NOW)
    words = [pr.words() for pr in result.problems]
    assert any("items.0.zone_prices" in w and "unknown price zone Z9" in w for w in words)
    assert any("items.0.group_offers.0.stores" in w and "S9" in w for w in words)


def test_metrics_add_up_over_zones() -> None:
    p = targeted(offer=_pct(20), items=[{"item_id": "I0012", "forecast_units_per_store": 10}])
    result = validate_plan(p, facts_for(p), policy(), now=NOW)
    assert result.metrics is not None, result.problems
    # six stores: S1 (Z1), S4 S5 (Z2), S7 (Z3) ... as resolved
    sets = {ps.zone: len(ps.stores) for ps in result.price_sets}
    promo = {"Z1": Decimal("5.99"), "Z2": Decimal("5.59"), "Z3": Decimal("5.19")}
    revenue = sum((promo[z] * 10 * n for z, n in sets.items()), Decimal(0))
    assert result.metrics.planned_revenue == revenue
    assert result.metrics.store_count == sum(sets.values())


def test_group_offer_needs_a_target_and_a_price() -> None:
    with pytest.raises(ValidationError, match="names store_groups or stores"):
        targeted(
            items=[
                {
                    "item_id": "I1",
                    "forecast_units_per_store": 1,
                    "group_offers": [{"offer": _pct(5)}],
                }
            ]
        )
    with pytest.raises(ValidationError, match="gives an offer or zone_prices"):
        targeted(
            items=[
                {
                    "item_id": "I1",
                    "forecast_units_per_store": 1,
                    "group_offers": [{"stores": ["S1"]}],
                }
            ]
        )
    with pytest.raises(ValidationError, match="above zero"):
        targeted(
            items=[{"item_id": "I1", "forecast_units_per_store": 1, "zone_prices": {"Z1": "0"}}]
        )


@settings(max_examples=60, deadline=None)
@given(
    groups=st.lists(
        st.sampled_from(["region:east", "region:west", "format:express", "zone:Z2", "group:pilot"]),
        min_size=1,
        max_size=3,
        unique=True,
    ),
    offers=st.lists(
        st.tuples(
            st.sampled_from(["region:central", "format:hypermarket", "group:flagships", "zone:Z1"]),
            st.integers(min_value=5, max_value=60),
            st.integers(min_value=0, max_value=2),
        ),
        max_size=4,
    ),
)
def test_every_store_gets_exactly_one_price_per_item(
    groups: list[str], offers: list[tuple[str, int, int]]
) -> None:
    p = targeted(
        store_groups=groups,
        offer=_pct(15),
        items=[
            {
                "item_id": item,
                "forecast_units_per_store": 3,
                "group_offers": [
                    {"store_groups": [g], "offer": _pct(pct), "priority": prio}
                    for g, pct, prio in offers
                ],
            }
            for item in ITEMS
        ],
    )
    f = facts_for(p)
    pricing = price_sets(p, f)
    stores = [s for ps in pricing.sets for s in ps.stores]
    assert sorted(stores) == sorted(f.store_ids)
    for ps in pricing.sets:
        assert sorted(x.item_id for x in ps.lines) == sorted(ITEMS)
    # the chosen price is the rule's: no reaching line of higher priority, and none as
    # deep among those of the same priority
    for store_id in f.store_ids:
        zone = f.stores[store_id].price_zone
        lines = {x.item_id: x for x in prices_of(pricing.sets, store_id) or []}
        for item_id, facts in ITEMS.items():
            shelf = facts.shelf_price(zone)
            cands = [(0, Decimal("15"))] + [
                (prio, Decimal(pct))
                for g, pct, prio in offers
                if store_id in f.group_members.get(g, [])
            ]
            top = max(prio for prio, _ in cands)
            best = max(pct for prio, pct in cands if prio == top)
            expected = (shelf * (100 - best) / 100).quantize(Decimal("0.01"))
            assert abs(lines[item_id].promo_price - expected) <= Decimal("0.01")


def test_the_regional_ad_example_validates_against_the_committed_estate() -> None:
    import json

    from backoffice.estate import zone_shelf_price
    from tests.domain.promotion.samples import ROOT

    estate = json.loads((ROOT / "examples" / "estate" / "estate.json").read_text())
    p = PromotionPlan.model_validate_json(
        (ROOT / "examples" / "promotions" / "regional-ad.json").read_text()
    )
    wanted = {i.item_id for i in p.items}
    items = {}
    for i in estate["items"]:
        if i["item_id"] not in wanted:
            continue
        regular, cost = Decimal(i["regular_price"]), Decimal(i["cost"])
        shelf = {
            z["zone_id"]: zone_shelf_price(regular, cost, Decimal(z["markup_pct"]))
            for z in estate["price_zones"]
        }
        items[i["item_id"]] = ItemFacts(
            item_id=i["item_id"],
            cost=cost,
            regular_price=regular,
            zone_prices={z: v for z, v in shelf.items() if v != regular},
        )
    masters = [
        StoreFacts(
            store_id=s["store_id"],
            region=s["region"],
            store_class=s["store_class"],
            format=s["format"],
            price_zone=s["price_zone"],
            dc_id=s["dc_id"],
        )
        for s in estate["stores"]
    ]
    named = {g["group_id"]: g["store_ids"] for g in estate["store_groups"]}
    t = resolve_targets(p, masters, named)
    f = PlanFacts(
        items=items,
        stores={s.store_id: s for s in masters if s.store_id in t.store_ids},
        store_ids=t.store_ids,
        group_members=t.group_members,
        unknown_groups=t.unknown_groups,
        price_zones=[z["zone_id"] for z in estate["price_zones"]],
    )
    result = validate_plan(p, f, policy(), now=NOW)
    assert result.ok, [pr.words() for pr in result.problems]
    assert t.store_ids[0] == "S040" and len(t.store_ids) == len(set(t.store_ids))
    s001 = {x.item_id: x for x in prices_of(result.price_sets, "S001") or []}
    assert s001["I0060"].promo_price == Decimal("3.49")  # flagship line, priority 1
    assert s001["I0020"].promo_price == Decimal("7.99")  # S001 is in zone Z1
    assert {ps.zone for ps in result.price_sets} == {"Z1", "Z2", "Z3"}


def test_a_plan_whose_groups_resolve_beyond_the_launch_size_is_refused() -> None:
    from domain.promotion import validation
    from domain.promotion.plan import MAX_PLAN_CELLS

    p = targeted(store_groups=["all"])
    f = facts_for(p)
    assert len(f.store_ids) == 9
    assert validation.known_items_and_stores(p, f) == []
    many = f.model_copy(update={"store_ids": [f"X{n}" for n in range(MAX_PLAN_CELLS // 3 + 1)]})
    problems = validation.known_items_and_stores(p, many)
    assert [pr.words() for pr in problems] == [
        f"store_groups: the plan resolves to {MAX_PLAN_CELLS // 3 + 1:,} stores x 3 items = "
        f"{(MAX_PLAN_CELLS // 3 + 1) * 3:,} cells; a launch takes at most {MAX_PLAN_CELLS:,}: "
        "split the event"
    ]


def test_per_item_figures_weigh_each_live_store_by_its_price_set() -> None:
    from domain.promotion.targeting import store_weighted_lines

    p = targeted(offer=_pct(20), items=[{"item_id": "I0012", "forecast_units_per_store": 1}])
    f = facts_for(p)
    sets = price_sets(p, f).sets
    chain = validate_plan(p, f, policy(), now=NOW).lines
    # S1 (Z1: 7.49 -> 5.99) and S4, S5 (Z2: 6.99 -> 5.59): (5.99 + 2 x 5.59) / 3
    [line] = store_weighted_lines(sets, ["S1", "S4", "S5"], chain)
    assert line.promo_price == Decimal("5.72") and line.regular_price == Decimal("7.16")
    assert store_weighted_lines(sets, [], chain) == chain
    [only_z2] = store_weighted_lines(sets, ["S4"], chain)
    assert only_z2 == chain[0]  # Z2 is the chain's regular price
