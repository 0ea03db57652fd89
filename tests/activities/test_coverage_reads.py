"""The store coverage activity against a live backoffice: it judges each store from one WMS
read without a model per position, and judges exactly as the raw positions read by
`read_coverage` and `domain.promotion.gates` would."""

from __future__ import annotations

from temporalio.testing import ActivityEnvironment

from activities.promotion import PromotionActivities
from domain.promotion import contract as c
from domain.promotion.gates import stock_by_store, store_coverage, summarized
from domain.promotion.plan import StoreFacts
from tests.domain.promotion.samples import facts, plan, policy


async def test_store_coverage_judges_as_the_raw_positions_do(
    promotion_acts: PromotionActivities,
) -> None:
    pl, pol, known = plan(), policy(), facts()
    # S010 has too little of I0156 for a class B store (the seeded estate)
    stores = [known.stores[s] for s in known.store_ids] + [
        StoreFacts(store_id="S010", store_class="B")
    ]
    store_ids = [st.store_id for st in stores]
    env = ActivityEnvironment()
    judged = await env.run(
        promotion_acts.store_coverage, c.StoreCoverageInput(plan=pl, policy=pol, stores=stores)
    )
    raw = await env.run(
        promotion_acts.read_coverage,
        c.CoverageInput(store_ids=store_ids, item_ids=[i.item_id for i in pl.items]),
    )
    assert raw.positions, "the estate stocks these stores"
    positions = stock_by_store(raw.positions)
    assert judged.coverage == [summarized(store_coverage(st, pl, positions, pol)) for st in stores]
    assert {cov.below for cov in judged.coverage} == {True, False}
