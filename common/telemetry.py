"""OpenTelemetry setup: the exporter is chosen by `OTEL_TRACES_EXPORTER` (none, console, otlp)."""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

_configured = False


def configure_tracing(service_name: str) -> None:
    """Install a tracer provider once per process; `none` (the default) exports nothing."""
    global _configured
    if _configured:
        return
    _configured = True
    exporter_name = os.environ.get("OTEL_TRACES_EXPORTER", "none").strip().lower()
    if exporter_name in ("", "none"):
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if exporter_name == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    elif exporter_name == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                OTLPSpanExporter,
            )
        except ImportError as err:
            raise RuntimeError(
                "OTEL_TRACES_EXPORTER=otlp needs the package opentelemetry-exporter-otlp; "
                "install it or choose 'console' or 'none'"
            ) from err
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        raise RuntimeError(
            f"OTEL_TRACES_EXPORTER={exporter_name!r} is not one of: none, console, otlp"
        )
    trace.set_tracer_provider(provider)
