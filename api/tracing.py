"""The API's side of tracing: a server span per HTTP request (Litestar's OpenTelemetry plugin), the
parent of the job's publish spans (streams/tracing.py). Nothing is added while tracing is off."""

from __future__ import annotations

from litestar.plugins import PluginProtocol
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin

from streams.tracing import tracing_on


def tracing_plugins() -> list[PluginProtocol]:
    if not tracing_on():
        return []
    # The ASGI receive/send spans (one per body chunk or SSE message) would bury the request's own.
    return [OpenTelemetryPlugin(OpenTelemetryConfig(exclude_spans=["receive", "send"]))]
