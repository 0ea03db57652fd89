"""Scripted POS sales: stands in for `activities.sales.SalesActivities`.

Registered under the contract's name (`SALES_BY_REGION`): each check of a monitor reads
the next figures of the script (the last ones repeat), so a test chooses exactly which
regions and items sell slowly or fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity

from domain.sellthrough.contract import SALES_BY_REGION, RegionSales, SalesQuery

Units = dict[str, dict[str, int]]
"""Units sold since the start, per region and item."""


@dataclass
class ScriptedSales:
    script: list[Units]
    queries: list[SalesQuery] = field(default_factory=list)

    @activity.defn(name=SALES_BY_REGION.name)
    async def sales_by_region(self, query: SalesQuery) -> RegionSales:
        self.queries.append(query)
        units = self.script[min(len(self.queries), len(self.script)) - 1]
        return RegionSales(since=query.since, until=query.until, units=units)

    def activities(self) -> list[Callable[..., Any]]:
        return [self.sales_by_region]
