"""The audit trail every process keeps: who did what, when, in words."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel


class AuditEntry(BaseModel):
    """One line of a process's audit trail (decisions, overrides, effects, refusals)."""

    at: AwareDatetime
    actor: str
    action: str
    detail: str = ""
    issuer: str | None = None
    """Who vouched for the actor of a signed decision (domain.identity), with its key id
    and the token's unique id: the proof behind the line."""
    kid: str | None = None
    token_id: str | None = None
