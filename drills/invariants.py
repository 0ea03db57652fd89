"""What a drill checks, from the backoffice ledger (never from what the drill meant to do)."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from temporalio.client import Client, WorkflowExecutionStatus

from adapters.control import ControlClient
from adapters.pos import PosClient


@dataclass
class Count:
    """Effects of one kind expected exactly `expected` times."""

    what: str
    system: str
    operation: str
    expected: int
    subject: str | None = None
    subject_prefix: str | None = None


@dataclass
class Verdict:
    """A drill's outcome: effects doubled or lost, and anything else that went wrong."""

    doubled: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not (self.doubled or self.lost or self.problems)


async def count_effects(backoffice_url: str, counts: list[Count], verdict: Verdict) -> None:
    """Compare each kind of effect in the ledger with what exactly-once means."""
    async with ControlClient(backoffice_url) as control:
        for c in counts:
            page = await control.ledger(
                system=c.system,
                operation=c.operation,
                subject=c.subject,
                subject_prefix=c.subject_prefix,
                limit=0,
            )
            if page.count > c.expected:
                verdict.doubled.append(f"{c.what}: {page.count} effects, expected {c.expected}")
            elif page.count < c.expected:
                verdict.lost.append(f"{c.what}: {page.count} effects, expected {c.expected}")


@dataclass
class Each:
    """Effects of one kind, one per subject: exactly the `subjects` under `subject_prefix`
    (a subject twice is doubled, one missing is lost, one nobody planned is doubled)."""

    what: str
    system: str
    subject_prefix: str
    subjects: set[str]
    operation: str | None = None


def judge_each(each: Each, subjects_seen: list[str], verdict: Verdict) -> None:
    """One effect per expected subject: twice is doubled, unplanned is doubled, none is lost."""
    seen = Counter(subjects_seen)
    twice = sorted(s for s, n in seen.items() if n > 1)
    unplanned = sorted(s for s in seen if s not in each.subjects)
    missing = sorted(each.subjects - set(seen))
    if twice:
        verdict.doubled.append(f"{each.what}: {', '.join(twice)} more than once")
    if unplanned:
        verdict.doubled.append(f"{each.what}: unplanned {', '.join(unplanned)}")
    if missing:
        verdict.lost.append(f"{each.what}: none for {', '.join(missing)}")


async def count_each(backoffice_url: str, eaches: list[Each], verdict: Verdict) -> None:
    """Compare the ledger with one effect per expected subject."""
    async with ControlClient(backoffice_url) as control:
        for e in eaches:
            page = await control.ledger(
                system=e.system,
                operation=e.operation,
                subject_prefix=e.subject_prefix,
                limit=100_000,
            )
            if page.count > len(page.entries):
                verdict.problems.append(f"{e.what}: {page.count} effects, more than one page")
            judge_each(e, [entry.subject for entry in page.entries], verdict)


async def prices_reverted(backoffice_url: str, promotion_id: str, verdict: Verdict) -> None:
    """A promotion that ended or was cancelled has no store price book entry left live."""
    async with PosClient(backoffice_url) as pos:
        entries = await pos.promotion_prices(promotion_id)
    live = sorted(e.store_id for e in entries if e.status != "RETRACTED")
    if live:
        verdict.problems.append(
            f"{promotion_id}: prices still live in {len(live)} store(s): {', '.join(live[:5])}"
        )


def launch_effects(promotion_id: str, stores: int, *, rolled_back: bool) -> list[Count]:
    """A launch published to every channel once (and, rolled back, retracted once each),
    its funding accrued once (and reversed once)."""
    counts = [
        Count(
            "POS price books",
            "pos",
            "publish_prices",
            stores,
            subject_prefix=f"pos_price:{promotion_id}:",
        ),
        Count(
            "e-commerce publication", "ecommerce", "publish", 1, subject=f"ecommerce:{promotion_id}"
        ),
        Count(
            "marketplace publication",
            "marketplace",
            "publish",
            1,
            subject=f"marketplace:{promotion_id}",
        ),
        Count("funding accrual", "erp", "accrue", 1, subject_prefix=f"accrual:{promotion_id}:"),
    ]
    if rolled_back:
        counts += [
            Count(
                "POS retractions",
                "pos",
                "retract_prices",
                stores,
                subject_prefix=f"pos_retract:{promotion_id}:",
            ),
            Count(
                "accrual reversal",
                "erp",
                "reverse_accrual",
                1,
                subject_prefix=f"accrual:{promotion_id}:",
            ),
        ]
    return counts


CLOSED_WELL = (
    WorkflowExecutionStatus.COMPLETED,
    WorkflowExecutionStatus.CANCELED,
    WorkflowExecutionStatus.CONTINUED_AS_NEW,
)


async def runs_closed(client: Client, key: str, verdict: Verdict, within_s: float = 15.0) -> None:
    """Every workflow of this business key (its children too) closed: completed, or
    cancelled by its parent (a sell-through monitor when its promotion is cancelled); none
    left running in silence, none failed, timed out or terminated. Visibility trails the
    runs a little: a run still listed as running is looked at again for `within_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        running, bad = [], []
        async for run in client.list_workflows():
            if key not in run.id:
                continue
            if run.status is WorkflowExecutionStatus.RUNNING:
                running.append(f"{run.id} still running")
            elif run.status not in CLOSED_WELL:
                status = run.status.name if run.status else "unknown"
                bad.append(f"{run.id} closed {status}")
        if not running or loop.time() > deadline:
            verdict.problems += running + bad
            return
        await asyncio.sleep(0.5)  # visibility poll
