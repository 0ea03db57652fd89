"""What a drill checks, from the backoffice ledger (never from what the drill meant to do)."""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.control import ControlClient


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
