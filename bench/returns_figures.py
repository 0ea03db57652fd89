"""The returns surge's figures: counted from the backoffice's ledger, and the chart.

Refunds are read back from the effects ledger (`GET /ledger`, system `pos`, subjects
`refund:{rma}:{tender}`): a subject seen twice is a doubled refund of that tender; a
return whose refunds do not add up to its TPC-DS amount is short. Receipt -> refund is
from the moment the store's scan was posted (bench clock) to the last refund leg of the
return committed in the ledger (backoffice clock, the same machine).
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from returns_data import PREFIXES, Case, Plan


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int | str = "self") -> float:
    """Peak resident memory of a process (VmHWM; `ru_maxrss` would count the parent's
    memory at fork, which Linux carries across exec)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ledger_refunds(backoffice_url: str, variant: str) -> list[dict[str, Any]]:
    prefix = f"refund:{PREFIXES[variant]}-RMA-"
    page = httpx.get(
        f"{backoffice_url}/ledger",
        params={"system": "pos", "subject_prefix": prefix, "limit": 100_000},
        timeout=60,
    ).json()
    if page["count"] > len(page["entries"]):
        raise RuntimeError(f"the ledger holds {page['count']} refunds, more than one page")
    entries: list[dict[str, Any]] = page["entries"]
    return entries


def refund_check(
    entries: list[dict[str, Any]], cases: list[Case], outcomes: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Doubled refunds per tender, returns short or over, and refund time per return."""
    per_subject = Counter(e["subject"] for e in entries)
    doubled = {s: n for s, n in per_subject.items() if n > 1}
    total: dict[str, Decimal] = defaultdict(Decimal)
    last: dict[str, float] = {}
    for e in entries:
        rma = e["subject"].split(":")[1]
        total[rma] += Decimal(str(e["amount"]))
        at = datetime.fromisoformat(e["created_at"]).timestamp()
        last[rma] = max(last.get(rma, 0.0), at)
    started = [c for c in cases if c.rma_id in outcomes]
    wrong = [
        f"{c.rma_id}: refunded {total.get(c.rma_id, Decimal(0))} of {c.source.return_amount}"
        for c in started
        if total.get(c.rma_id, Decimal(0)) != c.source.return_amount
    ]
    latencies = {rma: last[rma] - o["receipt_at"] for rma, o in outcomes.items() if rma in last}
    return {
        "refund_legs": len(entries),
        "doubled": sum(n - 1 for n in doubled.values()),
        "doubled_subjects": sorted(doubled)[:20],
        "wrong_totals": wrong[:20],
        "wrong_total_count": len(wrong),
        "refunded": str(sum(total.values(), Decimal(0))),
        "latency": latencies,
    }


def phase_figures(
    plan: Plan, rounds: list[tuple[dict[str, Any], dict[str, float]]]
) -> dict[str, Any]:
    """Per phase, pooled over the rounds (each a run and its receipt -> refund latencies):
    offered rate; completed per second (the phase's returns over the time from the phase's
    start to the last of them done, summed over rounds); p50/p95 receipt -> refund."""
    figures: dict[str, Any] = {}
    bounds = {
        "base": (0.0, plan.base_rate),
        "surge": (plan.base_s, plan.base_rate * plan.surge_factor),
    }
    for phase, (start, rate) in bounds.items():
        completed, drained, lat, per_round = 0, 0.0, [], []
        for run, latency in rounds:
            mine = {rma: o for rma, o in run["outcomes"].items() if o["phase"] == phase}
            ends = max((o["completed_at"] - run["t0"] for o in mine.values()), default=start)
            completed += len(mine)
            drained += max(ends - start, 0.0)
            lat += [latency[rma] for rma in mine if rma in latency]
            per_round.append(len(mine) / (ends - start) if ends > start else 0.0)
        figures[phase] = {
            "offered_per_s": rate,
            "returns": sum(1 for a in plan.arrivals if a.phase == phase) * len(rounds),
            "completed": completed,
            "completed_per_s": completed / drained if drained else 0.0,
            "per_round": per_round,
            "p50_receipt_to_refund_s": pct(lat, 0.5),
            "p95_receipt_to_refund_s": pct(lat, 0.95),
        }
    return figures


def completions_per_second(run: dict[str, Any]) -> list[int]:
    times = [o["completed_at"] - run["t0"] for o in run["outcomes"].values()]
    bins = [0] * (int(max(times, default=0)) + 1)
    for t in times:
        bins[max(0, int(t))] += 1
    return bins


def chart(path: Path, plan: Plan, runs: dict[str, list[dict[str, Any]]]) -> None:
    """Completions per second over time for each variant, base and surge phases marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5))
    ax.axvspan(0, plan.base_s, color="tab:green", alpha=0.08, label="base phase")
    ax.axvspan(plan.base_s, plan.ends, color="tab:red", alpha=0.08, label="5x surge")
    offered = Counter(int(a.at) for a in plan.arrivals)
    xs = list(range(int(plan.ends) + 1))
    ax.step(xs, [offered.get(x, 0) for x in xs], where="post", color="grey", label="offered")
    styles = {"product": ("tab:blue", "-"), "bare": ("tab:orange", "-"), "plain": ("tab:gray", ":")}
    for variant, rounds in runs.items():
        color, line = styles.get(variant, ("black", "-"))
        label = {"product": "product (ReturnToRefund)", "bare": "bare workflow"}.get(
            variant, "plain script"
        )
        for k, run in enumerate(rounds):
            bins = completions_per_second(run)
            ax.plot(
                range(len(bins)),
                bins,
                color=color,
                linestyle=line,
                alpha=1.0 if k == 0 else 0.45,
                label=f"{label}, round {k + 1}",
            )
    ax.set_xlabel("seconds since the first arrival")
    ax.set_ylabel("returns completed per second")
    ax.set_title("Returns surge: TPC-DS store returns, base rate then 5x")
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
