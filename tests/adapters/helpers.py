"""Small helpers for the contract tests."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

T = TypeVar("T")


def key() -> str:
    return uuid.uuid4().hex


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def now() -> datetime:
    return datetime.now(UTC)


async def eventually(
    read: Callable[[], Awaitable[T]], done: Callable[[T], bool], *, timeout_s: float = 15.0
) -> T:
    """Read until ``done`` holds (a condition wait with a deadline, not a timing assertion)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached in {timeout_s}s; last value: {value!r}")
        await asyncio.sleep(0.02)
