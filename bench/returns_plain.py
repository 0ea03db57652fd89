"""The returns surge's plain-script baseline: the same backoffice calls, no Temporal.

    python bench/returns_plain.py --plan plan.json --backoffice URL --out plain.json

Its own process (so its CPU and memory are its own), with the load plan of the run: at
each arrival it takes the return (a second request for an RMA it has seen is refused from
memory), makes the calls `ReturnToRefund` makes on its automatic path through the
adapters (receipt lookup, item, fraud score, "authorized" task, then with the item
scanned and inspected: the follow-up, one refund per tender, the credit memo, the
"refunded" task), each with the same kind of idempotency key, retried on a transient
error. The store's scan and the inspection are delivered in-process at the moments the
plan gives (a duplicate is dropped by its event id). Nothing survives a crash of this
process: that is what the workflow is for.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from returns_data import Case, Plan, cases, returns_from_json
from returns_figures import peak_rss_mib

from adapters import Backoffice, TransientError
from domain.returns.contract import INSPECTION_RESULT
from domain.returns.disposition import Condition
from wire.erp import PostingRequest
from wire.fraud import FraudRequest
from wire.pos import RefundRequest, ReturnedLine
from wire.tasks import TaskRequest
from wire.wms import RestockRequest

T = TypeVar("T")


async def retried(fn: Callable[[], Awaitable[T]], attempts: int = 10) -> T:
    for attempt in range(attempts):
        try:
            return await fn()
        except TransientError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(min(0.1 * 2**attempt, 2.0))
    raise AssertionError("unreachable")


class PlainReturns:
    def __init__(self, bo: Backoffice) -> None:
        self.bo = bo
        self.seen: set[str] = set()
        self.events: set[str] = set()
        self.scanned: dict[str, asyncio.Event] = {}
        self.inspected: dict[str, Condition] = {}
        self.inspected_event: dict[str, asyncio.Event] = {}
        self.refused_requests = 0
        self.dropped_events = 0

    def request(self, case: Case) -> bool:
        if case.rma_id in self.seen:
            self.refused_requests += 1
            return False
        self.seen.add(case.rma_id)
        self.scanned[case.rma_id] = asyncio.Event()
        self.inspected_event[case.rma_id] = asyncio.Event()
        return True

    def deliver(self, case: Case, event_id: str, condition: Condition | None) -> None:
        if event_id in self.events:
            self.dropped_events += 1
            return
        self.events.add(event_id)
        if condition is None:
            self.scanned[case.rma_id].set()
        elif self.scanned[case.rma_id].is_set():
            self.inspected[case.rma_id] = condition
            self.inspected_event[case.rma_id].set()

    async def notify(self, case: Case, kind: str, message: str, store: str) -> None:
        task = TaskRequest(  # built once: a retry must resend the identical body
            task_id=f"{case.rma_id}-notify-{kind}",
            store_id=store,
            kind="labor",
            title=f"Contact customer about return {case.rma_id}: {message}"[:300],
            due_at=datetime.now(UTC) + timedelta(days=1),
        )
        key = f"plain-notify-{case.rma_id}-{kind}"
        await retried(lambda: self.bo.tasks.create(task, idempotency_key=key))

    async def run(self, case: Case) -> Decimal:
        rma, req = case.rma_id, case.request()
        order = await retried(lambda: self.bo.pos.get_order(case.order_id))
        items = {}
        for line in order.lines:
            if line.item_id not in items:
                items[line.item_id] = await retried(partial(self.bo.erp.get_item, line.item_id))
        value = sum((line.unit_price * line.quantity for line in order.lines), Decimal("0"))
        await retried(
            lambda: self.bo.fraud.score(
                FraudRequest(
                    rma_id=rma,
                    customer_id=case.customer_id,
                    value=value,
                    has_receipt=True,
                    days_since_purchase=(datetime.now(UTC) - order.ordered_at).days,
                    reason_code=req.reason.value,
                    item_count=sum(line.quantity for line in req.lines),
                )
            )
        )
        await self.notify(case, "authorized", "authorized", order.store_id)
        await self.inspected_event[rma].wait()
        condition = self.inspected[rma]
        for n, line in enumerate(order.lines, start=1):
            item = items[line.item_id]
            key = f"plain-followup-{rma}-{n}"
            if condition in (Condition.UNOPENED, Condition.LIKE_NEW):
                restock = RestockRequest(
                    location_id=order.store_id,
                    item_id=line.item_id,
                    quantity=line.quantity,
                    reference=rma,
                )
                await retried(partial(self.bo.wms.restock, restock, idempotency_key=key))
                continue
            claim = condition is Condition.DEFECTIVE
            posting = PostingRequest(
                kind="vendor_return_claim" if claim else "write_off",
                reference=rma,
                amount=item.cost * line.quantity,
                vendor_id=item.vendor_id if claim else None,
                item_id=line.item_id,
                quantity=line.quantity,
                reason="bench",
            )
            await retried(partial(self.bo.erp.post, posting, idempotency_key=key))
        returned = [
            ReturnedLine(item_id=line.item_id, quantity=line.quantity) for line in order.lines
        ]
        refunded = Decimal("0")
        for tender in order.tenders:
            leg = RefundRequest(
                order_id=order.order_id,
                rma_id=rma,
                tender_type=tender.tender_type,
                tender_id=tender.tender_id,
                amount=tender.amount - tender.refunded_amount,
                reason=f"return {rma}",
                lines=returned,
            )
            key = f"plain-refund-{rma}-{tender.tender_id}"
            refund = await retried(partial(self.bo.pos.refund, leg, idempotency_key=key))
            refunded += refund.amount
        await retried(
            lambda: self.bo.erp.post(
                PostingRequest(
                    kind="credit_memo",
                    reference=rma,
                    amount=refunded,
                    customer_id=case.customer_id,
                    reason=f"return {rma} on order {order.order_id}",
                ),
                idempotency_key=f"plain-memo-{rma}",
            )
        )
        await self.notify(case, "refunded", f"{refunded} refunded", order.store_id)
        return refunded


async def drive(plan: Plan, all_cases: list[Case], backoffice_url: str) -> dict[str, Any]:
    async with Backoffice(backoffice_url) as bo:
        plain = PlainReturns(bo)
        t0 = time.time() + 0.5
        outcomes: dict[str, dict[str, Any]] = {}

        async def one(arrival: Any) -> None:
            case = all_cases[arrival.n]
            await asyncio.sleep(max(0.0, t0 + arrival.at - time.time()))
            started = time.time()
            if not plain.request(case):
                return
            work = asyncio.create_task(plain.run(case))
            if arrival.duplicate_request and arrival.n % 2 == 0:
                plain.request(case)
            receipt_at = time.time()
            plain.deliver(case, f"{case.rma_id}-scan", None)
            plain.deliver(case, f"{case.rma_id}-inspect", case.condition)
            if arrival.duplicate_event:
                again = case.condition if arrival.duplicate_event == INSPECTION_RESULT else None
                tag = "inspect" if again is not None else "scan"
                plain.deliver(case, f"{case.rma_id}-{tag}", again)
            refunded = await work
            completed = time.time()
            if arrival.duplicate_request and arrival.n % 2 == 1:
                plain.request(case)
            outcomes[case.rma_id] = {
                "n": arrival.n,
                "phase": arrival.phase,
                "started_at": started,
                "receipt_at": receipt_at,
                "completed_at": completed,
                "refunded": str(refunded),
                "ok": refunded == case.source.return_amount,
            }

        await asyncio.gather(*(one(a) for a in plan.arrivals))
    return {
        "t0": t0,
        "outcomes": outcomes,
        "duplicate_requests_refused": plain.refused_requests,
        "duplicate_events_dropped": plain.dropped_events,
        "duplicate_requests_started": 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", type=Path, required=True)
    parser.add_argument("--backoffice", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    document = json.loads(args.plan.read_text())
    plan = Plan.from_json(document)
    returns = returns_from_json(document["returns"])
    all_cases = cases("plain", returns, len(returns))
    result = asyncio.run(drive(plan, all_cases, args.backoffice))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["peak_rss_mib"] = peak_rss_mib()
    result["cpu_s_self"] = usage.ru_utime + usage.ru_stime
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
