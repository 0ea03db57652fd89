"""Returns surge: TPC-DS store returns refunded over their split tenders, base rate then 5x.

    python bench/returns.py                   # the quick run (about 2 minutes here)
    python bench/returns.py --full            # TPC-DS scale 0.1, longer phases
    python bench/returns.py --base-rate 6     # skip the calibration, fix the base rate
    python bench/returns.py --profile         # the workers under cProfile (slower)

One run, one server: a local Temporal dev server (the pip-installed binary, in memory), a
live backoffice with its event ingress (`devstack.launch`, free ports, temporary folder,
every process stopped by pid), seeded with the default estate plus one POS order per
TPC-DS return and variant, paid by the return's tenders (`bench/returns_data.py`).

Variants, each on the same load plan, one after the other:

* calibration: a burst of bare-workflow returns; what it sustains sets the base rate
  (half of it, so the base phase runs at half load and the 5x surge at 2.5x what the bare
  workflow can take: both queue, and completed per second in the surge is capacity);
* bare: `returns_bare.BenchBareReturn`, the product's activity calls without its logic;
* product: `ReturnToRefund`, started as `return open` starts it (business key), events
  through the ingress;
* plain: `returns_plain.py`, the same backoffice calls from one asyncio process.

Workers run as their own processes (`returns_worker.py`). Load: the plan's arrivals
(`returns_data.plan`), 1% of returns requested twice and 1% with one event twice.
Figures (per variant and phase): completed per second, p50/p95 receipt -> refund, doubled
refunds per tender from the backoffice ledger, CPU per return of every process, worker
peak memory. Saved with `results.save("returns", ...)`; the chart of completions over time
goes to bench/results/returns_surge.png.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.client import Client  # noqa: E402

from common.search_attributes import cli_declarations  # noqa: E402
from common.temporal import data_converter  # noqa: E402
from datasets.tpcds import StoreReturn, store_returns  # noqa: E402
from devstack.launch import BackofficeProcess, ensure_codec_key  # noqa: E402
from devstack.processes import free_port, installed_binary  # noqa: E402
from domain.returns.status import ReturnState, ReturnStatus  # noqa: E402
from results import RESULTS_DIR, save  # noqa: E402
from returns_data import Arrival, Case, Plan, bench_policy, cases, estate, plan, returns_to_json  # noqa: E402
from returns_drive import Driver  # noqa: E402
from returns_figures import (  # noqa: E402
    chart,
    cpu_seconds,
    ledger_refunds,
    peak_rss_mib,
    pct,
    phase_figures,
    refund_check,
)

WARM_UP = 5
PACING = {"BACKOFFICE_LOG_LEVEL": "error"}


def product_ok(case: Case, status: Any) -> bool:
    return (
        isinstance(status, ReturnStatus)
        and status.state is ReturnState.CLOSED
        and status.refunded_total == case.source.return_amount
    )


def bare_ok(case: Case, refunded: Any) -> bool:
    return Decimal(str(refunded)) == case.source.return_amount


class Stack:
    """Temporal dev server, backoffice + ingress; everything stopped by pid."""

    def __init__(self, work: Path, estate_doc: dict[str, Any]) -> None:
        self.work = work
        port = free_port()
        self.address = f"127.0.0.1:{port}"
        argv = [installed_binary("temporal"), "server", "start-dev", "--ip", "127.0.0.1"]
        argv += ["--port", str(port), "--headless", "--log-level", "error"]
        for declaration in cli_declarations():
            argv += ["--search-attribute", declaration]
        with open(work / "temporal.log", "wb") as log:
            self.temporal = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        (work / "estate.json").write_text(json.dumps(estate_doc))
        self.backoffice: BackofficeProcess | None = None
        self.client: Client | None = None

    async def up(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                await Client.connect(self.address)
                break
            except Exception:  # noqa: BLE001 - readiness poll
                if time.monotonic() > deadline or self.temporal.poll() is not None:
                    raise RuntimeError(f"the dev server did not start: see {self.work}") from None
                await asyncio.sleep(0.2)
        self.client = await Client.connect(self.address, data_converter=data_converter())
        self.backoffice = await asyncio.to_thread(
            BackofficeProcess.start,
            temporal_address=self.address,
            extra_env={**PACING, "BACKOFFICE_ESTATE": str(self.work / "estate.json")},
            ready_timeout_s=300,
            workdir=self.work,
        )

    def pids(self) -> dict[str, int]:
        assert self.backoffice is not None
        return {
            "temporal": self.temporal.pid,
            "backoffice": self.backoffice.process.pid,
            "ingress": self.backoffice.ingress.process.pid,
            "driver": os.getpid(),
        }

    def env(self) -> dict[str, str]:
        assert self.backoffice is not None
        return {
            **os.environ,
            "TEMPORAL_ADDRESS": self.address,
            "BACKOFFICE_URL": self.backoffice.url,
            "PYTHONPATH": str(HERE.parent),
        }

    def down(self) -> None:
        if self.backoffice is not None:
            self.backoffice.stop()
        if self.temporal.poll() is None:
            self.temporal.send_signal(signal.SIGTERM)
            try:
                self.temporal.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.temporal.kill()
                self.temporal.wait()


def cpu(pids: dict[str, int]) -> dict[str, float]:
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


def warm_plan(count: int) -> Plan:
    p = Plan(base_rate=1.0, base_s=0.0, surge_s=0.0)
    p.arrivals = [Arrival(at=0.0, n=count + k, phase="warm") for k in range(WARM_UP)]
    return p


async def run_workflow_variant(
    stack: Stack, variant: str, load: Plan, all_cases: list[Case], *, profile: bool
) -> dict[str, Any]:
    assert stack.client is not None
    queue = f"bench-returns-{variant}-{uuid.uuid4().hex[:6]}"
    out = stack.work / f"worker-{variant}.json"
    argv = [sys.executable, str(HERE / "returns_worker.py"), "--task-queue", queue]
    argv += ["--out", str(out)] + (["--profile"] if profile else [])
    with open(stack.work / f"worker-{variant}.log", "wb") as log:
        worker = subprocess.Popen(argv, env=stack.env(), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not out.exists():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {variant} worker did not start: see {stack.work}")
            await asyncio.sleep(0.1)
        ok = product_ok if variant == "product" else bare_ok

        def driver() -> Driver:
            return Driver(
                stack.client,  # type: ignore[arg-type]
                stack.backoffice.ingress.url,  # type: ignore[union-attr]
                variant=variant,
                task_queue=queue,
                policy=bench_policy(),
                ok=ok,
            )

        if variant != "calibration":
            await driver().drive(warm_plan(len(load.arrivals)), all_cases)
        pids = {**stack.pids(), "worker": worker.pid}
        before = cpu(pids)
        run = await driver().drive(load, all_cases)
        after = cpu(pids)
        await closed_at_server(stack.client, queue, run)
        run["history"] = await history_sizes(stack.client, run)
        run["cpu_s"] = {name: after[name] - before[name] for name in pids}
        run["peak_rss_mib"] = peak_rss_mib(worker.pid)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    report = json.loads(out.read_text())
    run["profile"] = report.get("profile")
    return run


async def run_plain(stack: Stack, load: Plan, returns: list[StoreReturn]) -> dict[str, Any]:
    assert stack.backoffice is not None
    plan_file = stack.work / "plain-plan.json"
    plan_file.write_text(json.dumps({**load.to_json(), "returns": returns_to_json(returns)}))
    out = stack.work / "plain.json"
    pids = {k: v for k, v in stack.pids().items() if k != "driver"}
    before = cpu(pids)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HERE / "returns_plain.py"),
        "--plan",
        str(plan_file),
        "--backoffice",
        stack.backoffice.url,
        "--out",
        str(out),
        env=stack.env(),
    )
    if await process.wait():
        raise RuntimeError("the plain script failed")
    after = cpu(pids)
    run: dict[str, Any] = json.loads(out.read_text())
    run["cpu_s"] = {name: after[name] - before[name] for name in pids}
    run["cpu_s"]["worker"] = run.pop("cpu_s_self")
    run["failures"] = [r for r, o in run["outcomes"].items() if not o["ok"]]
    return run


async def closed_at_server(client: Client, queue: str, run: dict[str, Any]) -> None:
    """Completion times as the server recorded them (close time), not when the driver's
    long poll for the result happened to return."""
    closed = {
        w.id: w.close_time.timestamp()
        async for w in client.list_workflows(f'TaskQueue="{queue}"')
        if w.close_time is not None
    }
    for rma, outcome in run["outcomes"].items():
        if outcome["workflow_id"] not in closed:
            raise RuntimeError(f"{rma}: no close time in visibility")
        outcome["client_completed_at"] = outcome["completed_at"]
        outcome["completed_at"] = closed[outcome["workflow_id"]]


async def history_sizes(client: Client, run: dict[str, Any], sample: int = 20) -> dict[str, Any]:
    """Events per run and the kinds that make them up, over a sample of the runs."""
    kinds: Counter[str] = Counter()
    ids = [o["workflow_id"] for o in list(run["outcomes"].values())[:sample]]
    for wid in ids:
        history = await client.get_workflow_handle(wid).fetch_history()
        kinds.update(EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in history.events)
    count = max(len(ids), 1)
    return {
        "events_per_run": sum(kinds.values()) / count,
        "by_kind": {k: round(v / count, 1) for k, v in kinds.most_common()},
    }


def burst(count: int) -> Plan:
    p = Plan(base_rate=1.0, base_s=0.0, surge_s=0.0)
    p.arrivals = [Arrival(at=0.0, n=n, phase="burst") for n in range(count)]
    return p


def capacity(run: dict[str, Any]) -> float:
    """Completions per second between the 20th and 80th percentile of the burst."""
    done = sorted(o["completed_at"] for o in run["outcomes"].values())
    lo, hi = done[len(done) // 5], done[(4 * len(done)) // 5]
    return ((4 * len(done)) // 5 - len(done) // 5) / max(hi - lo, 1e-6)


def rows_for(variant: str, load: Plan, run: dict[str, Any], check: dict[str, Any]) -> list[dict[str, Any]]:
    figures = phase_figures(load, run, check["latency"])
    done = len(run["outcomes"]) or 1
    cpu_ms = {k: round(1000 * v / done, 1) for k, v in run["cpu_s"].items()}
    rows = []
    for phase, f in figures.items():
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
                "doubled refunds": check["doubled"],
                "dup requests refused": run["duplicate_requests_refused"],
                "worker peak MiB": run.get("peak_rss_mib"),
                "cpu ms/return worker": cpu_ms.get("worker"),
                "temporal": cpu_ms.get("temporal"),
                "backoffice": cpu_ms.get("backoffice"),
                "ingress": cpu_ms.get("ingress"),
                "driver": cpu_ms.get("driver"),
            }
        )
    return rows


async def main(args: argparse.Namespace) -> int:
    ensure_codec_key()
    returns = store_returns(args.scale)
    base_s, surge_s = args.base_s, args.surge_s
    max_rate = (len(returns) - WARM_UP - 2) / (base_s + 5 * surge_s)
    work = Path(tempfile.mkdtemp(prefix="bench-returns-"))
    per_variant = len(returns)
    stack = Stack(work, estate(returns, per_variant))
    runs: dict[str, dict[str, Any]] = {}
    checks: dict[str, dict[str, Any]] = {}
    timings: dict[str, float] = {}
    try:
        t = time.monotonic()
        await stack.up()
        timings["stack_up_s"] = time.monotonic() - t
        rate = args.base_rate
        if rate is None:
            t = time.monotonic()
            calib = await run_workflow_variant(
                stack, "calibration", burst(args.calibration), cases("calibration", returns, per_variant), profile=False
            )
            timings["calibration_s"] = time.monotonic() - t
            sustained = capacity(calib)
            rate = max(0.5, round(sustained / 2 * 2) / 2)
            print(f"calibration: the bare workflow sustains {sustained:.1f} returns/s; base rate {rate}/s", flush=True)
        rate = min(rate, max_rate)
        load = plan(rate, base_s, surge_s)
        n = len(load.arrivals)
        for variant in ("bare", "product", "plain"):
            t = time.monotonic()
            print(f"== {variant}: {n} returns, {rate}/s for {base_s:.0f} s then {5 * rate}/s for {surge_s:.0f} s", flush=True)
            mine = cases(variant, returns, per_variant)
            if variant == "plain":
                runs[variant] = await run_plain(stack, load, [c.source for c in mine])
            else:
                runs[variant] = await run_workflow_variant(stack, variant, load, mine, profile=args.profile)
            assert stack.backoffice is not None
            entries = ledger_refunds(stack.backoffice.url, variant)
            checks[variant] = refund_check(entries, mine, runs[variant]["outcomes"])
            timings[f"{variant}_s"] = time.monotonic() - t
            failures = runs[variant]["failures"]
            print(f"   done in {timings[variant + '_s']:.0f} s; {len(failures)} failures {failures[:3]}", flush=True)
    finally:
        stack.down()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    rows = [row for v in runs for row in rows_for(v, load, runs[v], checks[v])]
    surge = {v: phase_figures(load, runs[v], checks[v]["latency"])["surge"]["completed_per_s"] for v in runs}
    product_lat = list(checks["product"]["latency"].values())
    headlines: dict[str, float | int | str] = {
        "returns ratio to bare workflow": surge["product"] / surge["bare"],
        "returns ratio to plain script": surge["product"] / surge["plain"],
        "returns doubled refunds": sum(c["doubled"] for c in checks.values()),
        "returns completed/s product": surge["product"],
        "returns completed/s bare": surge["bare"],
        "returns completed/s plain": surge["plain"],
        "returns p50 receipt to refund s": pct(product_lat, 0.5) or 0.0,
        "returns p95 receipt to refund s": pct(product_lat, 0.95) or 0.0,
        "returns worker peak MiB": runs["product"]["peak_rss_mib"],
    }
    chart(RESULTS_DIR / "returns_surge.png", load, runs)
    extra = {
        "plan": {k: v for k, v in load.to_json().items() if k != "arrivals"},
        "timings": timings,
        "checks": {v: {k: x for k, x in c.items() if k != "latency"} for v, c in checks.items()},
        "tallies": {
            v: {k: x for k, x in r.items() if k not in ("outcomes", "profile", "t0")}
            for v, r in runs.items()
        },
        "profiles": {v: r.get("profile") for v, r in runs.items() if r.get("profile")},
    }
    save("returns", rows=rows, headlines=headlines, extra=extra)
    for variant, run in runs.items():
        if run.get("profile"):
            print(f"-- {variant} worker profile (cProfile, by own time)\n{run['profile']}")
    bad = [v for v in runs if runs[v]["failures"] or checks[v]["doubled"] or checks[v]["wrong_total_count"]]
    if bad:
        print(f"returns bench: problems in {', '.join(bad)}")
    return 1 if bad else 0


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--full", action="store_true", help="TPC-DS scale 0.1, 60 s + 30 s phases")
    parser.add_argument("--scale", type=float, help="TPC-DS scale factor (default 0.01)")
    parser.add_argument("--base-rate", type=float, help="returns/s of the base phase (default: calibrated)")
    parser.add_argument("--base-s", type=float, help="length of the base phase (default 15 s)")
    parser.add_argument("--surge-s", type=float, help="length of the 5x surge (default 8 s)")
    parser.add_argument("--calibration", type=int, default=80, help="returns in the calibration burst")
    parser.add_argument("--profile", action="store_true", help="run the workers under cProfile")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (logs)")
    args = parser.parse_args()
    args.scale = args.scale or (0.1 if args.full else 0.01)
    args.base_s = args.base_s or (60.0 if args.full else 15.0)
    args.surge_s = args.surge_s or (30.0 if args.full else 8.0)
    if args.base_s <= 0 or args.surge_s <= 0 or (args.base_rate is not None and args.base_rate <= 0):
        parser.error("--base-s, --surge-s and --base-rate must be more than zero")
    if args.calibration < 10:
        parser.error("--calibration needs at least 10 returns")
    sys.exit(asyncio.run(main(args)))


if __name__ == "__main__":
    cli()
