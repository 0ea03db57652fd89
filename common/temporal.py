"""The one way this project connects to Temporal.

Worker, starter, devstack and tests all use the same data converter (pydantic, plus the
payload codec once it is configured) and the same tracing interceptor, so what one side
writes the other can read.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from common.config import Settings


class TemporalUnreachable(RuntimeError):
    """The Temporal frontend did not answer; the message says where we looked."""


def data_converter() -> DataConverter:
    """Pydantic payloads, encrypted by the payload codec when one is configured.

    Keys: `RETAIL_CODEC_KEYS`, `RETAIL_CODEC_KEY_FILE` or `.devstack/codec-keys.json`
    (see common/codec.py); with none of them payloads travel unencrypted.
    """
    from common.codec import codec_from_env, with_codec

    return with_codec(pydantic_data_converter, codec_from_env())


async def connect(settings: Settings | None = None, *, service_name: str = "retail-ops") -> Client:
    """Connect with the project's converter and tracing; a clear error when nobody answers."""
    from common.telemetry import configure_tracing

    settings = settings or Settings.from_env()
    configure_tracing(service_name)
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.namespace,
            data_converter=data_converter(),
            interceptors=[TracingInterceptor()],
        )
    except RuntimeError as err:
        raise TemporalUnreachable(
            f"Temporal is not reachable at {settings.temporal_address} "
            f"(namespace {settings.namespace}): is `python -m devstack up` running?"
        ) from err
