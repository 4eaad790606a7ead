"""Health of the analytics store, for the API's detailed health endpoint."""

from __future__ import annotations

import time

from analytics.client import AnalyticsClient, call_async, client_from_settings
from schemas.responses import ComponentHealth
from schemas.settings import Settings


def _ping(settings: Settings) -> bool:
    client: AnalyticsClient = client_from_settings(settings)
    try:
        return client.ping()
    finally:
        client.close()


async def clickhouse_health(settings: Settings) -> ComponentHealth:
    """Healthy when ClickHouse (or the embedded store's server) answers within the analytics timeout.

    Analytics down does not stop jobs (events wait in the workers' buffers), so callers may report it
    without failing their own liveness."""
    started = time.perf_counter()
    where = "ClickHouse" if settings.clickhouse_url else "embedded analytics store"
    try:
        ok = await call_async(_ping, settings, timeout=settings.analytics_timeout_seconds)
        detail = "" if ok else f"{where} did not answer"
    except Exception as exc:
        ok, detail = False, f"{where} unreachable: {exc}"
    latency = round((time.perf_counter() - started) * 1000, 1)
    return ComponentHealth(status="healthy" if ok else "unhealthy", detail=detail, latency_ms=latency)
