"""Idempotent writes per second on the backoffice, on SQLite and on PostgreSQL.

    python bench/backoffice_writes.py [--writes 1000] [--concurrency 16] [--skip-postgres]

Starts its own backoffice (and a throwaway PostgreSQL when Debian's binaries are there),
then measures, through the real ERP adapter over HTTP:

* baseline: ``GET /health`` round trips per second (HTTP + app overhead, no write);
* idempotent writes: ``POST /erp/postings`` with a fresh key each (idempotency record +
  posting + ledger entry in one transaction);
* replays: the same requests again with the same keys (answered from the key table);
* in-process: the same idempotent write without HTTP (the database layer alone), to show
  which side limits;
* server CPU per write (Linux): CPU the backoffice process spent per request, which does
  not depend on how busy the machine is; 1000 / that = writes/s one free core sustains.

It prints the figures and each as a ratio of the baseline measured in the same run; the
target is at least 300 idempotent writes/s on SQLite (a verdict line says whether it was
met; the exit code is 0 either way, figures are for the note, not a gate).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters import ErpClient
from adapters.base import new_http_client
from devstack.launch import (
    BackofficeProcess,
    PostgresCluster,
    PostgresUnavailable,
    ensure_codec_key,
)
from wire.erp import PostingRequest

TARGET_SQLITE = 300.0


def server_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) the server process has used (Linux /proc), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


async def _rate(
    n: int, concurrency: int, op: Callable[[int], Awaitable[object]], pid: int
) -> tuple[float, float | None]:
    """Operations per second, and server CPU milliseconds per operation."""
    queue = iter(range(n))

    async def worker() -> None:
        for i in queue:
            await op(i)

    cpu_before = server_cpu_s(pid)
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    rate = n / (time.perf_counter() - started)
    cpu_after = server_cpu_s(pid)
    cpu_ms = (
        None if cpu_before is None or cpu_after is None else (cpu_after - cpu_before) / n * 1000
    )
    return rate, cpu_ms


async def measure(url: str, pid: int, writes: int, concurrency: int) -> dict[str, float]:
    http = new_http_client(url, max_connections=concurrency)
    erp = ErpClient(http=http)
    run = uuid.uuid4().hex[:8]
    keys = [f"bench-{run}-{i}" for i in range(writes)]

    def body(i: int) -> PostingRequest:
        return PostingRequest(
            kind="credit_memo",
            reference=f"bench-{run}-{i % 50}",
            amount=Decimal("1.00") + Decimal(i % 100) / 100,
        )

    async def health(_i: int) -> object:
        response = await http.get("/health")
        response.raise_for_status()
        return response

    async def write(i: int) -> object:
        return await erp.post(body(i), idempotency_key=keys[i])

    try:
        await _rate(min(200, writes), concurrency, health, pid)  # warm up connections
        baseline, baseline_cpu = await _rate(writes, concurrency, health, pid)
        written, write_cpu = await _rate(writes, concurrency, write, pid)
        replayed, _ = await _rate(writes, concurrency, write, pid)
        ledger = await http.get(
            "/ledger", params={"subject_prefix": f"credit_memo:bench-{run}", "limit": 0}
        )
        effects = ledger.json()["count"]
    finally:
        await http.aclose()
    if effects != writes:
        raise SystemExit(f"lost or doubled effects: {effects} recorded for {writes} writes")
    figures = {"baseline": baseline, "writes": written, "replays": replayed}
    if baseline_cpu and write_cpu:
        figures["baseline_cpu_ms"] = baseline_cpu
        figures["write_cpu_ms"] = write_cpu
    return figures


def in_process(database_url: str, writes: int) -> float:
    """Idempotent writes/s through the mutation layer only (no HTTP), one thread."""
    import tempfile

    from backoffice.config import BackofficeConfig
    from backoffice.core import BackofficeState, Ctx, _mutate_sync
    from backoffice.db import Database, PostingRow
    from backoffice.faults import FaultRegistry

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(database_url or f"sqlite:///{tmp}/inproc.db")
        db.create_all()
        state = BackofficeState(config=BackofficeConfig(), db=db, faults=FaultRegistry())
        run = uuid.uuid4().hex[:8]

        def write(ctx: Ctx) -> dict[str, str]:
            row = PostingRow(
                posting_id=uuid.uuid4().hex,
                kind="credit_memo",
                reference=f"inproc-{run}",
                amount=Decimal("1.00"),
            )
            ctx.session.add(row)
            ctx.effect(
                "erp", "post.credit_memo", f"credit_memo:inproc-{run}", amount=Decimal("1.00")
            )
            return {"posting_id": row.posting_id}

        started = time.perf_counter()
        for i in range(writes):
            _mutate_sync(state, f"inproc-{run}-{i}", "POST", "/erp/postings", "h", write, 200)
        rate = writes / (time.perf_counter() - started)
        db.dispose()
    return rate


def report(name: str, figures: dict[str, float]) -> None:
    base = figures["baseline"]
    print(f"{name:<11} /health round trips : {base:8.0f} /s   (baseline, ratio 1.00)")
    print(
        f"{name:<11} idempotent writes   : {figures['writes']:8.0f} /s   "
        f"(ratio {figures['writes'] / base:.2f} of baseline)"
    )
    print(
        f"{name:<11} replays (same keys) : {figures['replays']:8.0f} /s   "
        f"(ratio {figures['replays'] / base:.2f} of baseline)"
    )
    if "write_cpu_ms" in figures:
        cpu = figures["write_cpu_ms"]
        print(
            f"{name:<11} server CPU per write : {cpu:8.2f} ms  (/health: "
            f"{figures['baseline_cpu_ms']:.2f} ms; ratio {cpu / figures['baseline_cpu_ms']:.2f})"
            f" -> {1000 / cpu:.0f} writes/s per free core"
        )
    if "in_process" in figures:
        print(
            f"{name:<11} in-process writes   : {figures['in_process']:8.0f} /s   "
            f"(no HTTP; ratio {figures['in_process'] / base:.2f} of baseline)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="idempotent writes per second")
    parser.add_argument("--writes", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args(argv)
    if args.writes < 1 or args.concurrency < 1:
        parser.error("--writes and --concurrency must be at least 1")
    pacing = {"BACKOFFICE_TICK_S": "0.5", "BACKOFFICE_LOG_LEVEL": "error"}
    with BackofficeProcess.start(extra_env=pacing) as bo:
        sqlite = asyncio.run(measure(bo.url, bo.process.pid, args.writes, args.concurrency))
    sqlite["in_process"] = in_process("", args.writes)
    report("sqlite", sqlite)
    if sqlite["writes"] < TARGET_SQLITE:
        print(
            f"below target: {sqlite['writes']:.0f} < {TARGET_SQLITE:.0f} idempotent writes/s "
            "over HTTP (compare the in-process figure: on a loaded machine the HTTP client "
            "and server share the cores)"
        )
    else:
        print(f"target met: >= {TARGET_SQLITE:.0f} idempotent writes/s on SQLite")
    if not args.skip_postgres:
        try:
            with PostgresCluster.start() as pg:
                with BackofficeProcess.start(database_url=pg.url, extra_env=pacing) as bo:
                    pg_figures = asyncio.run(
                        measure(bo.url, bo.process.pid, args.writes, args.concurrency)
                    )
                pg_figures["in_process"] = in_process(pg.url, args.writes)
                report("postgresql", pg_figures)
        except PostgresUnavailable as err:
            print(f"postgresql  skipped: {err}")
    return 0


if __name__ == "__main__":
    ensure_codec_key()
    raise SystemExit(main())
