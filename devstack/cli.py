"""Command line of the local stack: up, down, status."""

from __future__ import annotations

import argparse
import asyncio
import time
from urllib.parse import quote

from devstack import stack
from devstack.config import StackConfig


def _say(message: str) -> None:
    print(f"  {message}", flush=True)


def cmd_up(config: StackConfig) -> int:
    began = time.monotonic()
    print(f"devstack: bringing the stack up (state in {config.state_dir})", flush=True)
    started, attributes = asyncio.run(_up(config))
    elapsed = time.monotonic() - began
    reused = all(s.reused for s in started)
    print()
    print("Everything is up" + (" (it already was; nothing started)" if reused else "") + ":")
    for item in started:
        print(f"  {item.component.name:<11} pid {item.record.pid:<8} {item.component.describe}")
    query = quote('RetailKind="promotion"')
    print(f"  Temporal UI  {config.ui_url}/namespaces/{config.namespace}/workflows")
    print(f"  promotions   {config.ui_url}/namespaces/{config.namespace}/workflows?query={query}")
    print(f"  inbox        {config.inbox_url}/ (log in as alice, password demo-alice)")
    print(f"  search attributes: {', '.join(sorted(attributes))}")
    print(f"  logs: {config.log_dir}    stop with: python -m devstack down")
    print(f"  ({elapsed:.1f} s)")
    return 0


async def _up(config: StackConfig) -> tuple[list[stack.Started], dict[str, str]]:
    started = await stack.up(config, on_step=_say)
    return started, await stack.search_attributes(config)


def cmd_down(config: StackConfig) -> int:
    stopped = stack.down(config, on_step=_say)
    print(
        "devstack: stopped " + (", ".join(stopped) if stopped else "nothing (nothing was running)")
    )
    return 0


def cmd_status(config: StackConfig) -> int:
    for name, state, pid in stack.status(config):
        print(f"  {name:<11} {state:<22} {pid}")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack",
        description="Run the local stack: Temporal dev server, codec server, event ingress, "
        "backoffice, worker, approvals inbox.",
    )
    parser.add_argument("command", choices=["up", "down", "status"])
    args = parser.parse_args(argv)
    try:
        config = StackConfig.from_env()
        handlers = {"up": cmd_up, "down": cmd_down, "status": cmd_status}
        return handlers[args.command](config)
    except (stack.StackError, ValueError) as err:
        print(f"devstack: {err}", flush=True)
        return 1
