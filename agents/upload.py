"""Stage 4: store the rendered file in S3 under the job's deterministic key."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from agents.publish import emit, send
from agents.render import render_for
from agents.stage import job_finished, run_stage
from agents.storage import delete_object, object_key, result_url, upload_file
from agents.workdir import remove_job_dir
from schemas.events import JobRendered, JobUploaded, ResultInfo
from schemas.settings import get_settings
from streams.app import app, rendered_topic, uploaded_topic


async def _upload(message: JobRendered) -> None:
    ctx, settings = message.ctx, get_settings()
    fmt = ctx.spec.output_format
    path = Path(message.output_path)
    duration, width, height = message.duration_seconds, message.width, message.height
    if not path.is_file():
        await emit(ctx, "upload", "re-rendering on this worker", 85.0)
        outcome = await render_for(ctx, message.sources)
        path, duration, width, height = outcome.path, outcome.duration_seconds, outcome.width, outcome.height
    await emit(ctx, "upload", "uploading", 88.0)
    key = object_key(ctx.job_id, ctx.submitted_at_ms, fmt)
    started = time.monotonic()
    size = await asyncio.to_thread(upload_file, settings, path, key, fmt)
    if job_finished(ctx.job_id):
        await asyncio.to_thread(delete_object, settings, key)
        remove_job_dir(settings, ctx.job_id)
        return
    result = ResultInfo(
        result_url=result_url(settings, key),
        s3_key=key,
        file_size_bytes=size,
        duration_seconds=duration,
        width=width,
        height=height,
        output_format=fmt,
    )
    await emit(ctx, "upload", "uploaded", 95.0, bytes_out=size, stage_seconds=time.monotonic() - started)
    await send(uploaded_topic, ctx.job_id, JobUploaded(ctx=ctx, result=result))
    remove_job_dir(settings, ctx.job_id)


@app.agent(rendered_topic)
async def upload_stage(stream: Any) -> None:
    await run_stage(stream.events(), "upload", JobRendered, _upload)
