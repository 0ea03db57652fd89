"""Fault injection: per system and operation, seeded so a drill repeats exactly.

Rules live in memory (a restart clears them). The most specific rule wins:
``(system, operation)`` > ``(system, "*")`` > ``("*", operation)`` > ``("*", "*")``.
Each random decision is ``hash(seed, system, operation, kind, n) < rate`` where ``n``
counts the decisions of that kind under the rule: the same seed and the same sequence
of calls give the same faults.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fastapi import APIRouter, Query, Request

from backoffice.db import utcnow
from backoffice.errors import ApiError
from wire.control import Fault, FaultSpec

# refusal codes for refusal_rate, by operation (default "refused")
REFUSAL_CODES = {
    "refund.card": "tender_declined",
    "refund.gift_card": "tender_declined",
    "refund.store_credit": "tender_declined",
    "refund.cash": "tender_declined",
    "publish": "publication_refused",
    "publish_prices": "price_book_refused",
}


# Every operation a fault can name, per system (the second argument of each `gate` call in
# backoffice/routers, plus "events" for the outbox and "positions" for the stock feed);
# tests/backoffice/test_faults.py checks this against the routers so it cannot drift.
CHANNEL_OPERATIONS = ("publish", "retract", "read_back", "events")
OPERATIONS: dict[str, tuple[str, ...]] = {
    "erp": (
        "list_items",
        "get_item",
        "list_stores",
        "get_store",
        "list_store_groups",
        "get_store_group",
        "define_store_group",
        "list_price_zones",
        "zone_prices",
        "set_zone_prices",
        "list_dcs",
        "get_vendor",
        "list_deals",
        "get_deal",
        "check_deal",
        "create_promotion",
        "activate_promotion",
        "deactivate_promotion",
        "list_promotions",
        "get_promotion",
        "accrue",
        "reverse_accrual",
        "claim",
        "settle_accrual",
        "funding",
        "post",
        "list_postings",
        "claim_transfer",
        "list_transfer_claims",
        "events",
    ),
    "pos": (
        "publish_prices",
        "retract_prices",
        "store_prices",
        "promotion_prices",
        "sales",
        "record_sale",
        "get_order",
        "find_receipt",
        "get_customer",
        "customer_orders",
        "refund.card",
        "refund.gift_card",
        "refund.store_credit",
        "refund.cash",
        "refunds",
        "events",
    ),
    "wms": (
        "positions",
        "create_transfer",
        "release_transfer",
        "cancel_transfer",
        "get_transfer",
        "list_transfers",
        "advance",
        "restock",
        "events",
    ),
    "ecommerce": CHANNEL_OPERATIONS,
    "marketplace": CHANNEL_OPERATIONS,
    "tasks": (
        "create_task",
        "create_tasks",
        "complete_task",
        "cancel_task",
        "cancel_tasks",
        "get_task",
        "list_tasks",
        "events",
    ),
    "fraud": ("score", "events"),
}


def unknown_operation(system: str, operation: str) -> str | None:
    """Why a fault names an operation no call of `system` uses, listing the real ones."""
    if operation == "*":
        return None
    if system == "*":
        known = sorted({op for ops in OPERATIONS.values() for op in ops})
        if operation in known:
            return None
        return f"no system has an operation {operation!r}; known: {', '.join(known)}"
    ops = OPERATIONS.get(system, ())
    if operation in ops:
        return None
    return (
        f"{system} has no operation {operation!r}; its operations are: {', '.join(ops)} "
        "(or * for all)"
    )


def seeded_unit(*parts: object) -> float:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass
class FaultState:
    fault_id: str
    spec: FaultSpec
    created_at: datetime
    outage_from: datetime | None
    outage_until: datetime | None
    calls: int = 0
    counters: Counter[str] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)

    def view(self) -> Fault:
        return Fault(
            fault_id=self.fault_id,
            spec=self.spec,
            created_at=self.created_at,
            outage_from=self.outage_from,
            outage_until=self.outage_until,
            calls=self.calls,
            injected=dict(self.injected),
        )


class FaultRegistry:
    def __init__(self) -> None:
        self._rules: dict[tuple[str, str], FaultState] = {}
        self._lock = threading.Lock()

    def set(self, spec: FaultSpec) -> Fault:
        now = utcnow()
        start = spec.outage_from
        until = spec.outage_until
        if spec.outage_seconds is not None:
            start, until = now, now + timedelta(seconds=spec.outage_seconds)
        elif until is not None and start is None:
            start = now
        elif start is not None and until is None:
            until = datetime.max.replace(tzinfo=start.tzinfo)
        state = FaultState(
            fault_id=uuid.uuid4().hex[:12],
            spec=spec,
            created_at=now,
            outage_from=start,
            outage_until=until,
        )
        with self._lock:
            self._rules[(spec.system, spec.operation)] = state
        return state.view()

    def list(self) -> list[Fault]:
        with self._lock:
            return [s.view() for s in self._rules.values()]

    def clear(self, system: str | None = None, operation: str | None = None) -> int:
        with self._lock:
            doomed = [
                k
                for k in self._rules
                if (system is None or k[0] == system) and (operation is None or k[1] == operation)
            ]
            for k in doomed:
                del self._rules[k]
            return len(doomed)

    def match(self, system: str, operation: str) -> FaultState | None:
        if not self._rules:
            return None
        with self._lock:
            for key in ((system, operation), (system, "*"), ("*", operation), ("*", "*")):
                state = self._rules.get(key)
                if state is not None:
                    return state
        return None

    def decide(
        self, state: FaultState, kind: str, rate: float, system: str, operation: str
    ) -> bool:
        """One seeded yes/no of ``kind`` under ``state``; counted when it fires."""
        if rate <= 0:
            return False
        with self._lock:
            n = state.counters[kind]
            state.counters[kind] += 1
            hit = rate >= 1 or seeded_unit(state.spec.seed, system, operation, kind, n) < rate
            if hit:
                state.injected[kind] += 1
        return hit

    def note(self, state: FaultState, kind: str) -> None:
        with self._lock:
            state.injected[kind] += 1

    def count_call(self, state: FaultState) -> None:
        with self._lock:
            state.calls += 1

    async def gate(self, system: str, operation: str, stores: Sequence[str] = ()) -> None:
        """Apply outage, latency, error and refusal faults to one call (before any work).

        A fault scoped to stores applies only to calls naming at least one of them.
        """
        state = self.match(system, operation)
        if state is None:
            return
        if state.spec.stores and not set(state.spec.stores).intersection(stores):
            return
        self.count_call(state)
        spec = state.spec
        now = utcnow()
        if (
            state.outage_from
            and state.outage_until
            and state.outage_from <= now < state.outage_until
        ):
            self.note(state, "outage")
            raise ApiError(
                503,
                "outage",
                f"{system} is unavailable (injected outage until "
                f"{state.outage_until.isoformat(timespec='seconds')})",
                retry_after=state.outage_until.isoformat(),
            )
        if spec.latency_ms:
            self.note(state, "latency")
            await asyncio.sleep(spec.latency_ms / 1000)
        if self.decide(state, "error", spec.error_rate, system, operation):
            raise ApiError(
                503,
                "injected_error",
                f"{system} failed {operation} (injected error, seed {spec.seed}); try again",
            )
        if self.decide(state, "refusal", spec.refusal_rate, system, operation):
            code = REFUSAL_CODES.get(operation, "refused")
            raise ApiError(
                422, code, f"{system} refused {operation} (injected refusal, seed {spec.seed})"
            )


router = APIRouter(prefix="/faults", tags=["faults"])


def registry(request: Request) -> FaultRegistry:
    return request.app.state.backoffice.faults


@router.post("", status_code=201)
async def set_fault(spec: FaultSpec, request: Request) -> Fault:
    """Add a fault (replaces the one with the same system and operation).

    An operation no call of the system uses is refused (422) with the real ones listed:
    a fault that can never fire would make a drill pass for the wrong reason."""
    problem = unknown_operation(spec.system, spec.operation)
    if problem is not None:
        raise ApiError(422, "unknown_operation", problem, field="operation")
    return registry(request).set(spec)


@router.get("")
async def list_faults(request: Request) -> list[Fault]:
    return registry(request).list()


@router.delete("")
async def clear_faults(
    request: Request,
    system: str | None = Query(default=None),
    operation: str | None = Query(default=None),
) -> dict[str, int]:
    return {"cleared": registry(request).clear(system, operation)}
