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

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)
from jwt.api_jws import PyJWS
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic import model_validator as _model_validator
from pydantic_core import to_jsonable_python

ALGORITHM = "EdDSA"
"""The only algorithm accepted (never taken from the token's own header)."""
ANY_PERSON = "*"
"""In `TrustedIssuer.vouches_for`: every person who logs in to that issuer (the inbox)."""
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


# --------------------------------------------------------------------------- trust


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class TrustedKey(BaseModel):
    """One public key of an issuer, by key id (an issuer has several while keys rotate)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kid: str = Field(min_length=1, max_length=120)
    public_key: str = Field(
        description="the Ed25519 public key: 32 raw bytes, base64url (a JWK's `x`)"
    )

    @field_validator("public_key")
    @classmethod
    def _ed25519(cls, value: str) -> str:
        try:
            raw = _b64url_decode(value.strip())
        except ValueError as err:
            raise ValueError(f"is not base64url: {err}") from None
        if len(raw) != 32:
            raise ValueError(f"an Ed25519 public key is 32 bytes, this one is {len(raw)}")
        return value.strip()

    def key(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(_b64url_decode(self.public_key))


class TrustedIssuer(BaseModel):
    """An issuer the policy trusts: its keys and the persons it may vouch for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str = Field(min_length=1, max_length=200)
    keys: list[TrustedKey] = Field(min_length=1)
    vouches_for: list[str] = Field(
        min_length=1,
        description=f"persons this issuer may speak for; {ANY_PERSON!r}: whoever logs in to it",
    )

    @field_validator("keys")
    @classmethod
    def _kids_unique(cls, keys: list[TrustedKey]) -> list[TrustedKey]:
        kids = [k.kid for k in keys]
        twice = sorted({k for k in kids if kids.count(k) > 1})
        if twice:
            raise ValueError(f"key id(s) listed twice: {', '.join(twice)}")
        return keys

    def key_for(self, kid: str) -> TrustedKey | None:
        return next((k for k in self.keys if k.kid == kid), None)

    def may_vouch_for(self, person: str) -> bool:
        return ANY_PERSON in self.vouches_for or person in self.vouches_for


class TrustPolicy(BaseModel):
    """Whom a process trusts to say who decided. The default trusts nobody and refuses
    unsigned decisions: fail closed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuers: list[TrustedIssuer] = Field(default_factory=list)
    accept_unsigned: bool = Field(
        default=False,
        description="take a payload's typed name and role as the decision (demos, old runs)",
    )
    leeway: timedelta = Field(
        default=timedelta(seconds=30), description="clock skew allowed between signer and us"
    )
    max_lifetime: timedelta = Field(
        default=timedelta(days=1), description="a token valid for longer than this is refused"
    )

    @_model_validator(mode="after")
    def _issuers_unique(self) -> TrustPolicy:
        names = [i.issuer for i in self.issuers]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"issuer(s) listed twice: {', '.join(twice)}")
        return self

    def issuer(self, name: str) -> TrustedIssuer | None:
        return next((i for i in self.issuers if i.issuer == name), None)


REFUSE_ALL = TrustPolicy()
"""No issuer, no unsigned decision: what a policy without a trust section gets."""
LEGACY_UNSIGNED = TrustPolicy(accept_unsigned=True)
"""The rules of runs recorded before proven identities (typed names were taken as is)."""


def trust_in_force(
    trust: TrustPolicy, *, given: bool, recorded_before_identities: bool
) -> TrustPolicy:
    """The trust a workflow applies. A policy that carries a trust section gets it; one
    without gets `REFUSE_ALL` (fail closed), except a run recorded before proven
    identities existed (the workflow's `workflow.patched` check says so), which keeps
    deciding the way it did: `LEGACY_UNSIGNED`."""
    if given:
        return trust
    return LEGACY_UNSIGNED if recorded_before_identities else REFUSE_ALL


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


# --------------------------------------------------------------------------- signing


def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    key = load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The base64url raw public key, as `TrustedKey.public_key` takes it."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return _b64url(public.public_bytes(Encoding.Raw, PublicFormat.Raw))


def personal_issuer(person: str) -> str:
    """The issuer name of a person's own key: it vouches for that person only."""
    return f"key:{person}"


def sign_decision(
    key: Ed25519PrivateKey,
    *,
    issuer: str,
    kid: str,
    person: str,
    role: str,
    workflow_id: str,
    step: str,
    subject_hash: str,
    decision: str,
    issued_at: datetime,
    jti: str,
    ttl: timedelta = DEFAULT_TTL,
) -> str:
    """A decision token signed with `key` (the caller gives the clock and a unique id)."""
    iat = int(issued_at.timestamp())
    claims = DecisionClaims(
        iss=issuer,
        sub=person,
        role=role,
        wf=workflow_id,
        step=step,
        sha=subject_hash,
        decision=decision,
        iat=iat,
        exp=iat + int(ttl.total_seconds()),
        jti=jti,
    )
    return jwt.encode(
        claims.model_dump(), key, algorithm=ALGORITHM, headers={"kid": kid, "typ": "JWT"}
    )


__all__ = [
    "ANY_PERSON",
    "LEGACY_UNSIGNED",
    "REFUSE_ALL",
    "DecisionClaims",
    "DecisionRefused",
    "Refusal",
    "TrustPolicy",
    "TrustedIssuer",
    "TrustedKey",
    "Verdict",
    "VerifiedDecision",
    "canonical_json",
    "sign_decision",
    "subject_hash",
    "trust_in_force",
    "verify",
]
