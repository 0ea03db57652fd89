"""The trust a policy places in issuers: their public keys by key id, whom each may vouch
for, and whether unsigned decisions are taken at all (by default: no)."""

from __future__ import annotations

import base64
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ANY_PERSON = "*"
"""In `TrustedIssuer.vouches_for`: every person who logs in to that issuer (the inbox)."""


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


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

    @model_validator(mode="after")
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
