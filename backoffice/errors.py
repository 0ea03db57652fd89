"""Errors in words: every 4xx/5xx body is ``{"error": code, "message": words, "field": ...}``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class ApiError(Exception):
    """Raise from any handler: status, stable code, a sentence, the field at fault."""

    def __init__(
        self, status: int, code: str, message: str, *, field: str | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, "field": self.field, **self.extra}


def bad_input(field: str, reason: str) -> ApiError:
    return ApiError(400, "invalid_input", f"{field}: {reason}", field=field)


def not_found(
    what: str, ident: str, *, field: str | None = None, code: str | None = None
) -> ApiError:
    """Unknown entity; in a path it is a 404, named in the body (field) it is a 400."""
    status = 400 if field else 404
    return ApiError(
        status, code or f"unknown_{what}", f"unknown {what} {ident!r}", field=field or what
    )


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    out = ""
    for part in parts:
        if part.isdigit():
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "body"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, err: ApiError) -> JSONResponse:
        return JSONResponse(err.body(), status_code=err.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, err: RequestValidationError) -> JSONResponse:
        problems = []
        for item in err.errors():
            field = _loc(item.get("loc", ()))
            reason = str(item.get("msg", "is not valid"))
            if item.get("type") == "missing":
                reason = "is required"
            elif item.get("type") == "extra_forbidden":
                reason = "is not a known field"
            problems.append({"field": field, "reason": reason})
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

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, err: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(err.status_code, "http_error")
        return JSONResponse(
            {"error": code, "message": str(err.detail), "field": None},
            status_code=err.status_code,
        )
