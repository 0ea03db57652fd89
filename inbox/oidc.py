"""OpenID Connect log-in for production: the authorization code flow with PKCE, state and
nonce, the ID token verified with PyJWT against the provider's published keys (JWKS).

| variable | what |
|---|---|
| `RETAIL_INBOX_OIDC_ISSUER` | the provider's issuer URL (its `/.well-known/openid-configuration` is read); unset: no OIDC |
| `RETAIL_INBOX_OIDC_CLIENT_ID`, `RETAIL_INBOX_OIDC_CLIENT_SECRET` | the inbox's client at the provider |
| `RETAIL_INBOX_OIDC_PERSON_CLAIM` | the claim naming the person as the policies do (default `preferred_username`) |
| `RETAIL_INBOX_OIDC_REDIRECT_URL` | the callback URL registered at the provider (default: this app's `/login/oidc/callback`) |
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]
SESSION_KEY = "oidc"


class OidcError(ValueError):
    """A log-in the provider or the token did not prove, in words."""


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    client_secret: str
    person_claim: str = "preferred_username"
    redirect_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OidcSettings | None:
        issuer = env.get("RETAIL_INBOX_OIDC_ISSUER", "").strip()
        if not issuer:
            return None
        client_id = env.get("RETAIL_INBOX_OIDC_CLIENT_ID", "").strip()
        secret = env.get("RETAIL_INBOX_OIDC_CLIENT_SECRET", "").strip()
        if not client_id or not secret:
            raise ValueError(
                "RETAIL_INBOX_OIDC_ISSUER is set: set RETAIL_INBOX_OIDC_CLIENT_ID and "
                "RETAIL_INBOX_OIDC_CLIENT_SECRET too"
            )
        return cls(
            issuer=issuer,
            client_id=client_id,
            client_secret=secret,
            person_claim=env.get("RETAIL_INBOX_OIDC_PERSON_CLAIM", "") or "preferred_username",
            redirect_url=env.get("RETAIL_INBOX_OIDC_REDIRECT_URL", "") or None,
        )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class Oidc:
    def __init__(
        self,
        settings: OidcSettings,
        http: Callable[[], httpx.AsyncClient] = lambda: httpx.AsyncClient(timeout=10.0),
    ) -> None:
        self.settings, self._http = settings, http
        self._metadata: dict[str, Any] | None = None

    async def _get_json(self, url: str) -> dict[str, Any]:
        async with self._http() as http:
            response = await http.get(url)
        if response.status_code != 200:
            raise OidcError(f"the identity provider answered {response.status_code} at {url}")
        data: dict[str, Any] = response.json()
        return data

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            url = self.settings.issuer.rstrip("/") + "/.well-known/openid-configuration"
            data = await self._get_json(url)
            if data.get("issuer") != self.settings.issuer:
                raise OidcError(f"the provider at {url} names another issuer")
            self._metadata = data
        return self._metadata

    async def start(self, session: MutableMapping[str, Any], redirect_uri: str) -> str:
        """The provider's authorization URL; state, nonce and PKCE verifier kept in the session."""
        meta = await self.metadata()
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        session[SESSION_KEY] = {"state": state, "nonce": nonce, "verifier": verifier}
        query = {
            "response_type": "code",
            "client_id": self.settings.client_id,
            "redirect_uri": self.settings.redirect_url or redirect_uri,
            "scope": "openid profile email",
            "state": state,
            "nonce": nonce,
            "code_challenge": _b64url(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
        }
        return f"{meta['authorization_endpoint']}?{urlencode(query)}"

    async def finish(
        self, session: MutableMapping[str, Any], params: Mapping[str, str], redirect_uri: str
    ) -> str:
        """The person the provider proved (its ID token verified); OidcError otherwise."""
        pending = session.pop(SESSION_KEY, None)
        if not isinstance(pending, dict):
            raise OidcError("no log-in was started from this browser: start again")
        if "error" in params:
            raise OidcError(f"the identity provider refused: {params['error']}")
        if not secrets.compare_digest(str(pending.get("state")), params.get("state", "")):
            raise OidcError("the log-in answer does not match the one started here")
        meta = await self.metadata()
        async with self._http() as http:
            response = await http.post(
                meta["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": params.get("code", ""),
                    "redirect_uri": self.settings.redirect_url or redirect_uri,
                    "code_verifier": pending["verifier"],
                },
                auth=(self.settings.client_id, self.settings.client_secret),
            )
        if response.status_code != 200 or "id_token" not in response.json():
            raise OidcError(f"the identity provider gave no ID token ({response.status_code})")
        claims = await self._verify(response.json()["id_token"])
        if not secrets.compare_digest(str(claims.get("nonce", "")), pending["nonce"]):
            raise OidcError("the ID token was not issued for this log-in (nonce)")
        person = claims.get(self.settings.person_claim)
        if not isinstance(person, str) or not person:
            raise OidcError(f"the ID token names no {self.settings.person_claim}")
        return person

    async def _verify(self, token: str) -> dict[str, Any]:
        meta = await self.metadata()
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") not in ALGORITHMS:
                raise OidcError(f"ID token signed with {header.get('alg')!r}: not accepted")
            keys = jwt.PyJWKSet.from_dict(await self._get_json(meta["jwks_uri"]))
            key = next((k for k in keys.keys if k.key_id == header.get("kid")), None)
            if key is None:
                raise OidcError("the ID token's key is not among the provider's keys")
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=[header["alg"]],
                audience=self.settings.client_id,
                issuer=self.settings.issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as err:
            raise OidcError(f"the ID token does not verify: {err}") from None
        return claims
