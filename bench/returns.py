"""Returns surge: TPC-DS store returns refunded over their split tenders, base rate then 5x.

    python bench/returns.py                   # the quick run (2 to 3 minutes here)
    python bench/returns.py --full            # TPC-DS scale 0.1, longer phases, 3 rounds
    python bench/returns.py --base-rate 6     # skip the calibration, fix the base rate
    python bench/returns.py --profile         # sample the workers with py-spy

One run, one server: a local Temporal dev server (the pip-installed binary, in memory), a
live backoffice with its event ingress (`devstack.launch`, free ports, temporary folder,
every process stopped by pid), seeded with the default estate plus one POS order per
TPC-DS return and variant, paid by the return's tenders (`bench/returns_data.py`).

* calibration: a burst of bare-workflow returns; half of what it sustains is the base
  rate, so the base phase runs at half load and the 5x surge at 2.5x what the bare workflow
  takes: every variant queues in the surge, and its completed per second there is its
  capacity (the headline ratios are the surge's);
* bare: `returns_bare.BenchBareReturn`, the product's activity calls without its logic;
* product: `ReturnToRefund`, started as `return open` starts it (business key), its
  events through the ingress;
* plain: `returns_plain.py`, the same backoffice calls from one asyncio process.

The variants take turns in rounds, the order mirrored every other round (bare, product,
plain, then plain, product, bare), so that the load of a shared machine falls on all of
them alike; figures are pooled over the rounds. Workers are their own processes
(`returns_worker.py`), one per variant for the whole run. Load: `returns_data.plan`, 1% of
returns requested twice and 1% with one event twice. Figures per variant and phase:
completed per second, p50/p95 receipt -> refund, doubled refunds per tender counted in the
backoffice ledger, CPU per return of every process, worker peak memory. Saved with
`results.save("returns", ...)`; completions over time in bench/results/returns_surge.png.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from results import RESULTS_DIR, save  # noqa: E402
from returns_data import (  # noqa: E402
    Arrival,
    Case,
    Plan,
    bench_policy,
    cases,
    estate,
    plan,
    returns_to_json,
)
from returns_drive import Driver  # noqa: E402
from returns_figures import (  # noqa: E402
    chart,
    cpu_seconds,
    ledger_refunds,
    pct,
    phase_figures,
    refund_check,
)
from returns_profile import Sampler, summary, words  # noqa: E402
from returns_stack import Stack, WorkerProcess  # noqa: E402
from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.client import Client  # noqa: E402

from datasets.tpcds import StoreReturn, store_returns  # noqa: E402
from devstack.launch import ensure_codec_key  # noqa: E402
from domain.returns.status import ReturnState, ReturnStatus  # noqa: E402

WARM_UP = 5
MAX_BASE_RATE = 15.0
"""Returns/s: the base rate is never set above this (the estate is seeded for it)."""
VARIANTS = ("bare", "product", "plain")


def product_ok(case: Case, status: Any) -> bool:
    return (
        isinstance(status, ReturnStatus)
        and status.state is ReturnState.CLOSED
        and status.refunded_total == case.source.return_amount
    )


def bare_ok(case: Case, refunded: Any) -> bool:
    return Decimal(str(refunded)) == case.source.return_amount


def cpu(pids: dict[str, int]) -> dict[str, float]:
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


def arrivals(plan_: Plan, offset: int, phase: str | None = None) -> Plan:
    """The plan on other cases (`offset` added to every case number)."""
    moved = Plan(plan_.base_rate, plan_.base_s, plan_.surge_s, plan_.surge_factor)
    moved.arrivals = [
        Arrival(a.at, a.n + offset, phase or a.phase, a.duplicate_request, a.duplicate_event)
        for a in plan_.arrivals
    ]
    return moved


def burst(count: int, first: int = 0) -> Plan:
    p = Plan(base_rate=1.0, base_s=0.0, surge_s=0.0)
    p.arrivals = [Arrival(at=0.0, n=first + n, phase="burst") for n in range(count)]
    return p


async def closed_at_server(client: Client, queue: str, run: dict[str, Any]) -> None:
    """Completion times as the server recorded them (close time), not when the driver's
    long poll for the result happened to return. Visibility is updated a moment after a
    run closes: the listing is read again until it has every run (at most 30 s)."""
    wanted = {o["workflow_id"] for o in run["outcomes"].values()}
    deadline = time.monotonic() + 30
    while True:
        closed = {
            w.id: w.close_time.timestamp()
            async for w in client.list_workflows(f'TaskQueue="{queue}"')
            if w.close_time is not None
        }
        missing = wanted - closed.keys()
        if not missing:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"no close time in visibility for {sorted(missing)[:5]}")
        await asyncio.sleep(0.5)  # visibility catching up, not a race workaround
    for outcome in run["outcomes"].values():
        outcome["client_completed_at"] = outcome["completed_at"]
        outcome["completed_at"] = closed[outcome["workflow_id"]]


async def history_sizes(client: Client, run: dict[str, Any], sample: int = 20) -> dict[str, Any]:
    """Events per run and the kinds that make them up, over a sample of the runs."""
    kinds: Counter[str] = Counter()
    ids = [o["workflow_id"] for o in list(run["outcomes"].values())[:sample]]
    for wid in ids:
        history = await client.get_workflow_handle(wid).fetch_history()
        kinds.update(
            EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in history.events
        )
    count = max(len(ids), 1)
    return {
        "events_per_run": sum(kinds.values()) / count,
        "by_kind": {k: round(v / count, 1) for k, v in kinds.most_common()},
    }


class Bench:
    def __init__(self, args: argparse.Namespace, returns: list[StoreReturn], work: Path) -> None:
        self.args = args
        self.returns = returns
        self.work = work
        self.stack = Stack(work, estate(returns, len(returns)))
        self.workers: dict[str, WorkerProcess] = {}
        self.samplers: list[Sampler] = []

    def driver(self, variant: str) -> Driver:
        return Driver(
            self.stack.client,
            self.stack.bo.ingress.url,
            variant=variant,
            task_queue=self.workers[variant if variant != "calibration" else "bare"].queue,
            policy=bench_policy(),
            ok=product_ok if variant == "product" else bare_ok,
        )

    async def start(self) -> None:
        await self.stack.up()
        self.workers = {v: WorkerProcess(self.stack, v) for v in ("bare", "product")}
        for worker in self.workers.values():
            await worker.ready()
        warm = burst(WARM_UP, first=len(self.returns) - WARM_UP)
        for variant in self.workers:
            await self.driver(variant).drive(warm, cases(variant, self.returns, len(self.returns)))
        if self.args.profile:
            self.samplers = [
                Sampler(w.pid, self.work / f"pyspy-{v}.txt") for v, w in self.workers.items()
            ]

    async def calibrate(self) -> float:
        """Returns per second the bare workflow sustains: a burst, all its returns
        started at once, over the time until the last is done (a little under its
        capacity: the last return's own latency is in it)."""
        run = await self.driver("calibration").drive(
            burst(self.args.calibration), cases("calibration", self.returns, len(self.returns))
        )
        done = [o["completed_at"] for o in run["outcomes"].values()]
        return len(done) / max(max(done) - run["t0"], 1e-6)

    async def workflow_round(self, variant: str, load: Plan) -> dict[str, Any]:
        worker = self.workers[variant]
        pids = {**self.stack.pids(), "worker": worker.pid, "driver": os.getpid()}
        before = cpu(pids)
        run = await self.driver(variant).drive(
            load, cases(variant, self.returns, len(self.returns))
        )
        after = cpu(pids)
        run["cpu_s"] = {name: after[name] - before[name] for name in pids}
        await closed_at_server(self.stack.client, worker.queue, run)
        run["history"] = await history_sizes(self.stack.client, run)
        return run

    async def plain_round(self, load: Plan, k: int) -> dict[str, Any]:
        plan_file = self.work / f"plain-plan-{k}.json"
        document = {**load.to_json(), "returns": returns_to_json(self.returns)}
        plan_file.write_text(json.dumps(document))
        out = self.work / f"plain-{k}.json"
        pids = self.stack.pids()
        before = cpu(pids)
        argv = [str(HERE / "returns_plain.py"), "--plan", str(plan_file)]
        argv += ["--backoffice", self.stack.bo.url, "--out", str(out)]
        process = await asyncio.create_subprocess_exec(sys.executable, *argv, env=self.stack.env())
        if await process.wait():
            raise RuntimeError("the plain script failed")
        after = cpu(pids)
        run: dict[str, Any] = json.loads(out.read_text())
        run["cpu_s"] = {name: after[name] - before[name] for name in pids}
        run["cpu_s"]["worker"] = run.pop("cpu_s_self")
        run["failures"] = [r for r, o in run["outcomes"].items() if not o["ok"]]
        return run

    def stop(self) -> None:
        for sampler in self.samplers:
            sampler.stop()
        for worker in self.workers.values():
            worker.stop()
        self.stack.down()


def cpu_total(rounds: list[dict[str, Any]]) -> float:
    """CPU ms per return over every process of the variant but the load driver (worker or
    plain script, Temporal server, backoffice, ingress): a figure the machine's other load
    moves much less than wall time."""
    done = sum(len(run["outcomes"]) for run in rounds) or 1
    spent = sum(v for run in rounds for k, v in run["cpu_s"].items() if k != "driver")
    return 1000 * spent / done


def figures(
    load: Plan, runs: dict[str, list[dict[str, Any]]], checks: dict[str, dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    rows, pooled = [], {}
    for variant, rounds in runs.items():
        latency = checks[variant]["latency"]
        pooled[variant] = phase_figures(load, [(run, latency) for run in rounds])
        done = sum(len(run["outcomes"]) for run in rounds) or 1
        cpu_ms: Counter[str] = Counter()
        for run in rounds:
            cpu_ms.update({k: 1000 * v / done for k, v in run["cpu_s"].items()})
        for phase, f in pooled[variant].items():
            rows.append(
                {
                    "variant": variant,
                    "phase": phase,
                    "offered/s": f["offered_per_s"],
                    "returns": f["returns"],
                    "completed": f["completed"],
                    "completed/s": f["completed_per_s"],
                    "p50 receipt->refund s": f["p50_receipt_to_refund_s"],
                    "p95 receipt->refund s": f["p95_receipt_to_refund_s"],
                    "doubled refunds": checks[variant]["doubled"],
                    "dup requests refused": sum(r["duplicate_requests_refused"] for r in rounds),
                    "peak MiB": checks[variant].get("peak_rss_mib"),
                    "cpu ms/return: worker": round(cpu_ms["worker"], 1),
                    "temporal": round(cpu_ms["temporal"], 1),
                    "backoffice": round(cpu_ms["backoffice"], 1),
                    "ingress": round(cpu_ms["ingress"], 1),
                    "driver": round(cpu_ms["driver"], 1),
                }
            )
    return rows, pooled


async def main(args: argparse.Namespace) -> int:
    ensure_codec_key()
    per_round = args.base_s + 5 * args.surge_s
    # seed only what the fastest plan could use (bare workflow at 2 x MAX_BASE_RATE)
    wanted = int(MAX_BASE_RATE * per_round * args.rounds) + WARM_UP + 2 * args.rounds
    returns = store_returns(args.scale)[:wanted]
    work = Path(tempfile.mkdtemp(prefix="bench-returns-"))
    max_rate = (len(returns) - WARM_UP - 2 * args.rounds) / (args.rounds * per_round)
    bench = Bench(args, returns, work)
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    timings: dict[str, float] = {}
    started = time.monotonic()
    try:
        await bench.start()
        timings["start_s"] = time.monotonic() - started
        rate = args.base_rate
        if rate is None:
            sustained = await bench.calibrate()
            rate = max(0.5, round(sustained) / 2)
            print(f"calibration: the bare workflow sustains {sustained:.1f} returns/s", flush=True)
            timings["calibration_s"] = time.monotonic() - started - timings["start_s"]
        rate = min(rate, max_rate)
        load = plan(rate, args.base_s, args.surge_s)
        size = len(load.arrivals)
        print(
            f"base {rate}/s for {args.base_s:.0f} s, then {5 * rate}/s for {args.surge_s:.0f} s: "
            f"{size} returns per round, {args.rounds} rounds",
            flush=True,
        )
        for k in range(args.rounds):
            shifted = arrivals(load, k * size)
            for variant in VARIANTS if k % 2 == 0 else tuple(reversed(VARIANTS)):
                t = time.monotonic()
                if variant == "plain":
                    run = await bench.plain_round(shifted, k)
                else:
                    run = await bench.workflow_round(variant, shifted)
                runs[variant].append(run)
                timings[f"{variant}_{k + 1}_s"] = time.monotonic() - t
                print(
                    f"   round {k + 1} {variant}: {time.monotonic() - t:.0f} s, "
                    f"{len(run['failures'])} failures {run['failures'][:3]}",
                    flush=True,
                )
        checks = {}
        for variant in VARIANTS:
            mine = cases(variant, returns, len(returns))
            outcomes = {rma: o for run in runs[variant] for rma, o in run["outcomes"].items()}
            checks[variant] = refund_check(
                ledger_refunds(bench.stack.bo.url, variant), mine, outcomes
            )
    finally:
        bench.stop()
        profiles = {v: summary(s.out) for v, s in zip(bench.workers, bench.samplers, strict=False)}
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    for variant, worker in bench.workers.items():
        checks[variant]["peak_rss_mib"] = worker.peak_rss_mib
    checks["plain"]["peak_rss_mib"] = max(r["peak_rss_mib"] for r in runs["plain"])
    timings["total_s"] = time.monotonic() - started
    rows, pooled = figures(load, runs, checks)
    surge = {v: pooled[v]["surge"]["completed_per_s"] for v in VARIANTS}
    per_round = [
        p / b if b else 0.0
        for p, b in zip(
            pooled["product"]["surge"]["per_round"],
            pooled["bare"]["surge"]["per_round"],
            strict=True,
        )
    ]
    offered = load.base_rate * load.surge_factor
    saturated = {v: surge[v] < 0.9 * offered for v in VARIANTS}
    cpu_per_return = {v: cpu_total(runs[v]) for v in VARIANTS}
    product_lat = list(checks["product"]["latency"].values())
    headlines: dict[str, float | int | str] = {
        "returns ratio to bare workflow": surge["product"] / surge["bare"],
        "returns ratio to plain script": surge["product"] / surge["plain"],
        "returns doubled refunds": sum(c["doubled"] for c in checks.values()),
        "returns completed/s product": surge["product"],
        "returns completed/s bare workflow": surge["bare"],
        "returns completed/s plain script": surge["plain"],
        "returns p50 receipt to refund s": pct(product_lat, 0.5) or 0.0,
        "returns p95 receipt to refund s": pct(product_lat, 0.95) or 0.0,
        "returns worker peak MiB": checks["product"]["peak_rss_mib"] or 0.0,
        "returns cpu ms per return product": cpu_per_return["product"],
        "returns cpu ratio bare workflow to product": cpu_per_return["bare"]
        / cpu_per_return["product"],
    }
    chart(RESULTS_DIR / "returns_surge.png", load, runs)
    extra = {
        "plan": {k: v for k, v in load.to_json().items() if k != "arrivals"},
        "rounds": args.rounds,
        "timings": timings,
        "saturated_in_surge": saturated,
        "cpu_ms_per_return_all_processes": cpu_per_return,
        "per_round_surge_completed_per_s": {v: pooled[v]["surge"]["per_round"] for v in VARIANTS},
        "per_round_ratio_to_bare_workflow": per_round,
        "checks": {v: {k: x for k, x in c.items() if k != "latency"} for v, c in checks.items()},
        "tallies": [
            {"variant": v, **{k: x for k, x in r.items() if k not in ("outcomes", "t0")}}
            for v in VARIANTS
            for r in runs[v]
        ],
        "profiles": profiles,
    }
    save("returns", rows=rows, headlines=headlines, extra=extra)
    for variant, rounds in runs.items():
        if rounds and rounds[0].get("history"):
            print(f"{variant}: {rounds[0]['history']['events_per_run']:.0f} history events per run")
    print("surge ratio to bare workflow per round: " + ", ".join(f"{r:.2f}" for r in per_round))
    for variant in VARIANTS:
        if not saturated[variant]:
            print(
                f"note: {variant} kept up with the surge ({surge[variant]:.2f}/s of "
                f"{offered:.2f}/s offered): its completed/s there is a floor, not its capacity"
            )
    for variant, profile in profiles.items():
        print(f"-- {variant} worker, py-spy samples\n{words(profile)}")
    bad = [v for v in VARIANTS if checks[v]["doubled"] or checks[v]["wrong_total_count"]]
    bad += [v for v in VARIANTS if any(r["failures"] for r in runs[v])]
    if bad:
        print(f"returns bench: problems in {', '.join(sorted(set(bad)))}")
    return 1 if bad else 0


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--full", action="store_true", help="TPC-DS scale 0.1, longer phases")
    parser.add_argument("--scale", type=float, help="TPC-DS scale factor (default 0.01)")
    parser.add_argument("--base-rate", type=float, help="returns/s at base (default: calibrated)")
    parser.add_argument("--base-s", type=float, help="length of the base phase (default 8 s)")
    parser.add_argument("--surge-s", type=float, help="length of the 5x surge (default 4 s)")
    parser.add_argument("--rounds", type=int, help="rounds of the three variants (default 2)")
    parser.add_argument("--calibration", type=int, default=40, help="returns in the burst")
    parser.add_argument("--profile", action="store_true", help="sample the workers (py-spy)")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (logs)")
    args = parser.parse_args()
    args.scale = args.scale or (0.1 if args.full else 0.01)
    args.base_s = args.base_s or (40.0 if args.full else 8.0)
    args.surge_s = args.surge_s or (20.0 if args.full else 4.0)
    args.rounds = args.rounds or (3 if args.full else 2)
    if min(args.base_s, args.surge_s, args.rounds, args.base_rate or 1) <= 0:
        parser.error("--base-s, --surge-s, --rounds and --base-rate must be more than zero")
    if args.calibration < 10:
        parser.error("--calibration needs at least 10 returns")
    sys.exit(asyncio.run(main(args)))


if __name__ == "__main__":
    cli()
