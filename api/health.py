"""Liveness, and the state of each dependency (broker, S3, ClickHouse, FFmpeg)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import get
from litestar.di import NamedDependency

from analytics.health import clickhouse_health
from api.jobservice import JobService
from media.ffmpeg_bin import ffmpeg_bin
from schemas.responses import ComponentHealth, DetailedHealth, Health
from schemas.settings import Settings
from storage.s3 import s3_client

CHECK_TIMEOUT_SECONDS = 5.0


async def _timed(check: Callable[[], Awaitable[Any]]) -> ComponentHealth:
    started = time.monotonic()
    try:
        detail = await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
    except Exception as exc:
        return ComponentHealth(status="unhealthy", detail=f"{type(exc).__name__}: {exc}"[:300])
    return ComponentHealth(
        status="healthy", detail=str(detail or ""), latency_ms=round((time.monotonic() - started) * 1000, 1)
    )


async def _ffmpeg(settings: Settings) -> str:
    process = await asyncio.create_subprocess_exec(
        ffmpeg_bin(settings),
        "-hide_banner",
        "-version",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"ffmpeg -version exited {process.returncode}")
    return out.decode(errors="replace").split("\n", 1)[0]


async def _s3(settings: Settings) -> str:
    await asyncio.to_thread(s3_client(settings).head_bucket, Bucket=settings.s3_bucket_name)
    return f"bucket {settings.s3_bucket_name}"


@get("/health", tags=["health"], summary="Liveness")
async def health() -> Health:
    return Health(status="healthy")


@get("/health/detailed", tags=["health"], summary="Each dependency's health")
async def health_detailed(service: NamedDependency[JobService]) -> DetailedHealth:
    settings = service.settings
    broker, s3, ffmpeg = await asyncio.gather(
        _timed(service.ping), _timed(lambda: _s3(settings)), _timed(lambda: _ffmpeg(settings))
    )
    components = {
        "broker": broker,
        "s3": s3,
        "clickhouse": await clickhouse_health(settings),
        "ffmpeg": ffmpeg,
    }
    overall = "healthy" if all(c.status == "healthy" for c in components.values()) else "unhealthy"
    return DetailedHealth(status=overall, components=components)
