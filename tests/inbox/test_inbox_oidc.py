"""OpenID Connect log-in against a scripted provider (a small FastAPI app on a free port):
the code flow with PKCE, state and nonce; a forged or misdirected ID token is refused."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from temporalio.testing import WorkflowEnvironment

from inbox.app import create_app
from inbox.oidc import Oidc, OidcSettings
from tests.inbox.conftest import SECRET, make_inbox

CLIENT_ID, CLIENT_SECRET = "inbox", "inbox-client-secret-for-tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Provider:
    issuer: str
    person: str = "alice"
    audience: str = CLIENT_ID
    signing_key: Any = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    published_key: Any = None
    codes: dict[str, dict[str, str]] = field(default_factory=dict)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        async def meta() -> dict[str, str]:
            return {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
            }

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:
            public = (self.published_key or self.signing_key).public_key()
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public))
            return {"keys": [jwk | {"kid": "k1", "use": "sig", "alg": "RS256"}]}

        @app.get("/authorize")
        async def authorize(request: Request) -> RedirectResponse:
            q = request.query_params
            code = uuid.uuid4().hex
            self.codes[code] = dict(q)
            back = urlencode({"code": code, "state": q["state"]})
            return RedirectResponse(f"{q['redirect_uri']}?{back}", status_code=302)

        @app.post("/token")
        async def token(
            request: Request, code: str = Form(...), code_verifier: str = Form(...)
        ) -> JSONResponse:
            asked = self.codes.pop(code, None)
            basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            challenge = (
                base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest())
                .rstrip(b"=")
                .decode()
            )
            if (
                asked is None
                or request.headers.get("authorization") != f"Basic {basic}"
                or challenge != asked["code_challenge"]
            ):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            now = int(time.time())
            claims = {
                "iss": self.issuer,
                "sub": f"sub-{self.person}",
                "aud": self.audience,
                "iat": now,
                "exp": now + 300,
                "nonce": asked["nonce"],
                "preferred_username": self.person,
            }
            id_token = jwt.encode(
                claims, self.signing_key, algorithm="RS256", headers={"kid": "k1"}
            )
            return JSONResponse({"access_token": "x", "token_type": "Bearer", "id_token": id_token})

        return app


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    port = free_port()
    found = Provider(issuer=f"http://127.0.0.1:{port}")
    server = uvicorn.Server(
        uvicorn.Config(found.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield found
    finally:
        server.should_exit = True
        await serving


async def sign_in(env: WorkflowEnvironment, provider: Provider) -> tuple[httpx.Response, Any]:
    inbox = make_inbox(env.client)
    inbox.oidc = Oidc(OidcSettings(provider.issuer, CLIENT_ID, CLIENT_SECRET))
    app = create_app(inbox, secret=SECRET)
    tab = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://inbox.test")
    login_page = await tab.get("/login")
    assert 'href="/login/oidc"' in login_page.text
    start = await tab.get("/login/oidc")
    assert start.status_code == 303
    asked = parse_qs(urlparse(start.headers["location"]).query)
    assert asked["code_challenge_method"] == ["S256"] and asked["nonce"] and asked["state"]
    async with httpx.AsyncClient() as browser:
        back = await browser.get(start.headers["location"])
    callback = urlparse(back.headers["location"])
    done = await tab.get(f"{callback.path}?{callback.query}")
    return done, tab


async def test_single_sign_on_logs_the_person_in(
    env: WorkflowEnvironment, provider: Provider
) -> None:
    done, tab = await sign_in(env, provider)
    assert done.status_code == 303 and done.headers["location"] == "/"
    page = await tab.get("/")
    assert 'id="who">alice<' in page.text
    await tab.aclose()


@pytest.mark.parametrize("tamper", ["forged", "audience"])
async def test_an_id_token_that_does_not_verify_logs_nobody_in(
    env: WorkflowEnvironment, provider: Provider, tamper: str
) -> None:
    if tamper == "forged":
        provider.published_key = rsa.generate_private_key(65537, 2048)
    else:
        provider.audience = "another-client"
    done, tab = await sign_in(env, provider)
    assert done.status_code == 401 and "single sign-on failed" in done.text
    assert (await tab.get("/")).headers["location"] == "/login"
    await tab.aclose()


async def test_a_callback_with_another_state_is_refused(
    env: WorkflowEnvironment, provider: Provider
) -> None:
    inbox = make_inbox(env.client)
    inbox.oidc = Oidc(OidcSettings(provider.issuer, CLIENT_ID, CLIENT_SECRET))
    app = create_app(inbox, secret=SECRET)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://inbox.test"
    ) as tab:
        await tab.get("/login/oidc")
        done = await tab.get("/login/oidc/callback?code=x&state=not-mine")
        assert done.status_code == 401 and "does not match" in done.text
