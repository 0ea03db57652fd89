"""The people of the promotion demo: store staff doing their tasks, shoppers buying.

They act on the reference systems through the same adapters the product uses, as the
real people would act on the real systems; the workflow only sees the results (task
events through the ingress, sales read from POS), so the demo shows the product working:
an SLA alert for the one task done late, sell-through and a recommendation from real sales,
a vendor claim and KPIs on the units actually sold.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from rich.console import Console

from adapters.errors import BackofficeError
from adapters.pos import PosClient
from adapters.tasks import TasksClient
from common.config import Settings
from domain.promotion.status import TERMINAL_STATES, PromotionState, PromotionStatus
from wire.pos import SaleRequest

StatusReader = Callable[[], Awaitable[PromotionStatus]]

FAST_REGION = "east"
"""Shoppers in this region buy at twice the forecast pace; elsewhere at a third of it."""


@dataclass
class StoreStaff:
    """Completes each store task as soon as it is given, except one, done after its SLA."""

    settings: Settings
    out: Console
    late_task: str | None = None
    done: set[str] = field(default_factory=set)

    async def work(self, read_status: StatusReader, poll_s: float) -> None:
        async with TasksClient(self.settings.backoffice_url) as tasks:
            while True:
                status = await read_status()
                missed = any(e.action == "SLA missed" for e in status.audit)
                for task in status.tasks:
                    if task.task_id in self.done or task.state not in ("OPEN", "LATE"):
                        continue
                    if self.late_task is None:
                        self.late_task = task.task_id
                        self.out.print(
                            f"  [dim]store staff of {task.store_id} are busy: the {task.kind} "
                            "task will be done late[/]"
                        )
                    if task.task_id == self.late_task and not missed:
                        continue
                    await self._complete(tasks, task.task_id, task.store_id)
                if status.state in TERMINAL_STATES or (
                    status.state in (PromotionState.LIVE, PromotionState.ENDING)
                    and self.late_task in self.done
                ):
                    return
                await asyncio.sleep(poll_s)

    async def _complete(self, tasks: TasksClient, task_id: str, store_id: str) -> None:
        with contextlib.suppress(BackofficeError):
            await tasks.complete(
                task_id,
                completed_by=f"staff of {store_id}",
                idempotency_key=f"demo-complete-{task_id}",
            )
            self.done.add(task_id)


@dataclass
class Shoppers:
    """Buy the promoted items in the live stores while the promotion is live."""

    settings: Settings
    out: Console
    units_bought: int = 0

    async def shop(self, read_status: StatusReader, every: timedelta, poll_s: float) -> None:
        tick = 0
        async with PosClient(self.settings.backoffice_url) as pos:
            while True:
                status = await read_status()
                if status.state in TERMINAL_STATES or status.state is PromotionState.ENDING:
                    return
                if status.state is not PromotionState.LIVE:
                    await asyncio.sleep(poll_s)
                    continue
                tick += 1
                bought = await self._basket(pos, status, tick, every)
                self.units_bought += bought
                self.out.print(f"  [dim]shoppers bought {bought} promoted units[/]")
                await asyncio.sleep(every.total_seconds())

    async def _basket(
        self, pos: PosClient, status: PromotionStatus, tick: int, every: timedelta
    ) -> int:
        window = (status.ends_at - status.starts_at).total_seconds()
        share = max(every.total_seconds() / window, 0.05)
        bought = 0
        for store in status.stores:
            if not store.published:
                continue
            pace = 2.0 if store.region == FAST_REGION else 1 / 3
            for line in status.lines:
                units = max(round(10 * share * pace), 1 if store.region == FAST_REGION else 0)
                if units <= 0:
                    continue
                with contextlib.suppress(BackofficeError):
                    await pos.record_sale(
                        SaleRequest(
                            store_id=store.store_id,
                            item_id=line.item_id,
                            units=units,
                            unit_price=line.promo_price,
                            sold_at=datetime.now(UTC),
                        ),
                        idempotency_key=(
                            f"demo-sale-{status.promotion_id}-{store.store_id}-{line.item_id}-{tick}"
                        ),
                    )
                    bought += units
        return bought
