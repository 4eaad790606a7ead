"""Stage 4: store the rendered file in S3 under the job's deterministic key.

A failed upload ends the job but keeps the rendered file (its path is in the error details),
so storage can be fixed and the file uploaded again without rendering it twice.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path
from typing import Any

from agents.publish import WORKER_ID, emit, send
from agents.render import render_for
from agents.stage import job_finished, run_stage
from agents.storage import configure_bucket, delete_object, object_key, result_url, stored_size, upload_file
from agents.workdir import remove_job_dir, sources_dir
from schemas.errors import JobError
from schemas.events import JobRendered, JobUploaded, ResultInfo
from schemas.settings import get_settings
from streams.app import app, rendered_topic, uploaded_topic


async def _upload(message: JobRendered) -> None:
    ctx, settings = message.ctx, get_settings()
    fmt = ctx.spec.output_format
    path = Path(message.output_path)
    duration, width, height = message.duration_seconds, message.width, message.height
    key = object_key(ctx.job_id, ctx.submitted_at_ms, fmt)
    if not path.is_file():
        # Redelivered after a crash: another copy of this stage may have uploaded the job already
        # (the key is the job's own), and then there is nothing left to render.
        size = await asyncio.to_thread(stored_size, settings, key)
        if size is not None:
            await _announce(message, key, size, duration, width, height, seconds=0.0)
            return
        await emit(ctx, "upload", "re-rendering on this worker", 85.0)
        outcome = await render_for(ctx, message.sources)
        path, duration, width, height = outcome.path, outcome.duration_seconds, outcome.width, outcome.height
    await emit(ctx, "upload", "uploading", 88.0)
    started = time.monotonic()
    try:
        size = await asyncio.to_thread(upload_file, settings, path, key, fmt)
    except JobError as exc:
        if not settings.keep_temp_files:  # the sources are not needed to retry the upload
            shutil.rmtree(sources_dir(settings, ctx.job_id), ignore_errors=True)
        details = {**exc.details, "rendered_file": str(path), "worker": WORKER_ID, "s3_key": key}
        raise JobError(exc.code, f"{exc.message}; the rendered file is kept for a retry", details) from exc
    if job_finished(ctx.job_id):
        await asyncio.to_thread(delete_object, settings, key)
        remove_job_dir(settings, ctx.job_id)
        return
    await _announce(message, key, size, duration, width, height, seconds=time.monotonic() - started)


async def _announce(
    message: JobRendered, key: str, size: int, duration: float, width: int, height: int, *, seconds: float
) -> None:
    """The job's result is in S3: hand it to the notify stage and drop the job's files."""
    ctx, settings = message.ctx, get_settings()
    result = ResultInfo(
        result_url=result_url(settings, key),
        s3_key=key,
        file_size_bytes=size,
        duration_seconds=duration,
        width=width,
        height=height,
        output_format=ctx.spec.output_format,
    )
    await emit(ctx, "upload", "uploaded", 95.0, bytes_out=size, stage_seconds=seconds)
    await send(uploaded_topic, ctx.job_id, JobUploaded(ctx=ctx, result=result))
    remove_job_dir(settings, ctx.job_id)


@app.task
async def configure_storage() -> None:
    await asyncio.to_thread(configure_bucket, get_settings())


@app.agent(rendered_topic)
async def upload_stage(stream: Any) -> None:
    await run_stage(stream.events(), "upload", JobRendered, _upload)
