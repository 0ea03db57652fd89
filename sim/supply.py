"""The supply chain planner: rebalancing for the stores an inventory gate held.

A launch pre-positions stock itself (its InventoryRebalance child) with the go-live as the
need-by time. On the compressed clock no lane arrives in time (lanes are hours to days
long, `domain/rebalance/estate.py`), so that child finds nothing to move and the short
stores stay held. The planner then does what a planner would: an InventoryRebalance of
its own for the held stores and the event's items, needed by the lanes' real lead time
(the compressed world's WMS ships in seconds), and once it has finished, the supply chain
role overrides the gate of each held store whose coverage the rebalance brought up to
the policy's threshold. Stores still short stay held (and read as unavailable).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from temporalio.client import Client, WorkflowFailureError
from temporalio.service import RPCError

from cli import promotion as promo
from cli.common import CommandError, start_with_business_key
from common.config import Settings
from domain.identity import DecisionSigner
from domain.promotion.policy import PromotionPolicy
from domain.rebalance.contract import (
    DemandOverride,
    RebalanceRequest,
    RebalanceResult,
    RebalanceScope,
    workflow_id,
)
from sim.world import Event
from workflows.inventory_rebalance import InventoryRebalance

NEED_BY = timedelta(days=3)
PLANNER = "sam"


@dataclass
class SupplyPlanner:
    settings: Settings
    client: Client
    policy: PromotionPolicy
    signer: DecisionSigner
    say: object
    results: dict[str, RebalanceResult] = field(default_factory=dict)
    released: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    async def rebalance(self, event: Event, held: dict[str, str]) -> None:
        """Rebalance the `held` stores (id -> class) of `event`, then release those covered."""
        assert self.policy.rebalance is not None
        stores = sorted(held)
        plan_id = f"{event.promotion_id}-sim-rebalance"
        request = RebalanceRequest(
            plan_id=plan_id,
            reason="promotion_preposition",
            scope=RebalanceScope(stores=stores, items=[i.item_id for i in event.items]),
            need_by=datetime.now(UTC) + NEED_BY,
            policy=self.policy.rebalance,
            demand_override=[
                DemandOverride(store_id=s, item_id=i.item_id, units=i.forecast)
                for s in stores
                for i in event.items
            ],
            parent_promotion_id=event.promotion_id,
            requested_by=PLANNER,
        )
        try:
            handle = await start_with_business_key(
                self.client,
                InventoryRebalance.run,
                request,
                id=workflow_id(plan_id),
                task_queue=self.settings.task_queue,
                what=f"plan {plan_id}",
                new_key="a new plan id",
                static_summary=f"Rebalance {plan_id} (held stores of {event.promotion_id})",
            )
            result: RebalanceResult = await handle.result()
        except (CommandError, WorkflowFailureError, RPCError) as err:
            self.problems.append(f"{plan_id}: {err}")
            return
        self.results[event.promotion_id] = result
        self._say(
            f"{PLANNER} rebalanced {len(stores)} held store(s) of {event.promotion_id}: "
            f"{result.state.value}, {result.units_received} of {result.units_planned} units in"
        )
        for store in stores:
            threshold = self.policy.threshold_for(held[store])
            if result.coverage_for(store) < threshold * Decimal("0.999"):
                continue
            with contextlib.suppress(CommandError):
                await promo.override_gate(
                    self.settings,
                    event.promotion_id,
                    store,
                    PLANNER,
                    f"stock received by rebalance {plan_id}",
                    role="supply_chain",
                    client=self.client,
                    signer=self.signer,
                )
                self.released.append((event.promotion_id, store))

    def _say(self, text: str) -> None:
        if callable(self.say):
            self.say(text)
