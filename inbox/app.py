"""The inbox's web app: log-in, "waiting for me", one decision page per workflow.

Sessions are signed cookies (Starlette's `SessionMiddleware`, itsdangerous): an altered
cookie fails its signature and the visitor is simply logged out. Every form carries the
session's CSRF token; a POST without it (or with another) is refused with 403 before
anything is decided. The person deciding is always the session's, never a form field.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError

from cli.common import CommandError
from common.temporal import TemporalUnreachable
from domain.identity import DecisionSigner
from inbox.accounts import Accounts, LoginLimiter
from inbox.oidc import Oidc, OidcError
from inbox.views import promotion_view, rebalance_view, return_view
from inbox.work import KINDS, PROMOTION, REBALANCE, RETURN, Policies, Work

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
SESSION_COOKIE = "inbox_session"
ClientFactory = Callable[[], Awaitable[Client]]
log = logging.getLogger("inbox")


class Inbox:
    """What the routes share: accounts, the limiter, the Temporal side (made on first use)."""

    def __init__(
        self,
        *,
        accounts: Accounts,
        signer: DecisionSigner,
        policies: Policies,
        client: ClientFactory,
        limiter: LoginLimiter | None = None,
        oidc: Oidc | None = None,
    ) -> None:
        self.accounts, self.signer, self.policies = accounts, signer, policies
        self.oidc = oidc
        self.limiter = limiter or LoginLimiter()
        self._client_factory = client
        self._work: Work | None = None

    async def work(self) -> Work:
        if self._work is None:
            self._work = Work(await self._client_factory(), self.signer, self.policies)
        return self._work


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


def check_csrf(request: Request, given: str | None) -> None:
    expected = request.session.get("csrf")
    if not expected or not given or not secrets.compare_digest(str(expected), given):
        raise HTTPException(403, "the form's CSRF token is missing or wrong: reload the page")


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("person", request.session.get("person"))
    context.setdefault("oidc", request.app.state.inbox.oidc is not None)
    context["csrf"] = csrf_token(request)
    context["flash"] = request.session.pop("flash", None)
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)


def create_app(inbox: Inbox, *, secret: str, secure_cookies: bool = False) -> FastAPI:
    app = FastAPI(title="Approvals inbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=SESSION_COOKIE,
        max_age=8 * 3600,
        same_site="lax",  # the OIDC callback is a cross-site redirect; forms carry CSRF tokens
        https_only=secure_cookies,
    )
    app.state.inbox = inbox

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
            "frame-ancestors 'none'",
        )
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(TemporalUnreachable)
    async def unreachable(request: Request, err: TemporalUnreachable) -> Response:
        return page(request, "missing.html", 503, message=str(err))

    @app.exception_handler(RPCError)
    async def rpc_failed(request: Request, err: RPCError) -> Response:
        return page(request, "missing.html", 503, message=f"Temporal did not answer: {err}")

    @app.exception_handler(WorkflowQueryFailedError)
    async def not_this_kind(request: Request, err: WorkflowQueryFailedError) -> Response:
        return page(request, "missing.html", 404, message=f"not a workflow of this kind: {err}")

    def person_of(request: Request) -> str | None:
        person = request.session.get("person")
        return str(person) if person else None

    def to_login() -> RedirectResponse:
        return RedirectResponse("/login", status_code=303)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "issuer": inbox.signer.issuer, "kid": inbox.signer.kid}

    @app.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request) -> Response:
        return page(request, "login.html")

    @app.post("/login", response_class=HTMLResponse)
    async def login(
        request: Request,
        person: str = Form(""),
        password: str = Form(""),
        csrf: str | None = Form(None),
    ) -> Response:
        check_csrf(request, csrf)
        person = person.strip()
        if inbox.limiter.blocked(person):
            return page(
                request,
                "login.html",
                429,
                error="too many failed log-ins for this account: try again in 15 minutes",
            )
        account = inbox.accounts.check(person, password)
        if account is None:
            inbox.limiter.failed(person)
            log.warning("failed log-in for %r", person[:64])
            return page(request, "login.html", 401, error="wrong name or password")
        inbox.limiter.succeeded(person)
        request.session.clear()
        request.session["person"] = account.person
        request.session["csrf"] = secrets.token_urlsafe(32)
        return RedirectResponse("/", status_code=303)

    @app.get("/login/oidc")
    async def oidc_start(request: Request) -> Response:
        if inbox.oidc is None:
            raise HTTPException(404, "single sign-on is not configured")
        try:
            url = await inbox.oidc.start(request.session, str(request.url_for("oidc_callback")))
        except (OidcError, httpx.HTTPError) as err:
            return page(request, "login.html", 502, error=f"single sign-on failed: {err}")
        return RedirectResponse(url, status_code=303)

    @app.get("/login/oidc/callback", name="oidc_callback")
    async def oidc_callback(request: Request) -> Response:
        if inbox.oidc is None:
            raise HTTPException(404, "single sign-on is not configured")
        try:
            person = await inbox.oidc.finish(
                request.session,
                dict(request.query_params),
                str(request.url_for("oidc_callback")),
            )
        except (OidcError, httpx.HTTPError) as err:
            return page(request, "login.html", 401, error=f"single sign-on failed: {err}")
        request.session.clear()
        request.session["person"] = person
        request.session["csrf"] = secrets.token_urlsafe(32)
        return RedirectResponse("/", status_code=303)

    @app.post("/logout")
    async def logout(request: Request, csrf: str | None = Form(None)) -> Response:
        check_csrf(request, csrf)
        request.session.clear()
        return to_login()

    @app.get("/", response_class=HTMLResponse)
    async def waiting(request: Request) -> Response:
        person = person_of(request)
        if person is None:
            return to_login()
        work = await inbox.work()
        items = await work.waiting_for(person)
        roles = {
            PROMOTION: inbox.policies.promotion_roles(person),
            RETURN: inbox.policies.return_roles(person),
        }
        return page(request, "waiting.html", items=items, roles=roles)

    @app.get("/{kind}/{workflow_id}", response_class=HTMLResponse)
    async def decision_page(request: Request, kind: str, workflow_id: str) -> Response:
        person = person_of(request)
        if person is None:
            return to_login()
        if kind not in KINDS:
            raise HTTPException(404, "no such kind of work")
        work = await inbox.work()
        try:
            if kind == PROMOTION:
                context = promotion_view(work, person, await work.promotion(workflow_id))
            elif kind == RETURN:
                context = return_view(work, person, await work.return_(workflow_id))
            else:
                status = await work.rebalance(workflow_id)
                approvers = await work.rebalance_approvers(workflow_id)
                context = rebalance_view(person, status, approvers)
        except CommandError as err:
            return page(request, "missing.html", 404, message=str(err))
        return page(
            request,
            f"{kind}.html",
            kind=kind,
            workflow_id=workflow_id,
            issuer=inbox.signer.issuer,
            **context,
        )

    @app.post("/{kind}/{workflow_id}/decide")
    async def decide(
        request: Request,
        kind: str,
        workflow_id: str,
        verdict: str = Form(...),
        comment: str = Form(""),
        seen: str = Form(""),
        csrf: str | None = Form(None),
    ) -> Response:
        check_csrf(request, csrf)
        person = person_of(request)
        if person is None:
            return to_login()
        if kind not in KINDS or verdict not in ("approve", "reject"):
            raise HTTPException(400, "approve or reject a promotion, a return or a plan")
        work = await inbox.work()
        approve = verdict == "approve"
        comment = comment.strip()[:500]
        try:
            if kind == PROMOTION:
                answer = await work.decide_promotion(
                    workflow_id, person, approve=approve, comment=comment, seen=seen
                )
            elif kind == RETURN:
                answer = await work.decide_return(
                    workflow_id, person, approve=approve, comment=comment, seen=seen
                )
            else:
                answer = await work.decide_rebalance(
                    workflow_id, person, approve=approve, comment=comment, seen=seen
                )
        except CommandError as err:
            request.session["flash"] = {"ok": False, "message": str(err)}
            log.warning("%s %s %s %s: %s", person, verdict, kind, workflow_id, err)
        else:
            request.session["flash"] = {"ok": answer.ok, "message": answer.message}
            outcome = "done" if answer.ok else "refused"
            log.info(
                "%s %s %s %s %s: %s", person, verdict, kind, workflow_id, outcome, answer.message
            )
        return RedirectResponse(f"/{kind}/{workflow_id}", status_code=303)

    return app


__all__ = ["REBALANCE", "Inbox", "create_app"]
