"""The render stage's chunked path: a long video's picture rendered in chunks by the whole
worker group, its sound here, the parts joined by stream copy.

Chunk tasks go to `videogen.render.chunks`, keyed by job and chunk so they spread over every
worker's partitions; finished chunks meet in S3 under this attempt's prefix, which this worker
watches (progress counts chunks done). A job cancelled meanwhile, or a chunk that failed, stops
the rest through a stop marker; chunks that no worker works on for CHUNK_IDLE_SECONDS (their
worker died, their messages were lost) are published again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

from agents.stages.artifacts import RENDER_PROGRESS_FLOOR, RENDER_PROGRESS_SPAN, rendered_file
from agents.stages.runtime import StageRuntime
from agents.workdir import job_dir, output_path
from media.chunked import render_sound
from media.chunks import chunkable, plan
from media.render import join_parts, planned_duration
from schemas.chunks import ChunkTask
from schemas.errors import ErrorCode, JobError
from schemas.events import JobContext, RenderedFile, SourceFile
from schemas.settings import Settings
from storage.s3 import chunk_key, delete_prefix, download_file, put_marker, read_marker, stored_size
from streams import topics

log = logging.getLogger(__name__)
POLL_SECONDS = 0.5
# A chunk's worker stamps its alive marker every second; older than this, nobody works on it.
CHUNK_ALIVE_SECONDS = 10.0
CHUNK_IDLE_SECONDS = 20.0


async def render_chunked(
    ctx: JobContext, sources: dict[str, SourceFile], runtime: StageRuntime, attempt: str
) -> RenderedFile | None:
    """The job rendered in chunks, or None when it is short, of another format, or this worker
    has no peers to share it with (the one-pass render is then as fast)."""
    settings, spec = runtime.settings, ctx.spec
    if settings.chunk_min_seconds <= 0 or not runtime.has_peers():
        return None
    local = {int(index): Path(source.path) for index, source in sources.items()}
    duration = await asyncio.to_thread(planned_duration, spec, local, settings)
    if not chunkable(spec, duration, settings.chunk_min_seconds):
        return None
    chunks = plan(spec, duration, settings.chunk_seconds)
    stop_key = chunk_key(ctx.job_id, attempt, "stop")
    tasks = [
        ChunkTask(
            ctx=ctx,
            attempt_id=attempt,
            index=chunk.index,
            count=len(chunks),
            start=chunk.start,
            duration=chunk.duration,
            key=chunk_key(ctx.job_id, attempt, f"{chunk.index:04d}.mp4"),
            stop_key=stop_key,
            failed_key=chunk_key(ctx.job_id, attempt, f"{chunk.index:04d}.failed"),
            alive_key=chunk_key(ctx.job_id, attempt, f"{chunk.index:04d}.alive"),
        )
        for chunk in chunks
    ]
    for task in tasks:
        await runtime.bus.send(topics.CHUNKS, f"{ctx.job_id}:{task.index}", task)
    log.info("rendering %s in %d chunks over the worker group", ctx.job_id, len(tasks))
    out = output_path(settings, ctx.job_id, spec.output_format, attempt)
    parts = job_dir(settings, ctx.job_id) / f"parts-{attempt}"
    parts.mkdir(parents=True, exist_ok=True)
    try:
        sound = await render_sound(spec, local, parts / "sound.m4a", settings)
        await _wait(ctx, tasks, runtime)
        paths = [parts / f"{task.index:04d}.mp4" for task in tasks]
        for task, path in zip(tasks, paths, strict=True):
            await asyncio.to_thread(download_file, settings, task.key, path)
        outcome = await join_parts(spec, paths, sound, out, sources=local, settings=settings)
        return rendered_file(ctx, sources, outcome)
    finally:
        await asyncio.to_thread(put_marker, settings, stop_key)
        await asyncio.to_thread(_forget, settings, tasks)


async def _wait(ctx: JobContext, tasks: list[ChunkTask], runtime: StageRuntime) -> None:
    """Until every chunk is stored; fails with a chunk's error, or when the job ended meanwhile."""
    settings, bus = runtime.settings, runtime.bus
    deadline = time.monotonic() + settings.processing_timeout_minutes * 60
    waiting = list(tasks)
    idle = _Idle(settings.max_stage_redrives)
    while waiting:
        if bus.ended(ctx.job_id):
            raise JobError(ErrorCode.CANCELLED, "the render was cancelled")
        if time.monotonic() > deadline:
            raise JobError(
                ErrorCode.PROCESSING_TIMEOUT,
                f"the chunks took longer than {settings.processing_timeout_minutes:g} minutes",
            )
        for task in list(waiting):
            failure = await asyncio.to_thread(read_marker, settings, task.failed_key)
            if failure is not None:
                code, _, message = failure.partition("\n")
                raise JobError(ErrorCode(code), f"chunk {task.index + 1} of {task.count}: {message}")
            if await asyncio.to_thread(stored_size, settings, task.key) is not None:
                waiting.remove(task)
                idle.progressed()
                done = len(tasks) - len(waiting)
                progress = RENDER_PROGRESS_FLOOR + RENDER_PROGRESS_SPAN * done / len(tasks)
                await bus.progress(ctx, "render", f"rendered chunk {done} of {len(tasks)}", progress)
        if waiting and idle.expired():
            if await _any_alive(settings, waiting):
                idle.progressed()
            else:
                idle.redriven()
                missing = [task.index + 1 for task in waiting]
                log.warning("no worker works on chunks %s; publishing them again", missing)
                for task in waiting:
                    await bus.send(topics.CHUNKS, f"{ctx.job_id}:{task.index}", task)
        if waiting:
            await asyncio.sleep(POLL_SECONDS)


class _Idle:
    """When the chunks still missing have had no worker for CHUNK_IDLE_SECONDS (none stored, none
    alive), their messages were lost to a dead worker or a rebalance: publish them again, at most
    `most` times (a copy of a chunk being rendered or queued is skipped once the chunk is stored)."""

    def __init__(self, most: int) -> None:
        self._since = time.monotonic()
        self._left = most

    def progressed(self) -> None:
        self._since = time.monotonic()

    def expired(self) -> bool:
        return self._left > 0 and time.monotonic() - self._since >= CHUNK_IDLE_SECONDS

    def redriven(self) -> None:
        self._left -= 1
        self._since = time.monotonic()


async def _any_alive(settings: Settings, waiting: list[ChunkTask]) -> bool:
    now = time.time()
    for task in waiting:
        if task.alive_key is None:
            continue
        stamp = await asyncio.to_thread(read_marker, settings, task.alive_key)
        with contextlib.suppress(ValueError):
            if stamp is not None and now - float(stamp) < CHUNK_ALIVE_SECONDS:
                return True
    return False


def _forget(settings: Settings, tasks: list[ChunkTask]) -> None:
    """The stored chunks, once joined or abandoned (the stop marker stays for late deliveries)."""
    for task in tasks:
        delete_prefix(settings, task.key)
        delete_prefix(settings, task.failed_key)
        if task.alive_key is not None:
            delete_prefix(settings, task.alive_key)
