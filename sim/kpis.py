"""The week's KPIs, read back from the backoffice (ledger, tasks, positions, refunds, ERP
funding) and the workflows' results (PromotionLaunch and ReturnToRefund status), never
from what the simulator meant to do: a bug or a fault shows as a worse figure.

Launch KPIs reuse `domain.promotion.kpis.KPI_DEFINITIONS` where the week's figure pools
the launches' own; `WEEK_DEFINITIONS` says how each week figure is computed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from temporalio.client import Client

from adapters.control import ControlClient
from adapters.pos import PosClient
from adapters.tasks import TasksClient
from adapters.wms import WmsClient
from common.config import Settings
from domain.money import cents
from domain.promotion.kpis import KPI_DEFINITIONS
from domain.promotion.status import PromotionState, PromotionStatus
from domain.returns.status import ReturnStatus
from domain.sellthrough.contract import MonitorSummary
from domain.sellthrough.contract import workflow_id as monitor_workflow_id
from sim.clock import WeekClock
from sim.world import World
from workflows.sell_through_monitor import SellThroughMonitor

WEEK_DEFINITIONS: dict[str, str] = {
    "launch accuracy": KPI_DEFINITIONS["launch accuracy"]
    + "; pooled over the week's launches, weighted by their targets",
    "channel sync success (first try)": "per channel, targets confirmed without a read-back "
    "reconciliation or a republish, over targets sent (every launch that published)",
    "channel sync success (after reconciliation)": KPI_DEFINITIONS["channel sync success"]
    + "; pooled over the week's launches",
    "stock availability in the window": "promoted store x item pairs of the approved launches "
    "(a launch that failed counts, a rejected one does not) whose store's offer was published "
    "and had stock on hand at go-live (WMS position), over every promoted pair of those "
    "launches",
    "stockout rate": "published store x item pairs whose units sold at the till (POS ledger) "
    "reached the stock the store had (WMS on hand at the end, which counts what "
    "rebalancing brought in), over the published pairs",
    "markdown variance": KPI_DEFINITIONS["markdown variance"]
    + "; summed over the ended launches, and as a share of their planned margin impact",
    "exception resolution time p50 / p95": "simulated hours from an exception to its "
    "resolution: a store task done after its due time (due to done, store-task system), a "
    "held store released by an override (hold to override, launch audit); unresolved ones "
    "are counted apart",
    "rebate recovery accuracy": "1 - |claimed - owed| / owed, pooled over the funded "
    "launches: claimed from the ERP's funding record, owed = the deal's funding per unit x "
    "funded units sold at the till in the launch's stores and window (POS ledger), within "
    "the deal's cap",
    "margin against plan": "actual margin (till revenue - cost x units, POS ledger, plus "
    "the funding claimed) minus the planned margin of the ended launches, and actual over "
    "planned",
    "refund accuracy": "refunded returns whose POS refunds (ledger) add up to the "
    "workflow's quoted net refund with no tender refunded beyond what it paid, over the "
    "refunded returns",
    "refund cycle time p50 / p95": "seconds from the item received to the refund issued "
    "(ReturnToRefund's receipt_to_refund_seconds), and in simulated hours",
}


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def ratio(part: float, whole: float) -> float | None:
    return None if not whole else round(100 * part / whole, 1)


@dataclass
class WeekKpis:
    values: dict[str, str]
    """KPI name -> the figure in words (n/a with its reason when nothing to measure)."""
    numbers: dict[str, float | None]
    per_event: list[dict[str, Any]]
    counts: dict[str, int]
    series: dict[str, list[float]] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)
    """Refunds that did not add up, in words."""
    definitions: dict[str, str] = field(default_factory=lambda: dict(WEEK_DEFINITIONS))


async def stock_snapshot(settings: Settings, world: World) -> dict[tuple[str, str], int]:
    """WMS on hand of every promoted store x item pair, now."""
    items_of: dict[str, set[str]] = defaultdict(set)
    for event in world.events:
        for store in event.stores:
            items_of[store].update(i.item_id for i in event.items)
    out: dict[tuple[str, str], int] = {}
    async with WmsClient(settings.backoffice_url) as wms:
        for store, items in sorted(items_of.items()):
            for p in await wms.positions(location_ids=[store], item_ids=sorted(items)):
                out[(store, p.item_id)] = p.on_hand
    return out


def _pct(value: float | None, why: str) -> str:
    return f"n/a ({why})" if value is None else f"{value:.1f}%"


async def collect(
    settings: Settings,
    client: Client,
    world: World,
    statuses: dict[str, PromotionStatus],
    returns: dict[str, ReturnStatus],
    golive_stock: dict[tuple[str, str], int],
    clock: WeekClock,
) -> WeekKpis:
    url = settings.backoffice_url
    async with ControlClient(url) as control:
        sales_page = await control.ledger(system="pos", operation="record_sale", limit=100_000)
    sold: dict[tuple[str, str], int] = defaultdict(int)
    revenue: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for entry in sales_page.entries:
        _, store, item = entry.subject.split(":", 2)
        sold[(store, item)] += entry.quantity or 0
        revenue[(store, item)] += entry.amount or Decimal(0)
    end_stock = await stock_snapshot(settings, world)
    cost = {i["item_id"]: Decimal(i["cost"]) for i in world.estate["items"]}
    deals = {d["deal_id"]: d for d in world.estate["deals"]}
    first_ok = first_total = 0
    channel_first: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    channel_after: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    pairs = pairs_available = live_pairs = stocked_out = 0
    markdown = planned_markdown = Decimal(0)
    margin_actual = margin_planned = Decimal(0)
    owed_total = diff_total = claimed_total = Decimal(0)
    waits: list[float] = []
    unresolved = 0
    per_event: list[dict[str, Any]] = []
    async with TasksClient(url) as tasks:
        for pid, status in sorted(statuses.items()):
            event = next(e for e in world.events if e.promotion_id == pid)
            row: dict[str, Any] = {
                "event": pid,
                "state": status.state.value,
                "items": len(event.items),
                "stores": len(event.stores),
            }
            published = {s.store_id for s in status.stores if s.published}
            row["published stores"] = len(published)
            row["held stores"] = sum(1 for s in status.stores if s.gate.value == "HELD")
            row["rebalance"] = status.rebalance[:90]
            row["recommendations"] = status.monitor[:90]
            targets = sum(c.targets for c in status.channels)
            if status.kpis is not None and status.kpis.launch_accuracy_pct is not None:
                first_ok += float(status.kpis.launch_accuracy_pct) / 100 * targets  # type: ignore[assignment]
                first_total += targets
            for c in status.channels:
                if not c.targets:
                    continue
                clean = max(c.confirmed - c.reconciled_by_readback - c.republished, 0)
                channel_first[c.channel][0] += clean
                channel_first[c.channel][1] += c.targets
                channel_after[c.channel][0] += c.confirmed
                channel_after[c.channel][1] += c.targets
            approved = status.state not in (PromotionState.REJECTED, PromotionState.CANCELLED)
            units = 0
            if approved:
                for store in event.stores:
                    for item in event.items:
                        key = (store, item.item_id)
                        pairs += 1
                        if store in published and golive_stock.get(key, 0) > 0:
                            pairs_available += 1
                        if store in published:
                            live_pairs += 1
                            if sold[key] >= end_stock.get(key, 0):
                                stocked_out += 1
                            units += sold[key]
                            margin_actual += revenue[key] - cost[item.item_id] * sold[key]
            row["units sold"] = units
            if status.state is PromotionState.ENDED and status.kpis and status.metrics:
                markdown += status.kpis.markdown_variance
                planned_markdown += status.metrics.margin_impact
                margin_planned += status.metrics.planned_margin
                margin_actual += status.funding.claimed
                row["markdown variance"] = str(status.kpis.markdown_variance)
                row["margin vs plan (workflow)"] = str(status.kpis.margin_vs_plan)
            if event.deal_id and status.state is PromotionState.ENDED:
                deal = deals[event.deal_id]
                funded = set(deal["item_ids"])
                per_unit = Decimal(deal["funding_per_unit"])
                owed = sum(
                    (
                        per_unit * sold[(s, i.item_id)]
                        for s in published
                        for i in event.items
                        if i.item_id in funded
                    ),
                    Decimal(0),
                )
                if deal.get("cap_amount"):
                    owed = min(owed, Decimal(deal["cap_amount"]))
                claimed = await _claimed(url, pid)
                owed_total += cents(owed)
                claimed_total += claimed
                diff_total += abs(claimed - cents(owed))
                row["funding owed / claimed"] = f"{cents(owed)} / {claimed}"
            for task in await tasks.list(promotion_id=pid):
                if task.status == "COMPLETED" and task.closed_at and task.closed_at > task.due_at:
                    waits.append(clock.sim_hours(task.closed_at - task.due_at))
                elif task.closed_at is None and task.status == "OPEN":
                    unresolved += 1
            held_at: dict[str, datetime] = {}
            for entry in status.audit:
                store = entry.detail.split(":", 1)[0]
                if entry.action == "store held":
                    held_at.setdefault(store, entry.at)
                elif entry.action == "gate overridden" and store in held_at:
                    waits.append(clock.sim_hours(entry.at - held_at.pop(store)))
            unresolved += len(held_at)
            per_event.append(row)
    recommendations: dict[str, int] = defaultdict(int)
    for pid in sorted(statuses):
        with contextlib.suppress(Exception):
            handle = client.get_workflow_handle(monitor_workflow_id(pid))
            summary: MonitorSummary = await asyncio.wait_for(
                handle.query(SellThroughMonitor.status), 15
            )
            for r in summary.recommendations:
                how = "automatic" if r.automatic else "for approval"
                recommendations[f"{r.kind.value} ({how})"] += 1
    refunded = accurate = 0
    mismatches: list[str] = []
    cycle: list[float] = []
    async with PosClient(url) as pos:
        for rma, rs in sorted(returns.items()):
            refunds = await pos.refunds(rma_id=rma)
            if not refunds or rs.quote is None:
                continue
            refunded += 1
            total = sum((r.amount for r in refunds), Decimal(0))
            order = await pos.get_order(rs.order_id)
            paid = {t.tender_id: t.amount for t in order.tenders}
            per_tender: dict[str | None, Decimal] = defaultdict(Decimal)
            for r in refunds:
                if r.tender_type == "store_credit" and r.tender_id is None:
                    continue  # new store credit issued: not a tender of the order
                per_tender[r.tender_id] += r.amount
            beyond = {
                tid: amount
                for tid, amount in per_tender.items()
                if tid is not None and amount > paid.get(tid, Decimal(0))
            }
            within = not beyond
            if total == rs.quote.net and within:
                accurate += 1
            else:
                mismatches.append(
                    f"{rma}: refunded {total} over {len(refunds)} leg(s) against a quoted "
                    f"{rs.quote.net} ({rs.state.value}"
                    + "".join(
                        f"; tender {tid} paid {paid.get(tid, Decimal(0))}, refunded {amount}"
                        for tid, amount in beyond.items()
                    )
                    + (f", {rs.exception}" if rs.exception else "")
                    + ")"
                )
            if rs.receipt_to_refund_seconds is not None:
                cycle.append(rs.receipt_to_refund_seconds)
    launch_acc = ratio(first_ok, first_total)
    first = ratio(
        sum(v[0] for v in channel_first.values()), sum(v[1] for v in channel_first.values())
    )
    after = ratio(
        sum(v[0] for v in channel_after.values()), sum(v[1] for v in channel_after.values())
    )
    availability = ratio(pairs_available, pairs)
    stockout = ratio(stocked_out, live_pairs)
    p50, p95 = percentile(waits, 50), percentile(waits, 95)
    rebate = None if not owed_total else round(100 * (1 - float(diff_total / owed_total)), 1)
    margin_pct = ratio(float(margin_actual), float(margin_planned)) if margin_planned else None
    refund_acc = ratio(accurate, refunded)
    c50, c95 = percentile(cycle, 50), percentile(cycle, 95)
    ended = sum(1 for s in statuses.values() if s.state is PromotionState.ENDED)
    rejected = sum(1 for s in statuses.values() if s.state is PromotionState.REJECTED)
    values = {
        "launch accuracy": _pct(launch_acc, "nothing was published"),
        "channel sync success (first try)": _pct(first, "nothing sent")
        + "  "
        + _channels(channel_first),
        "channel sync success (after reconciliation)": _pct(after, "nothing sent")
        + "  "
        + _channels(channel_after),
        "stock availability in the window": _pct(availability, "no launch went live"),
        "stockout rate": _pct(stockout, "no store went live"),
        "markdown variance": f"{cents(markdown)} ("
        + _pct(ratio(float(markdown), float(planned_markdown)), "no planned markdown")
        + " of the planned markdown)",
        "exception resolution time p50 / p95": (
            "n/a (no exception resolved)"
            if p50 is None
            else f"{p50:.1f} h / {p95:.1f} h ({len(waits)} resolved, {unresolved} unresolved)"
        ),
        "rebate recovery accuracy": _pct(rebate, "no funding owed")
        + f" (claimed {cents(claimed_total)} of {cents(owed_total)} owed)",
        "margin against plan": f"{cents(margin_actual - margin_planned)} ("
        + _pct(margin_pct, "no planned margin")
        + " of plan)",
        "refund accuracy": _pct(refund_acc, "no refund issued") + f" ({accurate}/{refunded})",
        "refund cycle time p50 / p95": (
            "n/a (no refund issued)"
            if c50 is None
            else f"{c50:.1f} s / {c95:.1f} s ({clock.sim_hours_s(c50):.2f} h / "
            f"{clock.sim_hours_s(c95 or 0):.2f} h simulated)"
        ),
    }
    numbers = {
        "launch accuracy": launch_acc,
        "channel sync success (first try)": first,
        "channel sync success (after reconciliation)": after,
        "stock availability in the window": availability,
        "stockout rate": stockout,
        "markdown variance": float(markdown),
        "exception resolution time p50 / p95": p50,
        "rebate recovery accuracy": rebate,
        "margin against plan": margin_pct,
        "refund accuracy": refund_acc,
        "refund cycle time p50 / p95": c50,
        **{f"first try ({ch})": ratio(ok, n) for ch, (ok, n) in channel_first.items()},
        **{f"after reconciliation ({ch})": ratio(ok, n) for ch, (ok, n) in channel_after.items()},
    }
    counts = {
        "events": len(statuses),
        "ended": ended,
        "rejected": rejected,
        "other": len(statuses) - ended - rejected,
        "pairs": pairs,
        "live pairs": live_pairs,
        "till sales": sales_page.count,
        "units sold": sum(sold.values()),
        "returns": len(returns),
        "refunded": refunded,
        **{
            f"returns {state.lower()}": sum(1 for r in returns.values() if r.state.value == state)
            for state in sorted({r.state.value for r in returns.values()})
        },
        "exceptions resolved": len(waits),
        "exceptions unresolved": unresolved,
    }
    counts.update({f"recommended {k}": v for k, v in sorted(recommendations.items())})
    return WeekKpis(
        values=values,
        mismatches=mismatches,
        numbers=numbers,
        per_event=per_event,
        counts=counts,
        series={
            "exception hours": waits,
            "refund seconds": cycle,
            "sale hours": [
                clock.sim_hours(
                    e.created_at.replace(tzinfo=clock.week_start.tzinfo) - clock.week_start
                )
                for e in sales_page.entries
            ],
        },
    )


def _channels(totals: dict[str, list[int]]) -> str:
    return ", ".join(f"{ch} {ok}/{n}" for ch, (ok, n) in sorted(totals.items()))


async def _claimed(url: str, promotion_id: str) -> Decimal:
    from adapters.erp import ErpClient

    async with ErpClient(url) as erp:
        summary = await erp.funding(promotion_id)
    return cents(summary.claimed_amount)
