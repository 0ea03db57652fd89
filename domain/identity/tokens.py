"""Decision tokens: their claims, what was seen (`subject_hash`), and `verify`, the one
deterministic check every decision validator runs (no I/O, no clock of its own)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt
from cryptography.exceptions import InvalidSignature
from jwt.api_jws import PyJWS
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import to_jsonable_python

from domain.identity.trust import TrustedKey, TrustPolicy

ALGORITHM = "EdDSA"
"""The only algorithm accepted (never taken from the token's own header)."""
DEFAULT_TTL = timedelta(minutes=15)
"""How long a freshly signed decision stays valid."""


class Verdict(StrEnum):
    """What a decision token says the person decided."""

    APPROVE = "approve"
    REJECT = "reject"
    CANCEL = "cancel"
    CHANGE_PRICE = "change_price"
    OVERRIDE = "override"


class Refusal(StrEnum):
    """Why a decision was refused (stable codes; the message says it in words)."""

    UNSIGNED = "unsigned"
    MALFORMED = "malformed"
    UNKNOWN_ISSUER = "unknown_issuer"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    OUT_OF_SCOPE = "issuer_out_of_scope"
    ROLE_NOT_HELD = "role_not_held"
    ROLE_NOT_ALLOWED = "role_not_allowed"
    PERSON_MISMATCH = "person_mismatch"
    WRONG_WORKFLOW = "wrong_workflow"
    WRONG_STEP = "wrong_step"
    STALE_SUBJECT = "stale_subject"
    WRONG_DECISION = "wrong_decision"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    TOO_LONG_LIVED = "too_long_lived"
    REPLAYED = "replayed"


class DecisionRefused(ValueError):
    """A decision that may not enter history: `reason` (a `Refusal`) and why, in words."""

    def __init__(self, reason: Refusal, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# --------------------------------------------------------------------------- what was seen


def canonical_json(obj: Any) -> str:
    """The canonical form of a decision's subject: JSON with sorted keys, no spaces, UTF-8;
    models, decimals (as their string) and datetimes (ISO 8601) as pydantic writes them."""
    return json.dumps(
        to_jsonable_python(obj),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def subject_hash(obj: Any) -> str:
    """`sha256:<hex>` of the canonical JSON of what the person decided on."""
    return "sha256:" + hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- tokens


class DecisionClaims(BaseModel):
    """The claims of a decision token (registered names where JWT has them)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    iss: str = Field(min_length=1)
    sub: str = Field(min_length=1, description="the person who decided")
    role: str = Field(min_length=1, description="the role they decided as")
    wf: str = Field(min_length=1, description="the workflow id")
    step: str = Field(min_length=1, description="the step decided")
    sha: str = Field(min_length=1, description="subject_hash of what the person saw")
    decision: str = Field(min_length=1)
    iat: int
    exp: int
    jti: str = Field(min_length=8, max_length=200)


class VerifiedDecision(BaseModel):
    """Who decided, proven (or, `signed=False`, taken as typed under `accept_unsigned`)."""

    person: str
    role: str
    decision: str
    signed: bool
    issuer: str | None = None
    kid: str | None = None
    jti: str | None = None
    issued_at: AwareDatetime | None = None
    expires_at: AwareDatetime | None = None

    def words(self) -> str:
        """For the audit trail: by whom the decision was signed, with key and token ids."""
        if not self.signed:
            return "unsigned (the policy accepts unsigned decisions)"
        return f"signed by {self.issuer} (key {self.kid}, token {self.jti})"

    def audit_fields(self) -> dict[str, str | None]:
        """An audit entry's proof: issuer, key id and token id (None when unsigned)."""
        return {"issuer": self.issuer, "kid": self.kid, "token_id": self.jti}


def _unverified(token: str) -> tuple[dict[str, Any], DecisionClaims]:
    try:
        parts = PyJWS().decode_complete(token, options={"verify_signature": False})
        header = parts["header"]
        claims = DecisionClaims.model_validate_json(parts["payload"])
    except (jwt.InvalidTokenError, ValidationError, ValueError) as err:
        raise DecisionRefused(
            Refusal.MALFORMED, f"the decision token cannot be read: {_short(err)}"
        ) from None
    if header.get("alg") != ALGORITHM:
        raise DecisionRefused(
            Refusal.MALFORMED,
            f"the decision token is signed with {header.get('alg')!r}; only {ALGORITHM} is accepted",
        )
    return header, claims


def _short(err: Exception) -> str:
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return text[:160]


def _check_signature(token: str, key: TrustedKey) -> None:
    try:
        PyJWS().decode_complete(token, key=key.key(), algorithms=[ALGORITHM])
    except (jwt.InvalidSignatureError, InvalidSignature):
        raise DecisionRefused(
            Refusal.BAD_SIGNATURE,
            f"the signature does not match key {key.kid}: the token is forged or altered",
        ) from None
    except jwt.InvalidTokenError as err:
        raise DecisionRefused(
            Refusal.MALFORMED, f"the decision token is invalid: {_short(err)}"
        ) from None


def verify(
    token: str | None,
    *,
    trust: TrustPolicy,
    now: datetime,
    workflow_id: str,
    step: str,
    subject_hash: str,
    decision: str,
    seen_ids: Collection[str],
    holders: Mapping[str, Collection[str]] | None,
    allowed_roles: Collection[str] | None = None,
    person: str | None = None,
    role: str | None = None,
) -> VerifiedDecision:
    """Verify a decision token (or accept an unsigned decision when the policy says so).

    `holders` is role -> the persons who hold it, from the process's policy (None: the
    process names nobody, so only an unsigned decision under `accept_unsigned` passes);
    `allowed_roles` the roles that may take this decision now (None: any held role);
    `person`/`role` what the payload typed, which must agree with the token. Raises
    `DecisionRefused` with the reason in words."""
    decision, step = str(decision), str(step)  # a Verdict reads as its value in the words
    if token is None:
        return _unsigned(trust, decision, holders, allowed_roles, person, role)
    header, claims = _unverified(token)
    issuer = trust.issuer(claims.iss)
    if issuer is None:
        raise DecisionRefused(
            Refusal.UNKNOWN_ISSUER, f"issuer {claims.iss!r} is not trusted by this policy"
        )
    kid = str(header.get("kid") or "")
    key = issuer.key_for(kid)
    if key is None:
        known = ", ".join(k.kid for k in issuer.keys)
        raise DecisionRefused(
            Refusal.UNKNOWN_KEY,
            f"issuer {issuer.issuer!r} has no key {kid!r} in this policy (keys: {known})",
        )
    _check_signature(token, key)
    _check_time(claims, trust, now)
    if not issuer.may_vouch_for(claims.sub):
        raise DecisionRefused(
            Refusal.OUT_OF_SCOPE,
            f"issuer {issuer.issuer!r} may not vouch for {claims.sub!r} (it speaks for "
            f"{', '.join(issuer.vouches_for)})",
        )
    if person is not None and person != claims.sub:
        raise DecisionRefused(
            Refusal.PERSON_MISMATCH,
            f"the payload names {person!r} but the token was signed for {claims.sub!r}",
        )
    if role is not None and role != claims.role:
        raise DecisionRefused(
            Refusal.PERSON_MISMATCH,
            f"the payload claims role {role!r} but the token claims {claims.role!r}",
        )
    _check_role(claims.sub, claims.role, holders, allowed_roles)
    _check_binding(claims, workflow_id, step, subject_hash, decision)
    if claims.jti in seen_ids:
        raise DecisionRefused(
            Refusal.REPLAYED, f"token {claims.jti} was already used: a decision is taken once"
        )
    return VerifiedDecision(
        person=claims.sub,
        role=claims.role,
        decision=claims.decision,
        signed=True,
        issuer=issuer.issuer,
        kid=kid,
        jti=claims.jti,
        issued_at=datetime.fromtimestamp(claims.iat, UTC),
        expires_at=datetime.fromtimestamp(claims.exp, UTC),
    )


def _unsigned(
    trust: TrustPolicy,
    decision: str,
    holders: Mapping[str, Collection[str]] | None,
    allowed_roles: Collection[str] | None,
    person: str | None,
    role: str | None,
) -> VerifiedDecision:
    if not trust.accept_unsigned:
        raise DecisionRefused(
            Refusal.UNSIGNED,
            "the decision is unsigned and this policy accepts only signed decisions "
            "(sign it with your key: `starter.py keys new`, then --key)",
        )
    if not person or not role:
        raise DecisionRefused(
            Refusal.MALFORMED, "an unsigned decision must name its person and role"
        )
    if holders is not None:
        _check_role(person, role, holders, allowed_roles)
    elif allowed_roles is not None and role not in allowed_roles:
        _refuse_role(role, allowed_roles)
    return VerifiedDecision(person=person, role=role, decision=decision, signed=False)


def _check_time(claims: DecisionClaims, trust: TrustPolicy, now: datetime) -> None:
    at = now.timestamp()
    leeway = trust.leeway.total_seconds()
    if claims.exp <= claims.iat:
        raise DecisionRefused(Refusal.MALFORMED, "the token expires before it was issued")
    if claims.exp - claims.iat > trust.max_lifetime.total_seconds():
        raise DecisionRefused(
            Refusal.TOO_LONG_LIVED,
            f"the token is valid for {timedelta(seconds=claims.exp - claims.iat)}, longer than "
            f"the policy allows ({trust.max_lifetime})",
        )
    if claims.iat > at + leeway:
        raise DecisionRefused(
            Refusal.NOT_YET_VALID,
            f"the token is issued at {_iso(claims.iat)}, after now ({now.isoformat()})",
        )
    if claims.exp <= at - leeway:
        raise DecisionRefused(
            Refusal.EXPIRED,
            f"the token expired at {_iso(claims.exp)} (now {now.isoformat()}): sign again",
        )


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def _refuse_role(role: str, allowed_roles: Collection[str]) -> None:
    raise DecisionRefused(
        Refusal.ROLE_NOT_ALLOWED,
        f"role {role!r} cannot take this decision (it needs {' or '.join(allowed_roles) or 'nobody'})",
    )


def _check_role(
    person: str,
    role: str,
    holders: Mapping[str, Collection[str]] | None,
    allowed_roles: Collection[str] | None,
) -> None:
    if allowed_roles is not None and role not in allowed_roles:
        _refuse_role(role, allowed_roles)
    held_by = (holders or {}).get(role)
    if not held_by:
        raise DecisionRefused(
            Refusal.ROLE_NOT_HELD, f"the policy names nobody who holds the role {role!r}"
        )
    if person not in held_by:
        raise DecisionRefused(Refusal.ROLE_NOT_HELD, f"{person!r} does not hold the role {role!r}")


def _check_binding(
    claims: DecisionClaims, workflow_id: str, step: str, subject: str, decision: str
) -> None:
    if claims.wf != workflow_id:
        raise DecisionRefused(
            Refusal.WRONG_WORKFLOW,
            f"the token decides workflow {claims.wf!r}, not {workflow_id!r}",
        )
    if claims.step != step:
        raise DecisionRefused(
            Refusal.WRONG_STEP, f"the token decides step {claims.step!r}, not {step!r}"
        )
    if claims.sha != subject:
        raise DecisionRefused(
            Refusal.STALE_SUBJECT,
            "what the token was signed on is not what is current (it changed since the "
            "person looked): look again and decide anew",
        )
    if claims.decision != decision:
        raise DecisionRefused(
            Refusal.WRONG_DECISION,
            f"the token says {claims.decision!r}, the request says {decision!r}",
        )
