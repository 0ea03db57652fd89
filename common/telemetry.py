"""OpenTelemetry setup: the exporter is chosen by `OTEL_TRACES_EXPORTER` (none, console, otlp).

`otlp` sends to `OTEL_EXPORTER_OTLP_ENDPOINT` (read by the exporter; the compose stack points
it at its collector) and needs the `otlp` extra (`pip install '.[otlp]'`).
"""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

ENV_TRACES_EXPORTER = "OTEL_TRACES_EXPORTER"
EXPORTERS = ("none", "console", "otlp")

_configured = False


def span_exporter(name: str) -> SpanExporter | None:
    """The exporter called `name` (one of `EXPORTERS`); None for `none`."""
    name = name.strip().lower()
    if name in ("", "none"):
        return None
    if name == "console":
        return ConsoleSpanExporter()
    if name == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                OTLPSpanExporter,
            )
        except ImportError as err:
            raise RuntimeError(
                f"{ENV_TRACES_EXPORTER}=otlp needs the package opentelemetry-exporter-otlp "
                "(`pip install '.[otlp]'`); install it or choose 'console' or 'none'"
            ) from err
        return OTLPSpanExporter()
    raise RuntimeError(f"{ENV_TRACES_EXPORTER}={name!r} is not one of: {', '.join(EXPORTERS)}")


def tracer_provider(service_name: str, exporter_name: str) -> TracerProvider | None:
    """A provider exporting through `exporter_name` in batches; None when it is `none`."""
    exporter = span_exporter(exporter_name)
    if exporter is None:
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def configure_tracing(service_name: str) -> None:
    """Install a tracer provider once per process; `none` (the default) exports nothing."""
    global _configured
    if _configured:
        return
    _configured = True
    provider = tracer_provider(service_name, os.environ.get(ENV_TRACES_EXPORTER, "none"))
    if provider is not None:
        trace.set_tracer_provider(provider)
