"""Proven identities inside a workflow: the trust in force and the handler-side check.

Verification itself is `domain.identity.verify` (pure; `workflow.now()` as the clock).
"""

from __future__ import annotations

from collections.abc import Callable

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.identity import DecisionRefused, TrustPolicy, VerifiedDecision, trust_in_force

IDENTITY_PATCH = "proven-identities"
"""Marks runs started with proven identities; runs recorded before replay (and finish)
under their old rules: typed names, `LEGACY_UNSIGNED`."""


def trust_for(trust: TrustPolicy, fields_set: set[str]) -> TrustPolicy:
    """The trust a run applies, called once at its start: the policy's trust section; none
    (an input that lacks it) refuses everything, unless the run was recorded before proven
    identities (no `IDENTITY_PATCH` marker in its history)."""
    given = "trust" in fields_set
    recorded_before = not given and not workflow.patched(IDENTITY_PATCH)
    return trust_in_force(trust, given=given, recorded_before_identities=recorded_before)


def verified(check: Callable[[], VerifiedDecision]) -> VerifiedDecision:
    """Run a verification with imports passed through: PyJWT and `cryptography` import
    parts of themselves lazily on first use, which the sandbox would otherwise re-import
    (and refuse: they take locks). Verification stays deterministic: no I/O, the caller's
    `workflow.now()`."""
    with workflow.unsafe.imports_passed_through():
        return check()


def accept(check: Callable[[], VerifiedDecision], seen: set[str] | None = None) -> VerifiedDecision:
    """In an update handler: check again (a validator cannot hand over what it proved).
    Two decisions (or one token twice) sent in one task pass both validators; the second
    handler fails here, as an update failure with the reason, and nothing is recorded.
    With `seen`, the token is spent (its id added); otherwise the caller spends it."""
    try:
        proof = check()
    except DecisionRefused as err:
        raise ApplicationError(str(err), type=err.reason.value, non_retryable=True) from None
    except ValueError as err:
        raise ApplicationError(str(err), type="DECISION_REFUSED", non_retryable=True) from None
    if seen is not None and proof.jti:
        seen.add(proof.jti)
    return proof
