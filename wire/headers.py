"""HTTP headers of the backoffice API.

Every mutating call carries :data:`IDEMPOTENCY_HEADER`; the same key with the same request
answers the first result again with :data:`REPLAY_HEADER` set to ``true``.
"""

from __future__ import annotations

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replay"

__all__ = ["IDEMPOTENCY_HEADER", "REPLAY_HEADER"]
