"""The worker: every workflow and activity of the project on one task queue.

Reads TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and RETAIL_TASK_QUEUE (default `retail-ops`);
with TEMPORAL_DEPLOYMENT_NAME and TEMPORAL_WORKER_BUILD_ID it runs as that version of a
Worker Deployment (README, "Safe upgrades"). SIGTERM or SIGINT stops it gracefully: no new
tasks are polled, in-flight activities get a grace period to finish and are then cancelled.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion
from temporalio.worker import Worker, WorkerDeploymentConfig

from activities import activity_name, build_activities, with_fakes
from common.codec import CodecKeyError
from common.config import ConfigError, Settings
from common.process import exit_now
from common.temporal import TemporalUnreachable, connect
from workflows.registry import ALL_WORKFLOWS, workflows_for

log = logging.getLogger("retail.worker")

GRACEFUL_SHUTDOWN = timedelta(seconds=float(os.environ.get("RETAIL_SHUTDOWN_GRACE_S", "10")))


def worker_identity() -> str:
    """`pid@host`: the devstack finds the worker it started by this identity."""
    return f"{os.getpid()}@{socket.gethostname()}"


def deployment_config(settings: Settings) -> WorkerDeploymentConfig | None:
    """The Worker Deployment version this worker runs as, or None (unversioned) when the
    settings name none. No default behaviour: every workflow a versioned worker registers
    declares its own (`workflows.registry.VERSIONED_WORKFLOWS`, `VERSIONING` in each
    contract: pinned or auto-upgrade); one that did not is refused when the worker is built."""
    if not settings.versioned:
        return None
    return WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(
            deployment_name=settings.deployment_name, build_id=settings.build_id
        ),
        use_worker_versioning=True,
    )


def build_worker(
    client: Client,
    settings: Settings,
    *,
    fakes: Sequence[Callable[..., Any]] = (),
    extra_workflows: Sequence[type] = (),
    extra_activities: Sequence[Callable[..., Any]] = (),
    **options: Any,
) -> Worker:
    """The worker: every workflow and every activity of the project (the one registry).

    Tests and benchmarks build their workers here too. `fakes` replace activities of the
    same registered name (scripted edges, see `fakes/`); `extra_workflows` and
    `extra_activities` add test-only definitions, never under a name the product uses."""
    activities = with_fakes(build_activities(settings), fakes)
    taken = {activity_name(fn) for fn in activities}
    clash = sorted(taken & {activity_name(fn) for fn in extra_activities})
    if clash:
        raise ValueError(f"extra activities reuse product names: {', '.join(clash)}; use fakes")
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[*workflows_for(settings.versioned), *extra_workflows],
        activities=[*activities, *extra_activities],
        identity=options.pop("identity", worker_identity()),
        graceful_shutdown_timeout=options.pop("graceful_shutdown_timeout", GRACEFUL_SHUTDOWN),
        deployment_config=deployment_config(settings),
        **options,
    )


async def run(settings: Settings | None = None, stop: asyncio.Event | None = None) -> None:
    """Run until `stop` is set (or SIGTERM/SIGINT arrives)."""
    settings = settings or Settings.from_env()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    client = await connect(settings, service_name="retail-worker")
    worker = build_worker(client, settings)
    version = (
        f"version {settings.deployment_name}.{settings.build_id}"
        if settings.versioned
        else "unversioned"
    )
    log.info(
        "worker %s polling %s on %s (%d workflows, %s)",
        worker_identity(),
        settings.task_queue,
        settings.temporal_address,
        len(ALL_WORKFLOWS),
        version,
    )
    async with worker:
        await stop.wait()
        log.info("stop requested: finishing in-flight tasks")
    log.info("worker stopped cleanly")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        asyncio.run(run())
    except TemporalUnreachable as err:
        log.error("%s", err)
        return 3
    except CodecKeyError as err:  # no key: refuse rather than write customer data in clear
        log.error("%s", err)
        return 2
    except ConfigError as err:  # a setting that cannot be used (a TLS file, a number)
        log.error("%s", err)
        return 2
    return 0


if __name__ == "__main__":
    exit_now(main())
