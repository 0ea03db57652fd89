"""The one way this project connects to Temporal.

Worker, starter, devstack and tests all use the same data converter (pydantic, plus the
payload codec once it is configured) and the same tracing interceptor, so what one side
writes the other can read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from common.config import Settings

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


async def connect(settings: Settings | None = None, *, service_name: str = "retail-ops") -> Client:
    """Connect with the project's converter and tracing; a clear error when nobody answers."""
    from common.telemetry import configure_tracing

    settings = settings or Settings.from_env()
    converter = data_converter(who=service_name)  # no key: refuse before connecting
    configure_tracing(service_name)
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.namespace,
            data_converter=converter,
            interceptors=[TracingInterceptor()],
        )
    except RuntimeError as err:
        raise TemporalUnreachable(
            f"Temporal is not reachable at {settings.temporal_address} "
            f"(namespace {settings.namespace}): is `python -m devstack up` running?"
        ) from err
