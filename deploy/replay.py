"""Replay a workflow history against the workflow code of this checkout.

    temporal workflow show -w promotion-PROMO-1 --output json > promotion-PROMO-1.json
    python deploy/replay.py promotion-PROMO-1.json [--workflow-id promotion-PROMO-1]

Decodes payloads with the configured keys (RETAIL_CODEC_KEYS / RETAIL_CODEC_KEY_FILE, as
every process). Exit 0: the code makes the same commands as the history (safe to deploy);
1: nondeterminism, with the reason; 2: the file or the keys are unusable.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from common.codec import CodecKeyError
from common.temporal import data_converter
from workflows.registry import ALL_WORKFLOWS


async def replay(history: WorkflowHistory) -> None:
    replayer = Replayer(workflows=ALL_WORKFLOWS, data_converter=data_converter(who="replay"))
    await replayer.replay_workflow(history)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python deploy/replay.py", description=__doc__)
    parser.add_argument("history", type=Path, help="history JSON (temporal workflow show -o json)")
    parser.add_argument("--workflow-id", help="default: the file name without .json")
    args = parser.parse_args(argv)
    workflow_id = args.workflow_id or args.history.stem
    try:
        history = WorkflowHistory.from_json(workflow_id, args.history.read_text())
        asyncio.run(replay(history))
    except (OSError, ValueError, CodecKeyError) as err:
        print(f"replay: {args.history}: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # nondeterminism and workflow-task failures
        print(f"replay: {workflow_id} does NOT replay: {err}", file=sys.stderr)
        return 1
    print(f"replay: {workflow_id} replays against this code ({args.history})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
