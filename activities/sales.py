"""POS sales for sell-through monitoring: units per region and item over a window."""

from __future__ import annotations

from collections import defaultdict

from temporalio import activity

from activities.common import translate_errors
from adapters.base import new_http_client
from adapters.pos import PosClient
from domain.sellthrough.contract import SALES_BY_REGION, RegionSales, SalesQuery

STORE_FILTER_LIMIT = 200
"""Up to this many stores are named in the query; beyond, all stores are read and grouped."""


class SalesActivities:
    def __init__(self, backoffice_url: str, *, timeout_s: float = 10.0) -> None:
        self._http = new_http_client(backoffice_url, timeout_s=timeout_s)
        self.pos = PosClient(http=self._http)

    async def aclose(self) -> None:
        await self._http.aclose()

    @activity.defn(name=SALES_BY_REGION.name)
    async def sales_by_region(self, query: SalesQuery) -> RegionSales:
        """Sum POS units per region and item since the promotion started (read only)."""
        region_of = {
            store: region for region, stores in query.stores_by_region.items() for store in stores
        }
        stores = sorted(region_of)
        with translate_errors():
            summary = await self.pos.sales(
                item_ids=query.item_ids,
                store_ids=stores if len(stores) <= STORE_FILTER_LIMIT else None,
                since=query.since,
                until=query.until,
            )
        units: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for line in summary.lines:
            region = region_of.get(line.store_id)
            if region is None or line.item_id not in query.item_ids:
                continue
            units[region][line.item_id] += line.units
        return RegionSales(
            since=query.since,
            until=query.until,
            units={region: dict(per_item) for region, per_item in sorted(units.items())},
        )


__all__ = ["SalesActivities"]
