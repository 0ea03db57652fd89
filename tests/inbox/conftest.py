"""The inbox against the test server and the fast-tier promotion rig: an httpx client on
the app itself (same event loop as the Temporal client), logged in as a demo account."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain.promotion.policy import PromotionPolicy
from domain.promotion.status import PromotionStatus
from domain.returns.policy import ReturnPolicy
from inbox.accounts import Accounts, LoginLimiter
from inbox.app import Inbox, create_app
from inbox.config import DEFAULT_ACCOUNTS, DEFAULT_PROMOTION_POLICY, DEFAULT_RETURNS_POLICY
from inbox.work import Policies
from tests.fixtures.identity import DEMO_SIGNER
from tests.fixtures.promotion import FastRig

SECRET = "inbox-tests-only-secret"
EXAMPLE_POLICY = PromotionPolicy.model_validate(json.loads(DEFAULT_PROMOTION_POLICY.read_text()))
"""The example policy as it is: it trusts `demo-inbox`, the key the inbox signs with."""
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def password(person: str) -> str:
    return f"demo-{person}"


def make_inbox(client: Client, limiter: LoginLimiter | None = None) -> Inbox:
    async def factory() -> Client:
        return client

    return Inbox(
        accounts=Accounts.load(DEFAULT_ACCOUNTS),
        signer=DEMO_SIGNER,
        policies=Policies(
            promotion=EXAMPLE_POLICY,
            returns=ReturnPolicy.model_validate(
                json.loads(Path(DEFAULT_RETURNS_POLICY).read_text())
            ),
        ),
        client=factory,
        limiter=limiter,
    )


class Browser:
    """An httpx client on the app that keeps its cookies, like a browser tab."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def csrf(self, path: str = "/login") -> str:
        response = await self.http.get(path)
        found = CSRF.search(response.text)
        assert found, f"no CSRF token on {path}: {response.text[:300]}"
        return found.group(1)

    async def login(self, person: str, secret: str | None = None) -> httpx.Response:
        token = await self.csrf()
        return await self.http.post(
            "/login",
            data={"person": person, "password": secret or password(person), "csrf": token},
        )

    async def decide(
        self, workflow_id: str, verdict: str = "approve", comment: str = "ok", **extra: Any
    ) -> httpx.Response:
        page = await self.http.get(f"/promotion/{workflow_id}")
        token = CSRF.search(page.text)
        seen = re.search(r'name="seen" value="([^"]*)"', page.text)
        data = {
            "verdict": verdict,
            "comment": comment,
            "csrf": token.group(1) if token else "",
            "seen": seen.group(1) if seen else "",
        }
        data.update(extra)
        return await self.http.post(f"/promotion/{workflow_id}/decide", data=data)


@asynccontextmanager
async def tabs_on(client: Client) -> AsyncIterator[Callable[[], Browser]]:
    """`open_tab()` opens a fresh tab on one inbox app (shared limiter and Temporal side)."""
    app = create_app(make_inbox(client), secret=SECRET)
    opened: list[httpx.AsyncClient] = []

    def open_tab() -> Browser:
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://inbox.test"
        )
        opened.append(http)
        return Browser(http)

    try:
        yield open_tab
    finally:
        for http in opened:
            await http.aclose()


@pytest.fixture
async def browsers(fast_promo_rig: FastRig) -> AsyncIterator[Callable[[], Browser]]:
    """Tabs on an inbox in front of the fast-tier promotion rig."""
    async with tabs_on(fast_promo_rig.client) as open_tab:
        yield open_tab


@pytest.fixture
async def plain_browsers(env: WorkflowEnvironment) -> AsyncIterator[Callable[[], Browser]]:
    """Tabs on an inbox in front of the test server (the test runs its own worker)."""
    async with tabs_on(env.client) as open_tab:
        yield open_tab


async def launch_waiting(rig: FastRig) -> tuple[WorkflowHandle[Any, Any], PromotionStatus]:
    """A sample promotion under the example policy, waiting for its first approval."""
    handle = await rig.launch(rig.plan(), EXAMPLE_POLICY, precheck=False)
    status = await rig.wait_state(handle, "AWAITING_APPROVAL")
    return handle, status
