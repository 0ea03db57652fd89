"""Proven identities: signed decision tokens, the trust a policy places in issuers, and the
one deterministic verification every decision validator runs.

A decision (approve, reject, cancel, ...) carries a JWT signed with Ed25519 (`EdDSA`) by an
issuer the policy trusts: the approvals inbox (it vouches for whoever logs in to it) or a
person's own key (it vouches for its owner only). The token binds who decided, the role
claimed, the workflow, the step decided, a hash of what the person saw and the decision
itself, with issued-at, expiry and a unique id (`jti`); its header names the key id (`kid`).

`verify` does no I/O and reads no clock: the caller passes `now` (`workflow.now()` in a
workflow) and the token ids already used. Every refusal is a `DecisionRefused` (a
`ValueError`, so update validators reject with it) whose message says why in words and
whose `reason` is a stable code for tests and dashboards.

Signing (`sign_decision`, `new_private_key`) is here too, so the CLI, the inbox, the fakes
and the tests all sign exactly the way the workflows verify.
"""

from domain.identity.signing import (
    DecisionSigner,
    load_private_key,
    new_private_key,
    personal_issuer,
    private_key_pem,
    public_key_text,
    sign_decision,
)
from domain.identity.tokens import (
    ALGORITHM,
    DEFAULT_TTL,
    DecisionClaims,
    DecisionRefused,
    Refusal,
    Verdict,
    VerifiedDecision,
    canonical_json,
    subject_hash,
    verify,
)
from domain.identity.trust import (
    ANY_PERSON,
    LEGACY_UNSIGNED,
    REFUSE_ALL,
    TrustedIssuer,
    TrustedKey,
    TrustPolicy,
    trust_in_force,
)

__all__ = [
    "ALGORITHM",
    "ANY_PERSON",
    "DEFAULT_TTL",
    "LEGACY_UNSIGNED",
    "REFUSE_ALL",
    "DecisionClaims",
    "DecisionRefused",
    "DecisionSigner",
    "Refusal",
    "TrustPolicy",
    "TrustedIssuer",
    "TrustedKey",
    "Verdict",
    "VerifiedDecision",
    "canonical_json",
    "load_private_key",
    "new_private_key",
    "personal_issuer",
    "private_key_pem",
    "public_key_text",
    "sign_decision",
    "subject_hash",
    "trust_in_force",
    "verify",
]
