"""Stage 3: compile the spec into one FFmpeg run and execute it, publishing progress."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from agents.fetch import fetch_for, missing
from agents.publish import WORKER_ID, emit, send
from agents.stage import run_stage
from agents.workdir import output_path
from analytics.metrics import track_ffmpeg
from media.render import RenderOutcome, render_video
from schemas.events import JobContext, JobFetched, JobRendered, SourceFile
from schemas.settings import get_settings
from streams.app import app, fetched_topic, rendered_topic

PROGRESS_FLOOR, PROGRESS_SPAN = 20.0, 65.0
PROGRESS_INTERVAL_SECONDS = 0.5

# Cancel switches of the renders running in this worker, by job id.
running: dict[str, asyncio.Event] = {}


async def render_for(ctx: JobContext, sources: dict[str, SourceFile]) -> RenderOutcome:
    """Render a job, re-fetching first when this worker lacks the fetched files."""
    settings = get_settings()
    if missing(sources):
        await emit(ctx, "render", "re-fetching sources on this worker", PROGRESS_FLOOR)
        sources = await fetch_for(ctx)
    last_sent = 0.0

    async def progress(percent: float) -> None:
        nonlocal last_sent
        if time.monotonic() - last_sent >= PROGRESS_INTERVAL_SECONDS:
            last_sent = time.monotonic()
            await emit(
                ctx, "render", f"rendering {percent:.0f}%", PROGRESS_FLOOR + PROGRESS_SPAN * percent / 100
            )

    cancel = running.setdefault(ctx.job_id, asyncio.Event())
    try:
        with track_ffmpeg():  # one FFmpeg process per render
            return await render_video(
                ctx.spec,
                {int(index): Path(source.path) for index, source in sources.items()},
                output_path(settings, ctx.job_id, ctx.spec.output_format, WORKER_ID),
                settings=settings,
                on_progress=progress,
                cancel=cancel,
            )
    finally:
        running.pop(ctx.job_id, None)


async def _render(message: JobFetched) -> None:
    ctx = message.ctx
    await emit(ctx, "render", "rendering", PROGRESS_FLOOR)
    started = time.monotonic()
    outcome = await render_for(ctx, message.sources)
    seconds = time.monotonic() - started
    await emit(
        ctx,
        "render",
        "rendered",
        PROGRESS_FLOOR + PROGRESS_SPAN,
        bytes_out=outcome.size_bytes,
        stage_seconds=seconds,
    )
    await send(
        rendered_topic,
        ctx.job_id,
        JobRendered(
            ctx=ctx,
            sources=message.sources,
            output_path=str(outcome.path),
            size_bytes=outcome.size_bytes,
            duration_seconds=outcome.duration_seconds,
            width=outcome.width,
            height=outcome.height,
            worker=WORKER_ID,
            render_seconds=seconds,
        ),
    )


@app.agent(fetched_topic, concurrency=get_settings().max_concurrent_jobs)
async def render_stage(stream: Any) -> None:
    await run_stage(stream.events(), "render", JobFetched, _render)
