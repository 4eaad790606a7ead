"""The render stage's chunked path: a long video's picture rendered in chunks by the whole
worker group, its sound here, the parts joined by stream copy.

Chunk tasks go to `videogen.render.chunks`, keyed by job and chunk so they spread over every
worker's partitions; finished chunks meet in S3 under this attempt's prefix, which this worker
watches (progress counts chunks done). A job cancelled meanwhile, or a chunk that failed, stops
the rest through a stop marker; chunks that no worker works on for CHUNK_IDLE_SECONDS (their
worker died, their messages were lost) are published again.

With the chunk cache on (media.chunkcache), the chunks' keys are computed here before anything is
rendered: a chunk already stored is downloaded from the cache and never published, and each chunk
task carries its key so its worker stores what it renders. A lone worker then splits too, on this
machine (media.chunked), when reuse pays: some chunk is stored already, or the output spans at
least SEED_CHUNKS chunks (it seeds the cache for the renders that share its windows); never a
spec the render could stream copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import replace
from pathlib import Path

from agents.stages.artifacts import (
    RENDER_PROGRESS_FLOOR,
    RENDER_PROGRESS_SPAN,
    rendered_file,
    sources_present,
)
from agents.stages.runtime import StageRuntime
from agents.workdir import job_dir, output_path
from analytics.metrics import track_ffmpeg
from media.chunkcache import ChunkStore, chunk_store
from media.chunked import cache_keys, render_sound
from media.chunked import render_chunked as render_here
from media.chunkkey import CacheKeys
from media.chunks import Chunk, chunk_spec, chunkable, plan
from media.render import join_parts, planned_duration, render_part
from media.workload import workload
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
# A lone worker splits an output of at least this many chunks to seed the chunk cache.
SEED_CHUNKS = 3


async def render_chunked(
    ctx: JobContext, sources: dict[str, SourceFile], runtime: StageRuntime, attempt: str
) -> RenderedFile | None:
    """The job rendered in chunks, or None when it is short, of another format, or neither shared
    with peers nor worth splitting for the chunk cache (the one-pass render is then as fast)."""
    settings, spec = runtime.settings, ctx.spec
    cache = chunk_store(settings)
    peers = runtime.has_peers()
    if settings.chunk_min_seconds <= 0 or (not peers and cache is None):
        return None
    if not await asyncio.to_thread(sources_present, sources):
        return None  # the one-pass render fetches the sources this host lacks
    local = {int(index): Path(source.path) for index, source in sources.items()}
    duration = await asyncio.to_thread(planned_duration, spec, local, settings)
    spread = peers and chunkable(spec, duration, settings.chunk_min_seconds)
    if not spread and (cache is None or workload(spec).stream_copy or not chunkable(spec, duration, 0.0)):
        return None  # a remux candidate stays one: nothing is faster than copying its source
    chunk_seconds = (
        min(settings.chunk_seconds, settings.chunk_cache_seconds) if cache else settings.chunk_seconds
    )
    chunks = plan(spec, duration, chunk_seconds)
    if not spread and len(chunks) < 2:
        return None
    keys = await asyncio.to_thread(cache_keys, spec, local, chunks, settings) if cache else None
    stored = [await asyncio.to_thread(cache.has, key) for key in keys.chunks] if cache and keys else []
    if not spread:
        if not reuse_pays(chunks, stored):
            return None
        log.info("rendering %s in %d chunks here, %d of them cached", ctx.job_id, len(chunks), sum(stored))
        out = output_path(settings, ctx.job_id, spec.output_format, attempt)
        with track_ffmpeg():
            outcome = await render_here(
                spec, local, out, settings=settings, duration=duration,
                chunk_seconds=chunk_seconds, cache=cache, keys=keys,
            )  # fmt: skip
        return rendered_file(ctx, sources, outcome)
    return await _spread(ctx, sources, runtime, attempt, chunks, keys, stored, cache)


async def _fetched(cache: ChunkStore, key: str, path: Path) -> bool:
    return await asyncio.to_thread(cache.fetch, key, path)


def reuse_pays(chunks: list[Chunk], stored: list[bool]) -> bool:
    """Whether splitting on a lone worker pays: a chunk is reused, or the output seeds the cache."""
    return len(chunks) > 1 and (any(stored) or len(chunks) >= SEED_CHUNKS)


async def _spread(
    ctx: JobContext,
    sources: dict[str, SourceFile],
    runtime: StageRuntime,
    attempt: str,
    chunks: list[Chunk],
    keys: CacheKeys | None,
    stored: list[bool],
    cache: ChunkStore | None,
) -> RenderedFile:
    """The chunks not in the cache rendered over the worker group, the others copied, joined here."""
    settings, spec = runtime.settings, ctx.spec
    local = {int(index): Path(source.path) for index, source in sources.items()}
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
            cache_key=keys.chunks[chunk.index] if keys else None,
        )
        for chunk in chunks
        if not (stored and stored[chunk.index])
    ]
    for task in tasks:
        await runtime.bus.send(topics.CHUNKS, f"{ctx.job_id}:{task.index}", task)
    log.info(
        "rendering %s in %d chunks over the worker group, %d of them cached",
        ctx.job_id, len(chunks), len(chunks) - len(tasks),
    )  # fmt: skip
    out = output_path(settings, ctx.job_id, spec.output_format, attempt)
    parts = job_dir(settings, ctx.job_id) / f"parts-{attempt}"
    parts.mkdir(parents=True, exist_ok=True)
    try:
        sound = await render_sound(
            spec, local, parts / "sound.m4a", settings, cache=cache, key=keys.sound if keys else None
        )
        await _wait(ctx, tasks, runtime)
        paths = [parts / f"{chunk.index:04d}.mp4" for chunk in chunks]
        rendered = {task.index: task for task in tasks}
        reused: list[Chunk] = []
        for chunk, path in zip(chunks, paths, strict=True):
            if chunk.index in rendered:
                await asyncio.to_thread(download_file, settings, rendered[chunk.index].key, path)
            elif (
                cache is not None
                and keys is not None
                and await _fetched(cache, keys.chunks[chunk.index], path)
            ):
                reused.append(chunk)
            else:  # expired since it was looked up: render it here
                await render_part(chunk_spec(spec, chunk), local, path, settings=settings, tracks="video")
        outcome = await join_parts(spec, paths, sound, out, sources=local, settings=settings)
        outcome = replace(
            outcome,
            chunks_reused=len(reused),
            chunks_rendered=len(chunks) - len(reused),
            reused_seconds=sum(chunk.duration for chunk in reused),
        )
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
