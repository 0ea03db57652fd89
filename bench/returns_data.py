"""The returns surge's data: TPC-DS store returns as receipts in the backoffice, the
requests that return them, the policy they run under, and the load plan.

Every TPC-DS store return (`datasets.tpcds.store_returns`) becomes, once per variant of the
benchmark (product, bare workflow, plain script, calibration), its own POS order in the
backoffice's estate: one line (the returned item, the returned quantity at the price the
return was refunded at) paid by exactly the tenders TPC-DS recorded for the refund (cash,
card, store credit; they add up to the return amount). The return asks for that line back
for a reason that carries no restocking fee, so the refund saga refunds each tender in
full: one refund per TPC-DS tender, the split the data set holds.

The bench policy (`bench_policy`) is the retailer the data describes: TPC-DS refunded
returns up to 180 days after the sale and cash without a store limit, and every one of its
returns was refunded without a person deciding, so no fraud tier waits for an approver
(scores are still asked for and recorded). Everything else is the default policy.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from backoffice.estate import generate_estate
from datasets.tpcds import StoreReturn
from domain.returns.contract import INSPECTION_RESULT, ITEM_RECEIVED
from domain.returns.disposition import Condition
from domain.returns.policy import ReturnPolicy
from domain.returns.request import Channel, ReasonCode, ReturnRequest

ESTATE_STORES = 40
"""At most this many stores (TPC-DS store n is store S00n, wrapped round): the estate has
only the stores the returns name, so seeding stays quick."""
PREFIXES = {"calibration": "W", "product": "P", "bare": "B", "plain": "S"}
"""One copy of every receipt per variant: a refund spends its tenders, so no two variants
may refund the same order."""

# fee-free reasons, each with the inspection outcome that gives one follow-up call:
# restock (WMS), vendor claim or write-off (ERP)
REASONS: tuple[tuple[ReasonCode, Condition], ...] = (
    (ReasonCode.WRONG_ITEM, Condition.UNOPENED),
    (ReasonCode.DEFECTIVE, Condition.DEFECTIVE),
    (ReasonCode.NOT_AS_DESCRIBED, Condition.LIKE_NEW),
    (ReasonCode.DAMAGED, Condition.DAMAGED),
)
TENDER_ORDER = ("cash", "card", "store_credit")


def bench_policy() -> ReturnPolicy:
    """The default policy with the TPC-DS retailer's windows, cash and approvals."""
    return ReturnPolicy(
        window_days={Channel.STORE: 200, Channel.ONLINE: 200},
        category_window_days={},
        store_cash_refund_limit=Decimal("1000000.00"),
        tier_roles={},
        tier_escalations={},
    )


def store_of(r: StoreReturn) -> str:
    return f"S{(r.store - 1) % ESTATE_STORES + 1:03d}"


def item_of(r: StoreReturn) -> str:
    return f"TPCDS-I{r.item:06d}"


@dataclass(frozen=True)
class Case:
    """One TPC-DS return, as one variant replays it."""

    variant: str
    n: int
    source: StoreReturn

    @property
    def prefix(self) -> str:
        return PREFIXES[self.variant]

    @property
    def rma_id(self) -> str:
        return f"{self.prefix}-RMA-{self.n:05d}"

    @property
    def order_id(self) -> str:
        return f"{self.prefix}-O{self.n:05d}"

    @property
    def customer_id(self) -> str:
        return f"{self.prefix}-C{self.source.customer:06d}"

    @property
    def reason(self) -> ReasonCode:
        return REASONS[self.n % len(REASONS)][0]

    @property
    def condition(self) -> Condition:
        return REASONS[self.n % len(REASONS)][1]

    @property
    def tenders(self) -> dict[str, Decimal]:
        """tender id -> amount, as seeded (TPC-DS's split, tenders with nothing left out)."""
        split = self.source.tenders
        return {
            f"{self.prefix}-T{self.n:05d}-{k}": split[kind]
            for k, kind in enumerate(TENDER_ORDER, start=1)
            if kind in split
        }

    def request(self) -> ReturnRequest:
        r = self.source
        return ReturnRequest.model_validate(
            {
                "rma_id": self.rma_id,
                "order_id": self.order_id,
                "channel": "store",
                "store_id": store_of(r),
                "reason": self.reason.value,
                "customer": {
                    "customer_id": self.customer_id,
                    "name": f"TPC-DS customer {r.customer}",
                    "email": f"tpcds{r.customer}@example.com",
                },
                "lines": [{"sku": item_of(r), "quantity": r.quantity}],
            }
        )


def cases(variant: str, returns: Sequence[StoreReturn], count: int) -> list[Case]:
    if count > len(returns):
        raise ValueError(f"{count} returns asked, the data set has {len(returns)}")
    return [Case(variant, n, returns[n]) for n in range(count)]


def estate(returns: Sequence[StoreReturn], count: int) -> dict[str, Any]:
    """The default generated estate plus the TPC-DS items, customers and, per variant, one
    order per return (`count` of them) paid by the return's tenders."""
    doc = generate_estate(stores=min(ESTATE_STORES, max(r.store for r in returns)))
    vendors = [v["vendor_id"] for v in doc["vendors"]]
    items: dict[str, dict[str, Any]] = {}
    customers: dict[str, dict[str, Any]] = {}
    orders: list[dict[str, Any]] = []
    for variant in PREFIXES:
        for case in cases(variant, returns, count):
            r = case.source
            unit = (r.return_amount / r.quantity).quantize(Decimal("0.01"))
            if unit * r.quantity != r.return_amount:
                raise ValueError(f"TPC-DS return {r.ticket}/{r.item}: amount not per unit")
            items.setdefault(
                item_of(r),
                {
                    "item_id": item_of(r),
                    "name": f"TPC-DS item {r.item}",
                    "category": r.category.lower(),
                    "vendor_id": vendors[r.item % len(vendors)],
                    "cost": str((unit * Decimal("0.6")).quantize(Decimal("0.01"))),
                    "regular_price": str(unit),
                    "pack_size": 1,
                    "final_sale": False,
                },
            )
            customers.setdefault(
                case.customer_id,
                {
                    "customer_id": case.customer_id,
                    "name": f"TPC-DS customer {r.customer}",
                    "email": f"tpcds{r.customer}@example.com",
                    "prior_returns": 0,
                    "prior_returned_value": "0.00",
                },
            )
            tenders = []
            for tender_id, amount in case.tenders.items():
                kind = TENDER_ORDER[int(tender_id.rsplit("-", 1)[1]) - 1]
                tender: dict[str, Any] = {
                    "tender_id": tender_id,
                    "tender_type": kind,
                    "amount": str(amount),
                }
                if kind == "card":
                    tender["last4"] = f"{r.ticket % 10000:04d}"
                tenders.append(tender)
            orders.append(
                {
                    "order_id": case.order_id,
                    "receipt_id": f"{case.prefix}-R{case.n:05d}",
                    "customer_id": case.customer_id,
                    "store_id": store_of(r),
                    "ordered_days_ago": r.days_since_sale,
                    "lines": [
                        {
                            "line_no": 1,
                            "item_id": item_of(r),
                            "quantity": r.quantity,
                            "unit_price": str(unit),
                            "final_sale": False,
                        }
                    ],
                    "tenders": tenders,
                    "total": str(r.return_amount),
                }
            )
    doc["items"] += list(items.values())
    doc["customers"] += list(customers.values())
    doc["orders"] += orders
    return doc


# ----------------------------------------------------------------------------- load plan


@dataclass(frozen=True)
class Arrival:
    at: float
    """Seconds after the run's start."""
    n: int
    phase: str
    duplicate_request: bool = False
    duplicate_event: str | None = None
    """`item_received` or `inspection_result`: that event is delivered twice."""


@dataclass
class Plan:
    base_rate: float
    base_s: float
    surge_s: float
    surge_factor: float = 5.0
    duplicate_share: float = 0.01
    seed: int = 13
    arrivals: list[Arrival] = field(default_factory=list)

    @property
    def surge_starts(self) -> float:
        return self.base_s

    @property
    def ends(self) -> float:
        return self.base_s + self.surge_s

    def to_json(self) -> dict[str, Any]:
        return {
            "base_rate": self.base_rate,
            "base_s": self.base_s,
            "surge_s": self.surge_s,
            "surge_factor": self.surge_factor,
            "arrivals": [a.__dict__ for a in self.arrivals],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        plan = cls(data["base_rate"], data["base_s"], data["surge_s"], data["surge_factor"])
        plan.arrivals = [Arrival(**a) for a in data["arrivals"]]
        return plan


def plan(
    base_rate: float,
    base_s: float,
    surge_s: float,
    *,
    surge_factor: float = 5.0,
    duplicate_share: float = 0.01,
    seed: int = 13,
) -> Plan:
    """Evenly spaced arrivals: `base_rate`/s for `base_s`, then `surge_factor` times that
    for `surge_s`; a share of returns started twice and a share with one event twice
    (item received, inspection in turn), chosen by `seed`."""
    p = Plan(base_rate, base_s, surge_s, surge_factor, duplicate_share, seed)
    times: list[tuple[float, str]] = []
    for phase, rate, start, length in (
        ("base", base_rate, 0.0, base_s),
        ("surge", base_rate * surge_factor, base_s, surge_s),
    ):
        count = round(rate * length)
        times += [(start + k / rate, phase) for k in range(count)]
    rng = random.Random(seed)
    total = len(times)
    picks = max(1, round(total * duplicate_share))
    chosen = rng.sample(range(total), k=min(total, 2 * picks))
    dup_requests, dup_events = set(chosen[:picks]), chosen[picks:]
    event_kind = {n: (ITEM_RECEIVED, INSPECTION_RESULT)[i % 2] for i, n in enumerate(dup_events)}
    p.arrivals = [
        Arrival(
            at=round(at, 4),
            n=n,
            phase=phase,
            duplicate_request=n in dup_requests,
            duplicate_event=event_kind.get(n),
        )
        for n, (at, phase) in enumerate(times)
    ]
    return p


def returns_to_json(returns: Sequence[StoreReturn]) -> list[dict[str, Any]]:
    """The rows a subprocess needs (the plain script), without DuckDB in its memory."""
    return [{k: str(v) for k, v in r.__dict__.items()} for r in returns]


def returns_from_json(rows: Sequence[dict[str, Any]]) -> list[StoreReturn]:
    from datetime import date

    def one(row: dict[str, Any]) -> StoreReturn:
        ints = ("ticket", "item", "store", "customer", "quantity")
        days = ("sold_on", "returned_on")
        values: dict[str, Any] = {
            k: int(v) if k in ints else date.fromisoformat(v) if k in days else v
            for k, v in row.items()
        }
        for k in ("sale_amount", "return_amount", "cash", "card", "store_credit"):
            values[k] = Decimal(values[k])
        return StoreReturn(**values)

    return [one(row) for row in rows]
