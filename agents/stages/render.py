"""Stage 3: compile the spec into one FFmpeg run and execute it, publishing progress.

Every attempt renders into a file of its own; a render that finished before a crash is reused
rather than redone when its file is still whole on this host.
"""

from __future__ import annotations

import asyncio
import logging
import time

from agents.stages.artifacts import RENDER_PROGRESS_FLOOR, RENDER_PROGRESS_SPAN, render_job, render_present
from agents.stages.chunked import render_chunked
from agents.stages.runtime import StageRuntime, new_attempt_id, prior_attempts
from schemas.events import JobFetched, JobRendered, RenderedFile
from streams import topics

log = logging.getLogger(__name__)


async def handle(message: JobFetched, runtime: StageRuntime) -> None:
    ctx, bus = message.ctx, runtime.bus
    prior = prior_attempts(runtime.states, "render", ctx.job_id)
    if prior.handed_off:
        return
    done = prior.finished
    if (
        done is not None
        and done.rendered is not None
        and (done.worker != runtime.worker or await asyncio.to_thread(render_present, done.rendered))
    ):
        # Finished here with its file whole, or by a worker that lost the partition while it
        # rendered: upload stores that file, or renders again where the file cannot be read.
        log.info("reusing the finished render %s of %s", done.rendered.path, done.worker)
        await _hand_off(message, done.rendered, done.worker or runtime.worker, 0.0, runtime)
        return
    attempt = new_attempt_id()
    await bus.started(ctx, "render", "rendering", RENDER_PROGRESS_FLOOR, attempt)
    started = time.monotonic()
    rendered = await render_chunked(ctx, message.sources, runtime, attempt) or await render_job(
        ctx, message.sources, runtime, attempt
    )
    seconds = time.monotonic() - started
    await bus.finished(
        ctx,
        "render",
        "rendered",
        RENDER_PROGRESS_FLOOR + RENDER_PROGRESS_SPAN,
        attempt_id=attempt,
        stage_seconds=seconds,
        bytes_out=rendered.size_bytes,
        rendered=rendered,
    )
    await _hand_off(message, rendered, runtime.worker, seconds, runtime)


async def _hand_off(
    message: JobFetched, rendered: RenderedFile, worker: str, seconds: float, runtime: StageRuntime
) -> None:
    ctx = message.ctx
    await runtime.bus.send(
        topics.RENDERED,
        ctx.job_id,
        JobRendered(
            ctx=ctx,
            sources=message.sources,
            output_path=rendered.path,
            thumbnail_path=rendered.thumbnail_path,
            poster_path=rendered.poster_path,
            captions_path=rendered.captions_path,
            size_bytes=rendered.size_bytes,
            duration_seconds=rendered.duration_seconds,
            width=rendered.width,
            height=rendered.height,
            worker=worker,
            render_seconds=seconds,
            reuse=rendered.reuse,
        ),
    )
    runtime.work.mark_handed_off("render", ctx.job_id)
