"""The work products stages hand each other — fetched sources and rendered files — and how a
stage that finds its predecessor's product missing (it ran on another host) makes it again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from pathlib import Path

from agents.stages.runtime import StageRuntime
from agents.workdir import output_path, sources_dir
from analytics.metrics import track_ffmpeg
from media.output import encoding
from media.probe import MediaInfo
from media.render import RenderOutcome, render_video
from media.sources import gather_sources
from media.workload import REFERENCE_PIXELS
from schemas.events import (
    ChunkReuse,
    Encoding,
    JobContext,
    MediaSummary,
    ProbedInput,
    RenderedFile,
    SourceFile,
    Stage,
)

RENDER_PROGRESS_FLOOR, RENDER_PROGRESS_SPAN = 20.0, 65.0
PROGRESS_INTERVAL_SECONDS = 0.5


def sources_present(sources: Mapping[str, SourceFile]) -> bool:
    return all(
        Path(s.path).is_file() and Path(s.path).stat().st_size == s.size_bytes for s in sources.values()
    )


def render_present(rendered: RenderedFile) -> bool:
    """The render's own file, whole (same path, the size it had when it was probed), and its
    poster and thumbnail when it made them."""
    path = Path(rendered.path)
    made = (rendered.thumbnail_path, rendered.poster_path, rendered.captions_path)
    stills = all(Path(p).is_file() for p in made if p is not None)
    return stills and path.is_file() and path.stat().st_size == rendered.size_bytes > 0


def summary(info: MediaInfo, size_bytes: int | None = None) -> MediaSummary:
    return MediaSummary(
        kind=info.kind,
        format=info.format_name,
        width=info.width,
        height=info.height,
        duration_seconds=info.duration,
        fps=info.fps,
        video_codec=info.video_codec,
        audio_codec=info.audio_codec,
        size_bytes=size_bytes,
    )


def rendered_file(ctx: JobContext, sources: Mapping[str, SourceFile], outcome: RenderOutcome) -> RenderedFile:
    """A render's file and what it probed and used: each input named like errors name its element."""
    inputs = [
        ProbedInput(
            element=ctx.spec.element_label(index),
            url=sources[str(index)].url,
            **summary(info, sources[str(index)].size_bytes).model_dump(),
        )
        for index, info in sorted(outcome.inputs.items())
        if str(index) in sources
    ]
    encoder = encoding(ctx.spec)
    if outcome.stream_copy:
        encoder = Encoding(
            video_codec=outcome.output.video_codec or "copy",
            fps=outcome.output.fps or ctx.spec.fps,
            audio_codec=outcome.output.audio_codec,
            stream_copy=True,
        )
    return RenderedFile(
        path=str(outcome.path),
        size_bytes=outcome.size_bytes,
        duration_seconds=outcome.duration_seconds,
        width=outcome.width,
        height=outcome.height,
        thumbnail_path=str(outcome.thumbnail) if outcome.thumbnail else None,
        poster_path=str(outcome.poster) if outcome.poster else None,
        captions_path=str(outcome.captions) if outcome.captions else None,
        output=summary(outcome.output, outcome.size_bytes),
        inputs=inputs,
        encoding=encoder,
        reuse=reuse(outcome),
    )


def reuse(outcome: RenderOutcome) -> ChunkReuse:
    """What of the picture was copied from the chunk cache and what was rendered (a stream copy
    renders nothing; an audio-only output has no picture)."""
    pixels = (outcome.width or 0) * (outcome.height or 0) / REFERENCE_PIXELS
    drawn = 0.0 if outcome.stream_copy else max(0.0, outcome.duration_seconds - outcome.reused_seconds)
    return ChunkReuse(
        chunks_reused=outcome.chunks_reused,
        chunks_rendered=outcome.chunks_rendered,
        reused_pixel_seconds=round(pixels * outcome.reused_seconds, 3),
        rendered_pixel_seconds=round(pixels * drawn, 3),
    )


async def fetch_job_sources(ctx: JobContext, runtime: StageRuntime, attempt_id: str) -> dict[str, SourceFile]:
    """Download a job's sources into this attempt's own directory."""
    directory = sources_dir(runtime.settings, ctx.job_id, attempt_id)
    fetched = await gather_sources(ctx.spec, directory, runtime.settings)
    return {str(index): source for index, source in fetched.items()}


async def render_job(
    ctx: JobContext,
    sources: dict[str, SourceFile],
    runtime: StageRuntime,
    attempt_id: str,
    stage: Stage = "render",
) -> RenderedFile:
    """Render into this attempt's own file, fetching first when this host lacks the sources."""
    settings, bus = runtime.settings, runtime.bus
    if not await asyncio.to_thread(sources_present, sources):
        await bus.progress(ctx, stage, "re-fetching sources on this worker", RENDER_PROGRESS_FLOOR)
        sources = await fetch_job_sources(ctx, runtime, attempt_id)
    last_sent = 0.0

    async def progress(percent: float) -> None:
        nonlocal last_sent
        if time.monotonic() - last_sent >= PROGRESS_INTERVAL_SECONDS:
            last_sent = time.monotonic()
            await bus.progress(
                ctx,
                stage,
                f"rendering {percent:.0f}%",
                RENDER_PROGRESS_FLOOR + RENDER_PROGRESS_SPAN * percent / 100,
            )

    with track_ffmpeg():  # one FFmpeg process per render
        outcome = await render_video(
            ctx.spec,
            {int(index): Path(source.path) for index, source in sources.items()},
            output_path(settings, ctx.job_id, ctx.spec.output_format, attempt_id),
            settings=settings,
            on_progress=progress,
        )
    return rendered_file(ctx, sources, outcome)
