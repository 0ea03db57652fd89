"""The audit trail every process keeps: who did what, when, in words."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel


class AuditEntry(BaseModel):
    """One line of a process's audit trail (decisions, overrides, effects, refusals)."""

    at: AwareDatetime
    actor: str
    action: str
    detail: str = ""
