"""Container health checks of the compose stack (the app image has no curl).

python deploy/healthcheck.py http URL      # 200 from URL
python deploy/healthcheck.py tcp HOST:PORT # something listens
python deploy/healthcheck.py worker        # this container's worker polls its task queue
"""

from __future__ import annotations

import asyncio
import socket
import sys
import urllib.request


async def _worker_polls() -> int:
    """Healthy when Temporal lists a poller of this host (`pid@hostname`, see worker.py)
    on the task queue: the worker is connected, not merely alive."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    from common.config import Settings
    from common.temporal import connect_plain

    settings = Settings.from_env()
    client = await connect_plain(settings)
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=settings.namespace,
            task_queue=TaskQueue(name=settings.task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    host = f"@{socket.gethostname()}"
    return 0 if any(p.identity.endswith(host) for p in response.pollers) else 1


def main(argv: list[str]) -> int:
    kind, *rest = argv
    if kind == "worker":
        return asyncio.run(_worker_polls())
    (target,) = rest
    if kind == "http":
        with urllib.request.urlopen(target, timeout=3) as response:
            return 0 if response.status == 200 else 1
    host, _, port = target.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=3):
        return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception as err:  # any failure is "unhealthy"
        print(f"unhealthy: {err}", file=sys.stderr)
        sys.exit(1)
