"""Signing decisions: Ed25519 keys, the token a person (or the inbox) signs, and a
signer that the CLI, the inbox, the fakes and the tests share, so they sign exactly the
way the workflows verify. The caller gives the clock and the token id."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)
from pydantic import BaseModel, ConfigDict

from domain.identity.tokens import ALGORITHM, DEFAULT_TTL, DecisionClaims, subject_hash
from domain.identity.trust import ANY_PERSON, TrustedIssuer, TrustedKey


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


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


class DecisionSigner(BaseModel):
    """A private key with the issuer and key id it signs as. A personal key (`person` set)
    signs for its owner only; an issuer's key (the inbox) for whoever it authenticated."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    key: Ed25519PrivateKey
    issuer: str
    kid: str
    person: str | None = None
    ttl: timedelta = DEFAULT_TTL
    """How long its tokens live unless a call says otherwise."""

    def sign(
        self,
        *,
        person: str,
        role: str,
        workflow_id: str,
        step: str,
        subject: Any,
        decision: str,
        issued_at: datetime,
        jti: str,
        ttl: timedelta | None = None,
    ) -> str:
        """A token for `decision` on `subject` (what the person saw; hashed here)."""
        if self.person is not None and person != self.person:
            raise ValueError(f"this key signs for {self.person!r} only, not for {person!r}")
        return sign_decision(
            self.key,
            issuer=self.issuer,
            kid=self.kid,
            person=person,
            role=role,
            workflow_id=workflow_id,
            step=step,
            subject_hash=subject_hash(subject),
            decision=decision,
            issued_at=issued_at,
            jti=jti,
            ttl=ttl or self.ttl,
        )

    def trusted_key(self) -> TrustedKey:
        return TrustedKey(kid=self.kid, public_key=public_key_text(self.key))

    def trusted_issuer(self) -> TrustedIssuer:
        """The policy entry that trusts this key (a personal key vouches for its owner)."""
        scope = [self.person] if self.person is not None else [ANY_PERSON]
        return TrustedIssuer(issuer=self.issuer, keys=[self.trusted_key()], vouches_for=scope)
