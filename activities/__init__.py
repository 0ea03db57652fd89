"""One module per integration area: side effects only, through `adapters/`.

`build_activities` returns every activity the worker registers, bound to adapter
clients that share one HTTP connection pool per system. `with_fakes` swaps some of them
for scripted fakes by registered name, so tests and benchmarks run the worker's own
registry with only the edge they are about replaced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from temporalio import activity

from common.config import Settings


def build_activities(settings: Settings) -> list[Callable[..., Any]]:
    """Every activity of the project, wired to the systems `settings` points at."""
    activities: list[Callable[..., Any]] = []

    from activities.returns import ReturnActivities
    from adapters import Backoffice

    returns = ReturnActivities(
        Backoffice(settings.backoffice_url, timeout_s=settings.http_timeout_s)
    )
    activities.extend(returns.all())

    from activities.inventory import InventoryActivities

    inventory = InventoryActivities(settings.backoffice_url, timeout_s=settings.http_timeout_s)
    activities.extend(inventory.all())  # type: ignore[arg-type]

    from activities.channels import ChannelActivities
    from activities.sales import SalesActivities

    channels = ChannelActivities(settings.backoffice_url, timeout_s=settings.http_timeout_s)
    sales = SalesActivities(settings.backoffice_url, timeout_s=settings.http_timeout_s)
    activities.extend([channels.send_batch, channels.read_back, sales.sales_by_region])

    from activities.promotion import PromotionActivities

    promotion = PromotionActivities(settings.backoffice_url, timeout_s=settings.http_timeout_s)
    activities.extend(promotion.all())
    return activities


def activity_name(fn: Callable[..., Any]) -> str:
    """The name `fn` is registered under (it must carry `@activity.defn`)."""
    definition = activity._Definition.from_callable(fn)
    if definition is None or definition.name is None:
        raise ValueError(f"{fn!r} is not an activity (no @activity.defn)")
    return definition.name


def with_fakes(
    activities: Sequence[Callable[..., Any]], fakes: Sequence[Callable[..., Any]]
) -> list[Callable[..., Any]]:
    """`activities` with each fake in place of the activity of the same name.

    A fake whose name the registry does not know is refused: it would stand in for
    nothing, and the test using it would test nothing."""
    by_name = {activity_name(fn): fn for fn in activities}
    for fake in fakes:
        name = activity_name(fake)
        if name not in by_name:
            raise ValueError(f"fake activity {name!r} replaces no activity the worker registers")
        by_name[name] = fake
    return list(by_name.values())
