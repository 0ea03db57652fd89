"""The returns surge's worker: its own process, so its CPU and peak memory are its own.

    python bench/returns_worker.py --task-queue Q --out worker.json [--profile]

The worker's registry (`worker.build_worker`, as `python -m worker` runs it, with the
product's activities on the live backoffice) plus the bare baseline's workflow
(`returns_bare.BenchBareReturn`). Connection from the environment (TEMPORAL_ADDRESS,
BACKOFFICE_URL, the payload key), as the real worker. It writes `ready` to `--out` when
polling; on SIGTERM it stops, then writes its peak memory (and, with `--profile`, the
functions that took the most time under cProfile) to `--out`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import resource
import signal
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.config import Settings  # noqa: E402
from common.temporal import connect  # noqa: E402
from returns_bare import BenchBareReturn  # noqa: E402
from worker import build_worker  # noqa: E402


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


def top_functions(profile: cProfile.Profile, limit: int = 25) -> str:
    text = io.StringIO()
    stats = pstats.Stats(profile, stream=text)
    stats.sort_stats("tottime").print_stats(limit)
    return text.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--profile", action="store_true", help="run under cProfile")
    args = parser.parse_args()
    profile = cProfile.Profile() if args.profile else None
    if profile:
        profile.enable()
    asyncio.run(serve(args.task_queue, args.out))
    result: dict[str, object] = {
        "ready": True,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if profile:
        profile.disable()
        profile.dump_stats(str(args.out.with_suffix(".prof")))
        result["profile"] = top_functions(profile)
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
