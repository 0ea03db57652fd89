"""``python -m backoffice``: serve the reference systems with uvicorn.

Environment: BACKOFFICE_HOST (127.0.0.1), BACKOFFICE_PORT (8300), DATABASE_URL
(sqlite:///.devstack/backoffice.db), EVENT_INGRESS_URL (http://127.0.0.1:8301/ingress/events,
the event ingress, ``python -m ingress``), BACKOFFICE_ESTATE, BACKOFFICE_WMS_PROGRESS (auto|manual),
BACKOFFICE_WMS_STEP_S, BACKOFFICE_CONFIRM_DELAY_S, BACKOFFICE_TICK_S.
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn

from backoffice.app import create_app
from backoffice.config import BackofficeConfig


def main() -> int:
    try:
        config = BackofficeConfig()
        config.validate()
    except ValueError as err:
        print(f"backoffice: {err}", file=sys.stderr)
        return 2
    if config.database_url.startswith("sqlite:///") and not config.database_url.startswith(
        "sqlite:///:memory:"
    ):
        Path(config.database_url.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    uvicorn.run(
        create_app(config),
        host=config.host,
        port=config.port,
        log_level=config.log_level,
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
