"""Command line of the local stack: up, down, status; compose-init for docker-compose.yml."""

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


def cmd_compose_init(_config: StackConfig) -> int:
    from devstack.compose_init import compose_init

    files = compose_init()
    made = ", ".join(files.created) if files.created else "nothing new (kept every value)"
    print(f"devstack: wrote {files.env_file.name} ({made}); payload keys in {files.key_file}")
    print("  next: docker compose up -d --wait")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack",
        description="Run the local stack: Temporal dev server, codec server, event ingress, "
        "backoffice, worker, approvals inbox. `compose-init` prepares docker-compose.yml instead: .env with "
        "fresh secrets and the payload key file in the key volume's folder.",
    )
    parser.add_argument("command", choices=["up", "down", "status", "compose-init"])
    args = parser.parse_args(argv)
    try:
        config = StackConfig.from_env()
        handlers = {
            "up": cmd_up,
            "down": cmd_down,
            "status": cmd_status,
            "compose-init": cmd_compose_init,
        }
        return handlers[args.command](config)
    except (stack.StackError, ValueError) as err:
        print(f"devstack: {err}", flush=True)
        return 1
