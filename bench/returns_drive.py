"""The returns surge's load driver for the Temporal variants (product and bare workflow).

At each arrival of the plan: start the return under its business key (the product's own
`cli.common.start_with_business_key`: one RMA names one run forever), post the store's
scan (`item_received`) and then the inspection to the live ingress over HTTP as a store
system would (each with its event id; a 503 is retried as a sender does), then wait for
the run's result. Duplicates: a duplicate request is started again while the first run is
in flight (even arrivals) or after it closed (odd arrivals), and must be refused; a
duplicate event is posted a second time with the same event id.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from returns_bare import BenchBareReturn
from returns_data import Arrival, Case, Plan
from temporalio.client import Client, WorkflowHandle

from cli.common import CommandError, start_with_business_key
from domain.returns.contract import (
    INSPECTION_RESULT,
    ITEM_RECEIVED,
    InspectionResult,
    ItemReceived,
    ReturnInput,
    workflow_id,
)
from domain.returns.policy import ReturnPolicy
from workflows.return_to_refund import ReturnToRefund


@dataclass
class Tally:
    duplicate_requests_refused: int = 0
    duplicate_requests_started: int = 0
    duplicate_events_posted: int = 0
    event_retries: int = 0
    events_to_closed_runs: int = 0
    failures: list[str] = field(default_factory=list)


def events_of(case: Case) -> dict[str, dict[str, Any]]:
    scan = ItemReceived(
        event_id=f"{case.rma_id}-scan",
        receipt_id=f"SCAN-{case.rma_id}",
        source="store_scan",
        received_by="bench",
    )
    inspection = InspectionResult(
        event_id=f"{case.rma_id}-inspect", inspector="bench", condition=case.condition
    )
    return {
        ITEM_RECEIVED: scan.model_dump(mode="json", exclude_none=True),
        INSPECTION_RESULT: inspection.model_dump(mode="json", exclude_none=True),
    }


class Driver:
    def __init__(
        self,
        client: Client,
        ingress_url: str,
        *,
        variant: str,
        task_queue: str,
        policy: ReturnPolicy,
        ok: Callable[[Case, Any], bool],
    ) -> None:
        self.client = client
        self.ingress = httpx.AsyncClient(
            base_url=ingress_url, timeout=30, limits=httpx.Limits(max_connections=50)
        )
        self.variant = variant
        self.queue = task_queue
        self.policy = policy
        self.ok = ok
        self.tally = Tally()

    def wid(self, case: Case) -> str:
        return workflow_id(case.rma_id) if self.variant == "product" else f"bare-{case.rma_id}"

    async def start(self, case: Case) -> WorkflowHandle[Any, Any]:
        req = case.request()
        run: Any = ReturnToRefund.run if self.variant == "product" else BenchBareReturn.run
        return await start_with_business_key(
            self.client,
            run,
            ReturnInput(request=req, policy=self.policy),
            id=self.wid(case),
            task_queue=self.queue,
            what=f"return {req.rma_id}",
            new_key="a new RMA id",
            static_summary=f"Return {req.rma_id} of order {req.order_id}",
            static_details=f"{req.channel.value} return, reason {req.reason.value}, 1 line(s)",
        )

    async def start_again(self, case: Case) -> None:
        try:
            await self.start(case)
        except CommandError:
            self.tally.duplicate_requests_refused += 1
            return
        self.tally.duplicate_requests_started += 1
        self.tally.failures.append(f"{case.rma_id}: a duplicate request started a second run")

    async def post(self, case: Case, signal: str, event: dict[str, Any]) -> None:
        body = {"workflow_id": self.wid(case), "signal": signal, "event": event}
        for attempt in range(60):
            try:
                answer = await self.ingress.post("/ingress/events", json=body)
            except httpx.TransportError:
                answer = None
            if answer is not None and answer.status_code == 202:
                return
            if answer is not None and answer.status_code == 404:
                if answer.json().get("code") == "workflow_closed":
                    self.tally.events_to_closed_runs += 1
                    return
            if answer is not None and answer.status_code not in (404, 503):
                raise RuntimeError(f"ingress refused {signal} for {case.rma_id}: {answer.text}")
            self.tally.event_retries += 1
            await asyncio.sleep(min(0.05 * 2**attempt, 1.0))
        raise RuntimeError(f"ingress never took {signal} for {case.rma_id}")

    async def one(self, t0: float, arrival: Arrival, case: Case) -> dict[str, Any] | None:
        await asyncio.sleep(max(0.0, t0 + arrival.at - time.time()))
        started = time.time()
        try:
            handle = await self.start(case)
            if arrival.duplicate_request and arrival.n % 2 == 0:
                await self.start_again(case)
            events = events_of(case)
            receipt_at = time.time()
            await self.post(case, ITEM_RECEIVED, events[ITEM_RECEIVED])
            await self.post(case, INSPECTION_RESULT, events[INSPECTION_RESULT])
            if arrival.duplicate_event:
                self.tally.duplicate_events_posted += 1
                await self.post(case, arrival.duplicate_event, events[arrival.duplicate_event])
            result = await handle.result()
            completed = time.time()
            if arrival.duplicate_request and arrival.n % 2 == 1:
                await self.start_again(case)
        except Exception as err:
            self.tally.failures.append(f"{case.rma_id}: {type(err).__name__}: {err}")
            return None
        if not self.ok(case, result):
            self.tally.failures.append(f"{case.rma_id}: ended with {result!r:.200}")
        return {
            "n": arrival.n,
            "workflow_id": handle.id,
            "phase": arrival.phase,
            "started_at": started,
            "receipt_at": receipt_at,
            "completed_at": completed,
            "ok": self.ok(case, result),
            "workflow_receipt_to_refund_s": getattr(result, "receipt_to_refund_seconds", None),
        }

    async def drive(self, plan: Plan, cases: list[Case]) -> dict[str, Any]:
        t0 = time.time() + 0.5
        try:
            done = await asyncio.gather(*(self.one(t0, a, cases[a.n]) for a in plan.arrivals))
        finally:
            await self.ingress.aclose()
        outcomes = {cases[o["n"]].rma_id: o for o in done if o is not None}
        return {"t0": t0, "outcomes": outcomes, **self.tally.__dict__}
