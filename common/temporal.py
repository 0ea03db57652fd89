"""The one way this project connects to Temporal.

Worker, starter, devstack and tests all use the same data converter (pydantic, plus the
payload codec once it is configured) and the same tracing interceptor, so what one side
writes the other can read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.service import TLSConfig

from common.config import (
    ENV_API_KEY,
    ENV_TLS,
    ENV_TLS_CA,
    ENV_TLS_CERT,
    ENV_TLS_KEY,
    ConfigError,
    Settings,
)

if TYPE_CHECKING:
    from common.codec import EncryptionCodec


class TemporalUnreachable(RuntimeError):
    """The Temporal frontend did not answer; the message says where we looked."""


def data_converter(
    codec: EncryptionCodec | None = None, *, who: str = "this process"
) -> DataConverter:
    """Pydantic payloads, always encrypted: `codec`, else the configured keys.

    Keys: `RETAIL_CODEC_KEYS`, else the key file `common.config.codec_key_file()` (see
    common/codec.py). Without them `MissingCodecKey` is raised, naming where it looked:
    nothing is ever written to history in clear.
    """
    from common.codec import required_codec, with_codec

    return with_codec(pydantic_data_converter, codec or required_codec(who=who))


def _pem(path: str, variable: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as err:
        raise ConfigError(f"{variable}={path}: cannot read the PEM file ({err.strerror})") from err


def tls_config(settings: Settings) -> TLSConfig | bool:
    """The TLS of the connection: a `TLSConfig` with the client certificate and/or the CA
    read from their files; `True` for plain server-authenticated TLS (TEMPORAL_TLS, or an API
    key: Temporal Cloud takes API keys over TLS only); `False` for the local dev server."""
    if settings.tls_cert or settings.tls_ca or settings.tls_server_name:
        return TLSConfig(
            server_root_ca_cert=_pem(settings.tls_ca, ENV_TLS_CA) if settings.tls_ca else None,
            client_cert=_pem(settings.tls_cert, ENV_TLS_CERT) if settings.tls_cert else None,
            client_private_key=_pem(settings.tls_key, ENV_TLS_KEY) if settings.tls_key else None,
            domain=settings.tls_server_name or None,
        )
    return bool(settings.tls or settings.api_key)


def client_options(settings: Settings) -> dict[str, Any]:
    """Where and how to connect (`Client.connect(**client_options(s))`): address, namespace,
    TLS and API key from the settings. Converter and interceptors are added by `connect`."""
    options: dict[str, Any] = {
        "target_host": settings.temporal_address,
        "namespace": settings.namespace,
        "tls": tls_config(settings),
    }
    if settings.api_key:
        options["api_key"] = settings.api_key
    return options


def describe_security(settings: Settings) -> str:
    """How the connection is secured, for logs and errors (never the secrets)."""
    if settings.tls_cert:
        return f"mutual TLS ({ENV_TLS_CERT})"
    if settings.api_key:
        return f"API key ({ENV_API_KEY}) over TLS"
    if settings.tls or settings.tls_ca:
        return f"TLS ({ENV_TLS} / {ENV_TLS_CA})"
    return "plain gRPC"


async def connect_plain(settings: Settings | None = None) -> Client:
    """A client without the project's converter or tracing, for operations that carry no
    payloads (health checks, task-queue descriptions)."""
    settings = settings or Settings.from_env()
    return await Client.connect(**client_options(settings))


async def connect(settings: Settings | None = None, *, service_name: str = "retail-ops") -> Client:
    """Connect with the project's converter and tracing; a clear error when nobody answers."""
    from common.telemetry import configure_tracing

    settings = settings or Settings.from_env()
    converter = data_converter(who=service_name)  # no key: refuse before connecting
    configure_tracing(service_name)
    try:
        return await Client.connect(
            **client_options(settings),
            data_converter=converter,
            interceptors=[TracingInterceptor()],
        )
    except RuntimeError as err:
        raise TemporalUnreachable(
            f"Temporal is not reachable at {settings.temporal_address} "
            f"(namespace {settings.namespace}, {describe_security(settings)}): "
            "is `python -m devstack up` running, or are the address and credentials right?"
        ) from err
