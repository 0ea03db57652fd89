"""The backoffice's control plane: fault injection, the effects ledger, the event outbox.

Used by ``starter.py faults``, drills in ``bench/`` and tests; activities never call it.
The fault kinds (:class:`wire.control.FaultSpec`) are described in :mod:`wire.control`.
"""

from __future__ import annotations

from typing import Any

from adapters.base import BaseAdapter
from wire.control import Fault, FaultSpec, LedgerPage, OutboxEvent


class ControlClient(BaseAdapter):
    """Faults, ledger, events and health of a backoffice."""

    system = "backoffice"
    prefix = ""

    async def health(self) -> dict[str, Any]:
        return await self._call("GET", "/health", operation="health", result=dict[str, Any])

    async def set_fault(self, spec: FaultSpec) -> Fault:
        """Add (or replace: same system+operation) a fault."""
        return await self._call("POST", "/faults", operation="set_fault", result=Fault, json=spec)

    async def list_faults(self) -> list[Fault]:
        return await self._call("GET", "/faults", operation="list_faults", result=list[Fault])

    async def clear_faults(self, *, system: str | None = None, operation: str | None = None) -> int:
        """Remove faults (all, a system's, or one operation's); returns how many."""
        body: dict[str, int] = await self._call(
            "DELETE",
            "/faults",
            operation="clear_faults",
            result=dict[str, int],
            params={"system": system, "operation": operation},
        )
        return body["cleared"]

    async def ledger(
        self,
        *,
        system: str | None = None,
        operation: str | None = None,
        subject: str | None = None,
        subject_prefix: str | None = None,
        idempotency_key: str | None = None,
        limit: int = 1000,
    ) -> LedgerPage:
        return await self._call(
            "GET",
            "/ledger",
            operation="ledger",
            result=LedgerPage,
            params={
                "system": system,
                "operation": operation,
                "subject": subject,
                "subject_prefix": subject_prefix,
                "idempotency_key": idempotency_key,
                "limit": limit,
            },
        )

    async def events(
        self,
        *,
        workflow_id: str | None = None,
        status: str | None = None,
        system: str | None = None,
    ) -> list[OutboxEvent]:
        return await self._call(
            "GET",
            "/events",
            operation="events",
            result=list[OutboxEvent],
            params={"workflow_id": workflow_id, "status": status, "system": system},
        )


__all__ = ["ControlClient"]
