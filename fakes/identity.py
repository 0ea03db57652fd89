"""A scripted issuer for tests and benchmarks: a fresh Ed25519 key that vouches for anyone.

`INBOX.trust()` is the trust section a test policy carries; `INBOX.sign(...)` signs a
decision the way the inbox (or a person's key) does, with tokens valid long enough for the
time-skipping tests (the expiry test signs a short one on purpose).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.identity import DecisionSigner, TrustPolicy, new_private_key

TEST_TTL = timedelta(days=30)
"""Tests skip days of workflow time between looking and deciding."""


class FakeInbox:
    """An issuer with one key; `other()` is a key nobody trusts (forgeries)."""

    def __init__(self, issuer: str = "test-inbox", kid: str = "test-inbox-1") -> None:
        self.signer = DecisionSigner(key=new_private_key(), issuer=issuer, kid=kid, ttl=TEST_TTL)

    def trust(self, **changes: Any) -> TrustPolicy:
        return TrustPolicy(issuers=[self.signer.trusted_issuer()], max_lifetime=TEST_TTL, **changes)

    def sign(
        self,
        *,
        issued_at: datetime | None = None,
        ttl: timedelta = TEST_TTL,
        jti: str | None = None,
        signer: DecisionSigner | None = None,
        **claims: Any,
    ) -> str:
        """A token for `claims` (person, role, workflow_id, step, subject, decision)."""
        return (signer or self.signer).sign(
            issued_at=issued_at or datetime.now(UTC),
            jti=jti or uuid.uuid4().hex,
            ttl=ttl,
            **claims,
        )

    def forger(self) -> DecisionSigner:
        """The same issuer name and key id, another private key: a forged signature."""
        return self.signer.model_copy(update={"key": new_private_key()})


INBOX = FakeInbox()
"""The one test issuer (policies built by the fixtures trust it)."""
