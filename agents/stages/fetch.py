"""Stage 2: download every source of a job to the worker's disk, safely (see media.fetch)."""

from __future__ import annotations

import asyncio
import logging
import time

from agents.stages.artifacts import fetch_job_sources, sources_present
from agents.stages.runtime import StageRuntime, new_attempt_id, prior_attempts
from schemas.events import JobFetched, JobValidated, SourceFile
from streams import topics

log = logging.getLogger(__name__)


async def handle(message: JobValidated, runtime: StageRuntime) -> None:
    ctx, bus = message.ctx, runtime.bus
    prior = prior_attempts(runtime.states, "fetch", ctx.job_id)
    if prior.handed_off:
        return
    done = prior.finished
    if (
        done is not None
        and done.sources is not None
        and await asyncio.to_thread(sources_present, done.sources)
    ):
        log.info("sources already fetched on %s; handing them on again", done.worker)
        await _hand_off(message, done.sources, done.worker or runtime.worker, runtime)
        return
    attempt = new_attempt_id()
    await bus.started(ctx, "fetch", "downloading sources", 10.0, attempt)
    started = time.monotonic()
    sources = await fetch_job_sources(ctx, runtime, attempt)
    await bus.finished(
        ctx,
        "fetch",
        "sources downloaded",
        20.0,
        attempt_id=attempt,
        stage_seconds=time.monotonic() - started,
        bytes_in=sum(s.size_bytes for s in sources.values()),
        sources=sources,
    )
    await _hand_off(message, sources, runtime.worker, runtime)


async def _hand_off(
    message: JobValidated, sources: dict[str, SourceFile], worker: str, runtime: StageRuntime
) -> None:
    ctx = message.ctx
    await runtime.bus.send(topics.FETCHED, ctx.job_id, JobFetched(ctx=ctx, sources=sources, worker=worker))
    runtime.work.mark_handed_off("fetch", ctx.job_id)
