"""The HTTP plumbing every adapter shares: one pooled ``httpx.AsyncClient``, timeouts,
idempotency headers, and the mapping of every failure to ``TransientError`` or
``BusinessRefusal`` with a message a person understands.

Error mapping (the backoffice answers errors as
``{"error": code, "message": words, "field": name-or-null}``):

===========================================  =========================================
what happened                                raised
===========================================  =========================================
connect error, timeout, 5xx, 408, 429        ``TransientError`` (retry, same key)
any other 4xx (bad input, unknown item,      ``BusinessRefusal(code=<error>)``
refused business rule, 409 key reuse)        (never retried)
===========================================  =========================================
"""

from __future__ import annotations

import functools
import ssl
import uuid
from collections.abc import Hashable, Mapping
from typing import Any, TypeVar, cast

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from adapters.errors import BusinessRefusal, TransientError
from wire.headers import IDEMPOTENCY_HEADER

R = TypeVar("R")

DEFAULT_TIMEOUT_S = 10.0
_TRANSIENT_STATUSES = {408, 425, 429}


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context per process: loading the CA bundle costs ~35 ms a client."""
    return httpx.create_ssl_context()


def new_http_client(
    base_url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S, max_connections: int = 100
) -> httpx.AsyncClient:
    """A pooled client for ``base_url``; share one per process (connection reuse)."""
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/"),
        verify=_tls_context(),
        timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        headers={"User-Agent": "retail-ops-adapters/0.1"},
    )


def new_idempotency_key() -> str:
    """A random key for callers outside an activity (CLI, tests, drills).

    Inside an activity use ``activities.common.idempotency_key()`` instead: it is stable
    across retries, which is the whole point.
    """
    return uuid.uuid4().hex


class BaseAdapter:
    """Common behaviour of the per-system adapters.

    Build one per system from a shared ``httpx.AsyncClient`` (see
    :class:`adapters.Backoffice`), or let it own a client: ``ErpClient(base_url)``.
    Use as ``async with`` or call :meth:`aclose` when the adapter owns its client.
    """

    system: str = "backoffice"
    prefix: str = ""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        http: httpx.AsyncClient | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        if http is None:
            if base_url is None:
                raise ValueError(f"{type(self).__name__} needs base_url or an http client")
            http = new_http_client(base_url, timeout_s=timeout_s)
            self._owns_http = True
        else:
            self._owns_http = False
        self._http = http

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self: Any) -> Any:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- the one request path -------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        result: type[R] | Any,
        json: BaseModel | Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> R:
        """Send one request and parse the answer into ``result`` (a model or type hint)."""
        headers: dict[str, str] = {}
        if idempotency_key is not None:
            if not idempotency_key.strip():
                raise BusinessRefusal(
                    f"{self.system} {operation}: the idempotency key is empty",
                    code="missing_idempotency_key",
                    system=self.system,
                    operation=operation,
                    field=IDEMPOTENCY_HEADER,
                )
            headers[IDEMPOTENCY_HEADER] = idempotency_key
        body: Any = None
        if isinstance(json, BaseModel):
            body = json.model_dump(mode="json", exclude_none=False)
        elif json is not None:
            body = dict(json)
        clean_params = (
            {k: _param(v) for k, v in params.items() if v is not None} if params else None
        )
        url = f"{self.prefix}{path}"
        try:
            response = await self._http.request(
                method, url, json=body, params=clean_params, headers=headers
            )
        except httpx.TimeoutException as err:
            raise TransientError(
                f"{self.system} did not answer {operation} in time ({type(err).__name__}); "
                "it will be retried with the same idempotency key",
                system=self.system,
                operation=operation,
            ) from err
        except httpx.TransportError as err:
            raise TransientError(
                f"{self.system} is not reachable for {operation} at {self._http.base_url} "
                f"({type(err).__name__}: {err})",
                system=self.system,
                operation=operation,
            ) from err
        if response.status_code >= 400:
            raise self._error(response, operation)
        if result is None or response.status_code == 204:
            return None  # type: ignore[return-value]
        try:
            parsed: R = _adapter(cast(Hashable, result)).validate_python(response.json())
            return parsed
        except (ValueError, ValidationError) as err:
            raise TransientError(
                f"{self.system} answered {operation} with a body this adapter cannot read: {err}",
                system=self.system,
                operation=operation,
                status=response.status_code,
            ) from err

    def _error(self, response: httpx.Response, operation: str) -> Exception:
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        detail = payload.get("detail")
        if isinstance(detail, dict):  # errors raised as HTTPException(detail={...})
            payload = detail
        message = str(payload.get("message") or detail or response.reason_phrase or "error")
        code = str(payload.get("error") or f"http_{status}")
        field = payload.get("field")
        details = {k: v for k, v in payload.items() if k not in ("message", "error", "field")}
        if status >= 500 or status in _TRANSIENT_STATUSES:
            return TransientError(
                f"{self.system} failed {operation} (HTTP {status}): {message}",
                system=self.system,
                operation=operation,
                status=status,
                details=details,
            )
        return BusinessRefusal(
            f"{self.system} refused {operation}: {message}",
            code=code,
            system=self.system,
            operation=operation,
            status=status,
            field=str(field) if field else None,
            details=details,
        )


@functools.lru_cache(maxsize=256)
def _adapter(result: Any) -> TypeAdapter[Any]:
    """TypeAdapters are costly to build: one per result type per process."""
    return TypeAdapter(result)


def _param(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
