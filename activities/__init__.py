"""One module per integration area: side effects only, through `adapters/`.

`build_activities` returns every activity the worker registers, bound to adapter
clients that share one HTTP connection pool per system.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from common.config import Settings


def build_activities(settings: Settings) -> list[Callable[..., Any]]:
    """Every activity of the project, wired to the systems `settings` points at."""
    from activities.system import SystemActivities

    system = SystemActivities(settings.backoffice_url, timeout_s=settings.http_timeout_s)
    activities: list[Callable[..., Any]] = [system.backoffice_health]

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
