"""A chunk of a chunked render, on whichever worker its partition landed: the job's sources
fetched here (the source cache makes a second fetch cheap), the window's picture rendered and
stored for the render stage that joins them.

With the chunk cache on, a task carries the chunk's key there: a chunk found in the cache is
copied, not rendered, and one rendered is stored in the cache as well. A chunk task delivered
twice finds its chunk stored and does nothing; one whose job no longer
needs it (cancelled, failed, joined) finds the stop marker and stops, its FFmpeg killed mid-run.
While it works, the chunk's worker writes the time to the task's alive marker every second; a
chunk that no worker works on (its worker died, its message was committed past or dropped) is
published again by the render stage that waits for it (agents/stages/chunked.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from pathlib import Path

from agents.stages.artifacts import fetch_job_sources
from agents.stages.runtime import StageRuntime, new_attempt_id
from agents.workdir import job_dir, sources_dir
from media.chunkcache import chunk_store
from media.chunks import Chunk, chunk_spec
from media.render import render_part
from schemas.chunks import ChunkTask
from schemas.errors import JobError
from storage.s3 import put_marker, stored_size, upload_file

log = logging.getLogger(__name__)
STOP_POLL_SECONDS = 1.0


async def handle(task: ChunkTask, runtime: StageRuntime) -> None:
    settings = runtime.settings
    for key in (task.key, task.stop_key):
        if await asyncio.to_thread(stored_size, settings, key) is not None:
            return  # rendered already (a redelivery), or no longer wanted
    attempt = new_attempt_id()
    work = job_dir(settings, task.ctx.job_id) / f"chunk-{task.attempt_id}-{task.index}-{attempt}"
    stop = asyncio.Event()
    watcher = asyncio.create_task(_watch(task, runtime, stop))
    cache = chunk_store(settings) if task.cache_key is not None else None
    try:
        out = work / f"chunk{task.index:04d}.mp4"
        work.mkdir(parents=True, exist_ok=True)
        if cache is not None and task.cache_key and await asyncio.to_thread(cache.fetch, task.cache_key, out):
            await asyncio.to_thread(upload_file, settings, out, task.key, "mp4")
            log.info("chunk %d/%d of %s copied from the cache", task.index + 1, task.count, task.ctx.job_id)
            return
        log.info("rendering chunk %d/%d of %s", task.index + 1, task.count, task.ctx.job_id)
        sources = await fetch_job_sources(task.ctx, runtime, attempt)
        chunk = Chunk(task.index, task.start, task.duration)
        await render_part(
            chunk_spec(task.ctx.spec, chunk),
            {int(index): Path(source.path) for index, source in sources.items()},
            out,
            settings=settings,
            tracks="video",
            cancel=stop,
        )
        await asyncio.to_thread(upload_file, settings, out, task.key, "mp4")
        log.info("chunk %d/%d of %s rendered", task.index + 1, task.count, task.ctx.job_id)
        if cache is not None and task.cache_key:
            await asyncio.to_thread(cache.keep, task.cache_key, out)
    except JobError as exc:
        if not stop.is_set():  # the render stage fails the job with the chunk's own error
            await asyncio.to_thread(put_marker, settings, task.failed_key, f"{exc.code}\n{exc.message}")
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await asyncio.to_thread(shutil.rmtree, work, True)
        await asyncio.to_thread(shutil.rmtree, sources_dir(settings, task.ctx.job_id, attempt), True)


async def _watch(task: ChunkTask, runtime: StageRuntime, stop: asyncio.Event) -> None:
    """Stops the chunk when its job no longer needs it, and says it is alive meanwhile."""
    settings = runtime.settings
    while not stop.is_set():
        if task.alive_key is not None:
            await asyncio.to_thread(put_marker, settings, task.alive_key, f"{time.time():.3f}")
        await asyncio.sleep(STOP_POLL_SECONDS)
        if await asyncio.to_thread(stored_size, settings, task.stop_key) is not None:
            stop.set()
