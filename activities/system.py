"""Activities about the stack itself: used by the guided tour and health checks."""

from __future__ import annotations

import httpx
from temporalio import activity


class SystemActivities:
    def __init__(self, backoffice_url: str, *, timeout_s: float = 10.0) -> None:
        self._backoffice_url = backoffice_url.rstrip("/")
        self._timeout_s = timeout_s

    @activity.defn(name="backoffice_health")
    async def backoffice_health(self) -> dict[str, str]:
        """Read the backoffice's health document; a transient failure retries."""
        async with httpx.AsyncClient(timeout=self._timeout_s) as http:
            response = await http.get(f"{self._backoffice_url}/health")
            response.raise_for_status()
            body = response.json()
        return {str(k): str(v) for k, v in body.items()}
