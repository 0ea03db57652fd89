"""The inbox in a real browser: headless Chromium from Debian's `chromium` package driven
by Playwright (never `playwright install`). Log in as alice, find the waiting promotion,
approve it, see it leave the list and the workflow move on."""

from __future__ import annotations

import asyncio
import shutil
import socket
from pathlib import Path

import pytest
import uvicorn

from domain.promotion.approvals import ApprovalState
from inbox.app import create_app
from tests.fixtures.promotion import FastRig
from tests.inbox.conftest import SECRET, launch_waiting, make_inbox

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and shutil.which("chromium") is None,
        reason="Debian's chromium is not installed (`.ci/chromium.sh` installs it)",
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_approve_a_waiting_promotion_in_a_real_browser(
    fast_promo_rig: FastRig, tmp_path: Path
) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    handle, _ = await launch_waiting(fast_promo_rig)
    port = free_port()
    app = create_app(make_inbox(fast_promo_rig.client), secret=SECRET)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        async with playwright_api.async_playwright() as pw:
            context = await pw.chromium.launch_persistent_context(
                str(tmp_path / "profile"),
                executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
                headless=True,
                args=CHROMIUM_ARGS,
            )
            try:
                page = await context.new_page()
                base = f"http://127.0.0.1:{port}"
                await page.goto(f"{base}/")
                assert page.url.endswith("/login")
                await page.fill("input[name=person]", "alice")
                await page.fill("input[name=password]", "demo-alice")
                await page.click("button[type=submit]")
                link = page.locator(f"#waiting a:text('{handle.id}')")
                for _ in range(50):  # visibility is eventually consistent
                    if await link.count():
                        break
                    await page.reload()
                    await asyncio.sleep(0.1)
                await link.click()
                await page.fill("textarea[name=comment]", "approved in the browser")
                await page.click("button[value=approve]")
                answer = await page.locator("#answer").inner_text()
                assert "refused" not in answer.lower(), answer
                status = await fast_promo_rig.status(handle)
                assert status.approvals[0].state is ApprovalState.APPROVED
                assert status.approvals[0].decided_by == "alice"
                assert status.awaiting_role not in (None, "category_manager")  # moved on
                gone = False
                for _ in range(50):
                    await page.goto(f"{base}/")
                    if handle.id not in await page.content():
                        gone = True
                        break
                    await asyncio.sleep(0.1)
                assert gone, "the approved promotion is still listed for alice"
            finally:
                await context.close()
    finally:
        server.should_exit = True
        await serving
