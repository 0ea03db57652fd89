"""Delivers queued events to the event ingress, and drives the simulated world's clock.

The outbox is transactional: events are rows written in the same transaction as the
change that caused them (see ``core.Ctx.emit``). One dispatcher task per process posts
due rows to the event ingress at ``EVENT_INGRESS_URL`` (``python -m ingress``),
in order per workflow, each row ``planned_deliveries`` times (more than once under the
``duplicate`` fault, always with the same ``event_id``). Failures back off and retry;
after ``MAX_ATTEMPTS`` the row is ``failed`` with the last error (visible at ``/events``).
An answer that no retry can change is final at once (``failed``, the answer recorded):
a 4xx other than ``404 workflow_not_found`` (the workflow may not have started yet) and
``408``/``429``, e.g. ``404 workflow_closed`` (the run has completed) or ``422
invalid_event`` (the workflow could not read it).

The pacer runs the registered tickers (WMS auto progress, channel confirmations, task
auto-completion) every ``BACKOFFICE_TICK_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from datetime import timedelta

import httpx
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool

from backoffice.core import BackofficeState
from backoffice.db import OutboxRow, utcnow

log = logging.getLogger("backoffice.outbox")

MAX_ATTEMPTS = 40
BATCH = 200
RETRYABLE_CLIENT_ERRORS = frozenset({"workflow_not_found"})
"""4xx codes worth retrying: the workflow may not have started yet."""


def is_final(response: httpx.Response) -> bool:
    """An ingress answer no retry can change (the row fails at once, with the answer)."""
    status = response.status_code
    if status < 400 or status >= 500 or status in (408, 429):
        return False
    try:
        code = response.json().get("error")
    except ValueError:
        code = None
    return code not in RETRYABLE_CLIENT_ERRORS


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(0.1 * 2**attempts, 10.0))


class Outbox:
    def __init__(self, state: BackofficeState) -> None:
        self.state = state
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._tasks: list[asyncio.Task[None]] = []

    def wake(self) -> None:
        self._loop.call_soon_threadsafe(self._wake.set)

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._dispatch_loop(), name="outbox-dispatch"),
            asyncio.create_task(self._pace_loop(), name="world-pacer"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- delivery ------------------------------------------------------------------------

    def _due(self) -> list[OutboxRow]:
        with self.state.db.read() as session:
            rows = session.exec(
                select(OutboxRow)
                .where(OutboxRow.status == "pending", OutboxRow.deliver_after <= utcnow())
                .order_by(col(OutboxRow.created_at))
                .limit(BATCH)
            ).all()
            return list(rows)

    def _record(
        self, event_id: str, delivered: int, error: str | None, final: bool = False
    ) -> None:
        with self.state.db.write() as session:
            row = session.get(OutboxRow, event_id)
            if row is None:
                return
            row.deliveries += delivered
            if row.deliveries >= row.planned_deliveries:
                row.status = "delivered"
                row.last_error = None
            elif error is not None:
                row.attempts += 1
                row.last_error = f"final: {error}" if final else error
                if final or row.attempts >= MAX_ATTEMPTS:
                    row.status = "failed"
                else:
                    row.deliver_after = utcnow() + _backoff(row.attempts)
            session.add(row)
            session.commit()

    async def _deliver_group(self, http: httpx.AsyncClient, rows: list[OutboxRow]) -> None:
        url = self.state.config.event_ingress_url
        for row in rows:
            delivered = 0
            error: str | None = None
            final = False
            for _ in range(row.planned_deliveries - row.deliveries):
                body = {
                    "workflow_id": row.workflow_id,
                    "signal": row.signal,
                    "run_id": row.run_id,
                    "event": row.payload,
                }
                try:
                    response = await http.post(url, json=body)
                except httpx.HTTPError as err:
                    error = f"ingress at {url} not reachable: {type(err).__name__}: {err}"
                    break
                if response.status_code >= 300:
                    error = f"ingress answered {response.status_code}: {response.text[:300]}"
                    final = is_final(response)
                    break
                delivered += 1
            await run_in_threadpool(self._record, row.event_id, delivered, error, final)
            if final:
                continue  # recorded as failed: the workflow's later events still go
            if error is not None:
                # keep this workflow's later events behind the failed one
                return

    async def _dispatch_loop(self) -> None:
        async with httpx.AsyncClient(timeout=10.0) as http:
            while True:
                try:
                    rows = await run_in_threadpool(self._due)
                    if rows:
                        groups: dict[str, list[OutboxRow]] = defaultdict(list)
                        for row in rows:
                            groups[row.workflow_id].append(row)
                        await asyncio.gather(
                            *(self._deliver_group(http, g) for g in groups.values())
                        )
                        if len(rows) == BATCH:
                            continue
                except Exception:  # keep delivering whatever one batch did
                    log.exception("outbox dispatch failed; retrying")
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.state.config.tick_s)

    # -- the world's clock ---------------------------------------------------------------

    def _tick(self) -> int:
        emitted = 0
        for ticker in self.state.tickers:
            emitted += ticker(self.state)
        return emitted

    async def _pace_loop(self) -> None:
        while True:
            try:
                if await run_in_threadpool(self._tick):
                    self.wake()
            except Exception:
                log.exception("pacer tick failed; continuing")
            await asyncio.sleep(self.state.config.tick_s)
