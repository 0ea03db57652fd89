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
    return [system.backoffice_health]
