"""`GET /metrics`: the API process's Prometheus metrics (analytics/metrics.py)."""

from __future__ import annotations

from litestar import Response, get

from analytics.metrics import render


@get("/metrics", include_in_schema=False, sync_to_thread=False)
def metrics_handler() -> Response[bytes]:
    body, content_type = render()
    return Response(body, media_type=content_type)
