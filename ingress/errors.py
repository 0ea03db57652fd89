"""Errors in words, in the backoffice API's shape: ``{"error": code, "message", "field"}``.

The systems that post events read the same body from the ingress as from any backoffice
call: a stable code, a sentence, the field at fault.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


class IngressError(Exception):
    """Raise from a handler: status, stable code, a sentence, the field at fault."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, "field": self.field}


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    out = ""
    for part in (str(p) for p in loc if p != "body"):
        out += f"[{part}]" if part.isdigit() else ("." if out else "") + part
    return out or "body"


def _reason(item: Any) -> str:
    if item.get("type") == "missing":
        return "is required"
    if item.get("type") == "extra_forbidden":
        return "is not a known field"
    return str(item.get("msg", "is not valid"))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(IngressError)
    async def _ingress_error(_request: Request, err: IngressError) -> JSONResponse:
        return JSONResponse(err.body(), status_code=err.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, err: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": _field(item.get("loc", ())), "reason": _reason(item)} for item in err.errors()
        ]
        first = problems[0] if problems else {"field": "body", "reason": "is not valid"}
        message = "; ".join(f"{p['field']}: {p['reason']}" for p in problems) or "bad request"
        return JSONResponse(
            {
                "error": "invalid_input",
                "message": message,
                "field": first["field"],
                "problems": problems,
            },
            status_code=400,
        )
