"""The compressed clock: the week's 7 days in `day_seconds` of wall time each.

The week starts `lead_seconds` after the launches (time for validation, approvals, gates,
rebalancing and publication); hour h of the week (0 to 167) is at
`week_start + h / 24 * day_seconds`. Workflows run on real time: the plans' windows are the
compressed week's wall-clock times.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class WeekClock:
    launched_at: datetime
    lead_seconds: float
    day_seconds: float

    def __post_init__(self) -> None:
        if self.day_seconds <= 0 or self.lead_seconds <= 0:
            raise ValueError("day and lead seconds must be more than 0")

    @classmethod
    def starting_now(cls, *, lead_seconds: float, day_seconds: float) -> WeekClock:
        return cls(datetime.now(UTC).replace(microsecond=0), lead_seconds, day_seconds)

    @property
    def week_start(self) -> datetime:
        return self.launched_at + timedelta(seconds=self.lead_seconds)

    @property
    def week_end(self) -> datetime:
        return self.week_start + timedelta(seconds=7 * self.day_seconds)

    @property
    def live_for(self) -> timedelta:
        return self.week_end - self.week_start

    def at_hour(self, hour: float) -> datetime:
        return self.week_start + timedelta(seconds=hour / 24 * self.day_seconds)

    def sim_hours(self, wall: timedelta) -> float:
        """A wall-clock duration in hours of the simulated week."""
        return wall.total_seconds() / self.day_seconds * 24

    def sim_hours_s(self, seconds: float) -> float:
        return seconds / self.day_seconds * 24

    async def sleep_until_hour(self, hour: float) -> None:
        delay = (self.at_hour(hour) - datetime.now(UTC)).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)  # the compressed clock's tick, not a race workaround
