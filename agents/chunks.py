"""Chunk wiring: `videogen.render.chunks` → agents.stages.chunks, MAX_CONCURRENT_JOBS at once.

A bad message is logged and skipped (its render stage times out or is retried), never fatal."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from agents.stages import chunks
from agents.wiring import records, runtime
from schemas.chunks import ChunkTask
from streams.app import app, chunks_topic
from streams.codec import decode
from streams.jsonlog import job_context
from streams.tracing import stage_span

log = logging.getLogger(__name__)


@app.agent(chunks_topic, concurrency=runtime.settings.max_concurrent_jobs)
async def render_chunks(stream: Any) -> None:
    async for record in records(stream):
        try:
            task = decode(ChunkTask, record.value or b"")
        except (ValidationError, ValueError) as exc:
            log.error(
                "undecodable chunk task at %s[%d]@%d: %s", record.topic, record.partition, record.offset, exc
            )
            continue
        with (
            job_context(task.ctx.job_id, task.ctx.request_id, "render"),
            stage_span("render chunk", task.ctx.job_id, task.ctx.tenant, runtime.worker, record.headers),
        ):
            try:
                await chunks.handle(task, runtime)
            except Exception:  # the render stage learns of it by its timeout; the agent goes on
                log.exception("chunk %d of %s failed", task.index, task.ctx.job_id)
