"""The approvals inbox in front of the fast-tier promotion rig: log-in, CSRF, sessions,
"waiting for me" and deciding from the page (signed by demo-inbox for the session's user)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

from cli import promotion as promotion_cli
from domain.promotion.approvals import ApprovalState
from tests.fixtures.identity import DEMO_SIGNER
from tests.fixtures.promotion import FastRig
from tests.inbox.conftest import CSRF, Browser, launch_waiting


async def eventually_listed(tab: Browser, workflow_id: str, *, listed: bool = True) -> str:
    """The waiting page once visibility shows (or no longer shows) `workflow_id`."""
    text = ""
    for _ in range(100):
        text = (await tab.http.get("/")).text
        if (workflow_id in text) == listed:
            return text
        await asyncio.sleep(0.1)
    raise AssertionError(f"{workflow_id} {'not ' if listed else ''}listed: {text[:500]}")


async def test_log_in_ok_wrong_password_and_limited(browsers: Callable[[], Browser]) -> None:
    tab = browsers()
    assert (await tab.http.get("/")).headers["location"] == "/login"
    ok = await tab.login("alice")
    assert ok.status_code == 303 and ok.headers["location"] == "/"
    assert "Waiting for me" in (await tab.http.get("/")).text

    other = browsers()
    wrong = await other.login("frank", "not-his-password")
    assert wrong.status_code == 401 and "wrong name or password" in wrong.text
    for _ in range(4):
        assert (await other.login("frank", "guess")).status_code == 401
    limited = await other.login("frank")  # the right password, too late
    assert limited.status_code == 429 and "too many failed log-ins" in limited.text
    assert (await other.http.get("/")).headers["location"] == "/login"
    assert (await browsers().login("fatima")).status_code == 303  # others are not limited


async def test_a_form_without_its_csrf_token_is_refused_and_nothing_decided(
    browsers: Callable[[], Browser], fast_promo_rig: FastRig
) -> None:
    handle, _ = await launch_waiting(fast_promo_rig)
    tab = browsers()
    await tab.login("alice")
    missing = await tab.http.post(
        f"/promotion/{handle.id}/decide", data={"verdict": "approve", "version": "1"}
    )
    assert missing.status_code == 403
    forged = await tab.decide(handle.id, csrf="not-the-token")
    assert forged.status_code == 403
    no_token_login = await browsers().http.post(
        "/login", data={"person": "alice", "password": "demo-alice"}
    )
    assert no_token_login.status_code == 403
    status = await fast_promo_rig.status(handle)
    assert all(a.state is ApprovalState.PENDING for a in status.approvals)


async def test_an_altered_session_cookie_logs_the_visitor_out(
    browsers: Callable[[], Browser],
) -> None:
    tab = browsers()
    await tab.login("alice")
    cookie = tab.http.cookies["inbox_session"]
    flipped = cookie[:-3] + ("A" if cookie[-3] != "A" else "B") + cookie[-2:]
    tab.http.cookies.clear()
    tab.http.cookies.set("inbox_session", flipped, domain="inbox.test")
    response = await tab.http.get("/")
    assert response.status_code == 303 and response.headers["location"] == "/login"


async def test_waiting_for_me_and_approving_from_the_page(
    browsers: Callable[[], Browser], fast_promo_rig: FastRig
) -> None:
    handle, status = await launch_waiting(fast_promo_rig)
    roles = [a.role for a in status.approvals]
    assert roles[0] == "category_manager" and "finance" in roles, roles
    alice, frank = browsers(), browsers()
    await alice.login("alice")
    await frank.login("frank")
    await eventually_listed(alice, handle.id)
    assert handle.id not in (await frank.http.get("/")).text  # not finance's turn yet

    page = (await alice.http.get(f"/promotion/{handle.id}")).text
    for shown in ("Regular", "Discount depth", "Margin impact", "Vendor funding", "Store coverage"):
        assert shown in page
    answer = await alice.decide(handle.id, comment="fine by me")
    assert answer.status_code == 303
    after = (await alice.http.get(answer.headers["location"])).text
    assert 'id="answer" class="ok"' in after, after[:800]

    status = await fast_promo_rig.status(handle)
    first = status.approvals[0]
    assert (first.state, first.decided_by, first.comment) == (
        ApprovalState.APPROVED,
        "alice",
        "fine by me",
    )
    proof = [e for e in status.audit if e.issuer == "demo-inbox" and e.actor.startswith("alice")]
    assert proof and proof[-1].kid == "demo-inbox-1" and proof[-1].token_id
    await eventually_listed(alice, handle.id, listed=False)
    await eventually_listed(frank, handle.id)  # finance's turn now
    for approval in status.approvals[1:]:
        tab = browsers()
        await tab.login(EXAMPLE_APPROVER[approval.role])
        await eventually_listed(tab, handle.id)
        assert (await tab.decide(handle.id)).status_code == 303
    final = await fast_promo_rig.wait_for(
        handle, lambda s: s.state.value != "AWAITING_APPROVAL", what="approved"
    )
    assert all(a.state is ApprovalState.APPROVED for a in final.approvals)
    assert final.state.value in {"APPROVED", "PREPARING", "PUBLISHING", "SCHEDULED"}


EXAMPLE_APPROVER = {
    "finance": "frank",
    "loss_prevention": "lena",
    "supply_chain": "sam",
    "store_operations": "olga",
}


async def test_a_decision_already_taken_by_someone_else_says_so(
    browsers: Callable[[], Browser], fast_promo_rig: FastRig
) -> None:
    handle, _ = await launch_waiting(fast_promo_rig)
    alice, carlos = browsers(), browsers()
    await alice.login("alice")
    await carlos.login("carlos")
    await alice.decide(handle.id)
    late = await carlos.decide(handle.id)
    words = (await carlos.http.get(late.headers["location"])).text
    assert "category_manager already approved by alice" in words
    status = await fast_promo_rig.status(handle)
    assert status.approvals[0].decided_by == "alice"


async def test_a_decision_from_a_stale_page_is_not_sent(
    browsers: Callable[[], Browser], fast_promo_rig: FastRig
) -> None:
    handle, _ = await launch_waiting(fast_promo_rig)
    alice = browsers()
    await alice.login("alice")
    stale = await alice.decide(handle.id, seen="sha256:what-alice-saw-before")
    words = (await alice.http.get(stale.headers["location"])).text
    assert "changed while you looked" in words
    status = await fast_promo_rig.status(handle)
    assert all(a.state is ApprovalState.PENDING for a in status.approvals)


async def test_pages_refuse_framing_and_scripts(browsers: Callable[[], Browser]) -> None:
    response = await browsers().http.get("/login")
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in response.headers["content-security-policy"]


async def test_a_price_change_while_the_page_is_open_asks_for_a_new_look(
    browsers: Callable[[], Browser], fast_promo_rig: FastRig
) -> None:
    handle, status = await launch_waiting(fast_promo_rig)
    alice = browsers()
    await alice.login("alice")
    page = (await alice.http.get(f"/promotion/{handle.id}")).text
    seen = re.search(r'name="seen" value="([^"]*)"', page)
    token = CSRF.search(page)
    assert seen and token
    await promotion_cli.change_price(
        fast_promo_rig.settings,
        status.promotion_id,
        "ana",
        promotion_cli.offer_from(percent="22"),
        "match a competitor",
        client=fast_promo_rig.client,
        signer=DEMO_SIGNER,
    )
    stale = await alice.http.post(
        f"/promotion/{handle.id}/decide",
        data={"verdict": "approve", "csrf": token[1], "seen": seen[1]},
    )
    words = (await alice.http.get(stale.headers["location"])).text
    assert "changed while you looked" in words
    assert 'id="version-note"' in words and "price version 2" in words
    fresh = await alice.decide(handle.id)
    after = (await alice.http.get(fresh.headers["location"])).text
    assert 'id="answer" class="ok"' in after, after[:600]
    decided = await fast_promo_rig.status(handle)
    assert decided.version == 2 and decided.approvals[0].decided_by == "alice"


async def test_a_page_for_no_such_workflow_says_so(browsers: Callable[[], Browser]) -> None:
    tab = browsers()
    await tab.login("alice")
    missing = await tab.http.get("/promotion/promotion-no-such-thing")
    assert missing.status_code == 404 and "no promotion" in missing.text.lower()
    assert (await tab.http.get("/elsewhere/x")).status_code == 404
