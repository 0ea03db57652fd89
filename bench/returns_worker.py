"""The returns surge's worker: its own process, so its CPU and peak memory are its own.

    python bench/returns_worker.py --task-queue Q --out worker.json

The worker's registry (`worker.build_worker`, as `python -m worker` runs it, with the
product's activities on the live backoffice) plus the bare baseline's workflow
(`returns_bare.BenchBareReturn`). Connection from the environment (TEMPORAL_ADDRESS,
BACKOFFICE_URL, the payload key), as the real worker. It writes `ready` to `--out` when
polling; on SIGTERM it stops, then writes its peak memory to `--out`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from returns_bare import BenchBareReturn
from returns_figures import peak_rss_mib

from common.config import Settings
from common.temporal import connect
from worker import build_worker


async def serve(queue: str, out: Path) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    settings = replace(Settings.from_env(), task_queue=queue)
    client = await connect(settings, service_name="bench-returns-worker")
    async with build_worker(client, settings, extra_workflows=[BenchBareReturn]):
        out.write_text(json.dumps({"ready": True}))
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.task_queue, args.out))
    args.out.write_text(json.dumps({"ready": True, "peak_rss_mib": peak_rss_mib()}))


if __name__ == "__main__":
    main()
