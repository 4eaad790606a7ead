"""Stage 4: store the rendered file in S3 under the job's deterministic key (its poster and
thumbnail first, when it has them, so a stored video means stored images).

The upload reads only the file its own render finished (the path in its message). A failed upload
ends the job but keeps that file (its path is in the error details), so storage can be fixed and
the file uploaded again without rendering it twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

from agents.stages.artifacts import render_job, render_present
from agents.stages.runtime import StageRuntime, new_attempt_id, prior_attempts
from agents.workdir import remove_job_dir, remove_sources
from media.transcripts import CAPTION_KINDS, captions_path
from schemas.errors import JobError
from schemas.events import (
    MAX_RESULT_WORDS,
    JobContext,
    JobRendered,
    JobUploaded,
    RenderedFile,
    ResultInfo,
    TranscribedWord,
)
from storage.s3 import (
    captions_key,
    delete_object,
    object_key,
    poster_key,
    result_url,
    stored_size,
    thumbnail_key,
    upload_file,
)
from streams import topics

log = logging.getLogger(__name__)


async def handle(message: JobRendered, runtime: StageRuntime) -> None:
    ctx, settings, bus = message.ctx, runtime.settings, runtime.bus
    prior = prior_attempts(runtime.states, "upload", ctx.job_id)
    if prior.handed_off:
        return
    key = object_key(ctx.job_id, ctx.submitted_at_ms, ctx.spec.output_format)
    rendered = RenderedFile(
        path=message.output_path,
        size_bytes=message.size_bytes,
        duration_seconds=message.duration_seconds,
        width=message.width,
        height=message.height,
        thumbnail_path=message.thumbnail_path,
        poster_path=message.poster_path,
        captions_path=message.captions_path,
        reuse=message.reuse,
    )
    attempt = new_attempt_id()
    if not await asyncio.to_thread(render_present, rendered):
        # The render ran on another host, or a crash came between storing and announcing it:
        # an object of the rendered size under the job's own key is that render, stored.
        if await asyncio.to_thread(stored_size, settings, key) == rendered.size_bytes:
            await _announce(message, key, rendered, 0.0, None if prior.finished else attempt, runtime)
            return
        await bus.progress(ctx, "upload", "re-rendering on this worker", 85.0)
        rendered = await render_job(ctx, message.sources, runtime, attempt, stage="upload")
    await bus.started(ctx, "upload", "uploading", 88.0, attempt)
    started = time.monotonic()
    path = Path(rendered.path)
    images = _companions(ctx, rendered)
    try:  # stores, then checks the stored object's size against the file's
        for image, image_key, kind in images:
            await asyncio.to_thread(upload_file, settings, image, image_key, kind)
        await asyncio.to_thread(upload_file, settings, path, key, ctx.spec.output_format)
    except JobError as exc:
        await asyncio.to_thread(remove_sources, settings, ctx.job_id)  # not needed to retry the upload
        details = {**exc.details, "rendered_file": str(path), "worker": runtime.worker, "s3_key": key}
        raise JobError(exc.code, f"{exc.message}; the rendered file is kept for a retry", details) from exc
    ended = runtime.states.get(ctx.job_id)
    if ended is not None and ended.status in ("cancelled", "failed"):
        await asyncio.to_thread(delete_object, settings, key)  # nobody will be told of these objects
        for _, image_key, _ in images:
            await asyncio.to_thread(delete_object, settings, image_key)
        await asyncio.to_thread(remove_job_dir, settings, ctx.job_id)
        return
    await _announce(message, key, rendered, time.monotonic() - started, attempt, runtime)


def _companions(ctx: JobContext, rendered: RenderedFile) -> list[tuple[Path, str, str]]:
    """The render's poster, thumbnail and transcript files with their keys and formats, stored
    before the video (a stored video means they are stored)."""
    job, at = ctx.job_id, ctx.submitted_at_ms
    made = [
        (rendered.poster_path, poster_key(job, at), "jpg"),
        (rendered.thumbnail_path, thumbnail_key(job, at), "jpg"),
    ]
    if rendered.captions_path is not None:
        video = Path(rendered.path)
        made += [
            (str(captions_path(video, kind)), captions_key(job, at, kind), kind) for kind in CAPTION_KINDS
        ]
    return [(Path(path), key, kind) for path, key, kind in made if path is not None]


def _words(rendered: RenderedFile) -> list[TranscribedWord] | None:
    """The transcript's first words for the result; None when the file is on another host (the
    render was stored by a worker that died before announcing it): transcript_url has them all."""
    path = captions_path(Path(rendered.path), "json")
    if not path.is_file():
        return None
    words = json.loads(path.read_text(encoding="utf-8"))["words"][:MAX_RESULT_WORDS]
    return [TranscribedWord.model_validate(word) for word in words]


async def _announce(
    message: JobRendered,
    key: str,
    rendered: RenderedFile,
    seconds: float,
    attempt: str | None,
    runtime: StageRuntime,
) -> None:
    """The job's result is in S3: hand it to the notify stage and drop the job's files. Without an
    attempt the upload was already recorded as finished (a crash came before the commit): the job
    is only handed on again."""
    ctx, settings = message.ctx, runtime.settings
    thumbnail = thumbnail_key(ctx.job_id, ctx.submitted_at_ms) if ctx.spec.thumbnail else None
    poster = poster_key(ctx.job_id, ctx.submitted_at_ms) if ctx.spec.poster else None
    captioned = rendered.captions_path is not None
    captions = {kind: captions_key(ctx.job_id, ctx.submitted_at_ms, kind) for kind in CAPTION_KINDS}
    result = ResultInfo(
        result_url=result_url(settings, key),
        s3_key=key,
        file_size_bytes=rendered.size_bytes,
        duration_seconds=rendered.duration_seconds,
        width=rendered.width,
        height=rendered.height,
        output_format=ctx.spec.output_format,
        thumbnail_url=result_url(settings, thumbnail) if thumbnail else None,
        thumbnail_s3_key=thumbnail,
        poster_url=result_url(settings, poster) if poster else None,
        poster_s3_key=poster,
        captions_url=result_url(settings, captions["srt"]) if captioned else None,
        captions_vtt_url=result_url(settings, captions["vtt"]) if captioned else None,
        transcript_url=result_url(settings, captions["json"]) if captioned else None,
        captions_s3_key=captions["srt"] if captioned else None,
        words=await asyncio.to_thread(_words, rendered) if captioned else None,
        chunks_reused=rendered.reuse.chunks_reused if rendered.reuse else 0,
        chunks_rendered=rendered.reuse.chunks_rendered if rendered.reuse else 0,
    )
    if attempt is not None:
        await runtime.bus.finished(
            ctx, "upload", "uploaded", 95.0,
            attempt_id=attempt, stage_seconds=seconds, bytes_out=rendered.size_bytes,
        )  # fmt: skip
    await runtime.bus.send(topics.UPLOADED, ctx.job_id, JobUploaded(ctx=ctx, result=result))
    runtime.work.mark_handed_off("upload", ctx.job_id)
    await asyncio.to_thread(remove_job_dir, settings, ctx.job_id)
