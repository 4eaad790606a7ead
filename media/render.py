"""The engine's entry point: probe the sources, compile one FFmpeg command, run it, check the file,
and (when the spec asks) take the thumbnail from the finished file."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from media.chunks import join_args
from media.compiler import CompiledRender, Tracks, compile_render
from media.cores import RENDERS
from media.ffmpeg_bin import ffmpeg_bin
from media.output import INPUT_GUARD
from media.probe import MediaInfo, probe
from media.runner import run_ffmpeg
from media.text import DEFAULT_FONT, choose_font
from media.timeline import invalid, resolve_timeline
from schemas.elements import SubtitlesElement, TextElement, source_of
from schemas.errors import ErrorCode, JobError
from schemas.settings import Settings
from schemas.spec import VideoSpec

THUMBNAIL_AT_SECONDS = 1.0
THUMBNAIL_MAX_WIDTH = 640
THUMBNAIL_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class RenderOutcome:
    path: Path
    size_bytes: int
    duration_seconds: float
    width: int
    height: int
    output_format: str
    output: MediaInfo
    inputs: Mapping[int, MediaInfo]
    stream_copy: bool
    thumbnail: Path | None


async def render_video(
    spec: VideoSpec,
    sources: Mapping[int, Path],
    out_path: Path,
    *,
    settings: Settings,
    on_progress: Callable[[float], Awaitable[None]] | None = None,
    cancel: asyncio.Event | None = None,
) -> RenderOutcome:
    infos = await asyncio.to_thread(_probe_sources, spec, sources)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix=".render-", dir=out_path.parent))
    try:
        with RENDERS.claim(settings.max_concurrent_jobs, settings.ffmpeg_threads) as threads:
            # Text layout and file writes off the event loop, which also carries the worker's heartbeats.
            compiled = await asyncio.to_thread(
                _compile, spec, infos, sources, out_path, work_dir, settings, threads
            )
            env = await asyncio.to_thread(_font_env, spec, sources, work_dir)
            await run_ffmpeg(
                ffmpeg_bin(settings), compiled.argv,
                duration=compiled.duration, timeout_seconds=settings.processing_timeout_minutes * 60,
                on_progress=on_progress, cancel=cancel, env=env,
            )  # fmt: skip
        outcome = await asyncio.to_thread(_outcome, spec, out_path, infos, compiled.stream_copy)
        if spec.thumbnail:
            thumbnail = thumbnail_path(out_path)
            await run_ffmpeg(
                ffmpeg_bin(settings), thumbnail_argv(out_path, thumbnail, outcome.duration_seconds),
                duration=0.0, timeout_seconds=THUMBNAIL_TIMEOUT_SECONDS, cancel=cancel,
            )  # fmt: skip
            outcome = replace(outcome, thumbnail=await asyncio.to_thread(_checked, thumbnail))
    except BaseException:
        out_path.unlink(missing_ok=True)  # a cancelled or failed render leaves no half-written file
        thumbnail_path(out_path).unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)  # a few text files
    return outcome


async def render_part(
    spec: VideoSpec,
    sources: Mapping[int, Path],
    out_path: Path,
    *,
    settings: Settings,
    tracks: Tracks,
    on_progress: Callable[[float], Awaitable[None]] | None = None,
    cancel: asyncio.Event | None = None,
) -> Path:
    """One part of a chunked render: the picture of a window (`spec.range`), or the whole sound."""
    infos = await asyncio.to_thread(_probe_sources, spec, sources)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix=".part-", dir=out_path.parent))
    try:
        with RENDERS.claim(settings.max_concurrent_jobs, settings.ffmpeg_threads) as threads:
            compiled = await asyncio.to_thread(
                _compile, spec, infos, sources, out_path, work_dir, settings, threads, tracks
            )
            env = await asyncio.to_thread(_font_env, spec, sources, work_dir)
            await run_ffmpeg(
                ffmpeg_bin(settings), compiled.argv,
                duration=compiled.duration, timeout_seconds=settings.processing_timeout_minutes * 60,
                on_progress=on_progress, cancel=cancel, env=env,
            )  # fmt: skip
        if not out_path.is_file() or out_path.stat().st_size == 0:
            raise JobError(ErrorCode.FFMPEG_ERROR, "FFmpeg finished without writing the chunk")
    except BaseException:
        out_path.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return out_path


async def join_parts(
    spec: VideoSpec,
    chunks: list[Path],
    sound: Path | None,
    out_path: Path,
    *,
    sources: Mapping[int, Path],
    settings: Settings,
    cancel: asyncio.Event | None = None,
) -> RenderOutcome:
    """The chunks joined in order with the sound muxed in, by stream copy, as a finished render
    (its inputs probed from `sources`, as a one-pass render reports them)."""
    listing = out_path.with_name(f"{out_path.stem}.chunks.txt")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        argv = join_args(chunks, sound, listing, out_path, spec.output_format)
        await run_ffmpeg(
            ffmpeg_bin(settings), argv, duration=0.0,
            timeout_seconds=settings.processing_timeout_minutes * 60, cancel=cancel,
        )  # fmt: skip
        infos = await asyncio.to_thread(_probe_sources, spec, sources)
        return await asyncio.to_thread(_outcome, spec, out_path, infos, False)
    except BaseException:
        out_path.unlink(missing_ok=True)
        raise
    finally:
        listing.unlink(missing_ok=True)


def planned_duration(spec: VideoSpec, sources: Mapping[int, Path], settings: Settings) -> float:
    """The output's length, its sources probed (what decides whether to chunk a render)."""
    infos = _probe_sources(spec, sources)
    return resolve_timeline(spec, infos, max_duration=settings.max_output_duration_sec).duration


def thumbnail_path(video: Path) -> Path:
    return video.with_name(f"{video.stem}.thumb.jpg")


def thumbnail_argv(video: Path, out: Path, duration: float) -> list[str]:
    """One frame of the finished file as a JPEG: seeking the input decodes only from the keyframe
    before it, so this costs a fraction of a second, not a second decode of the video. The frame is
    1 s in (the middle of a shorter video), at most 640 px wide."""
    at = min(THUMBNAIL_AT_SECONDS, duration / 2)
    return [
        "-hide_banner", "-nostdin", "-y", *INPUT_GUARD,
        "-ss", f"{at:.3f}", "-i", f"file:{video}",
        "-map", "0:v:0", "-an", "-frames:v", "1",
        "-vf", f"scale=w='min({THUMBNAIL_MAX_WIDTH},iw)':h=-2,format=yuvj420p", "-q:v", "3",
        "-update", "1", "-f", "image2", "-progress", "pipe:1", "-nostats", f"file:{out}",
    ]  # fmt: skip


def _checked(thumbnail: Path) -> Path:
    if not thumbnail.is_file() or thumbnail.stat().st_size == 0:
        raise JobError(ErrorCode.FFMPEG_ERROR, "FFmpeg finished without writing the thumbnail")
    return thumbnail


def _compile(
    spec: VideoSpec,
    infos: dict[int, MediaInfo],
    sources: Mapping[int, Path],
    out_path: Path,
    work_dir: Path,
    settings: Settings,
    threads: int,
    tracks: Tracks = "all",
) -> CompiledRender:
    compiled = compile_render(
        spec, infos, sources, out_path,
        work_dir=work_dir, threads=threads,
        max_duration=settings.max_output_duration_sec, tracks=tracks,
    )  # fmt: skip
    for path, text in compiled.text_files.items():
        path.write_text(text, encoding="utf-8")
    return compiled


def _probe_sources(spec: VideoSpec, sources: Mapping[int, Path]) -> dict[int, MediaInfo]:
    """Probe every media file once (elements may share one); errors name the element.

    A text element's source is its font, checked when the text is laid out; a subtitles
    element's is read by its builder.
    """
    infos: dict[int, MediaInfo] = {}
    by_path: dict[Path, MediaInfo] = {}
    for placed in spec.placed:
        index = placed.index
        if source_of(placed.element) is None or isinstance(placed.element, SubtitlesElement):
            continue
        path = sources.get(index)
        if path is None:
            raise invalid(spec, index, "its source file was not provided to the renderer")
        try:
            infos[index] = by_path[path] if path in by_path else probe(path)
            by_path[path] = infos[index]
        except JobError as exc:
            raise invalid(spec, index, exc.message) from exc
    return infos


def _font_env(spec: VideoSpec, sources: Mapping[int, Path], work_dir: Path) -> dict[str, str]:
    """A fontconfig setup that always knows the bundled font, for family names drawtext resolves.

    Only needed when a text or subtitles element names a family that is not bundled; the system's own
    configuration is included when the machine has one.
    """
    fonts = [
        choose_font(p.element, sources.get(p.index))
        for p in spec.placed
        if isinstance(p.element, TextElement)
    ]
    fonts += [choose_font(p.element, None) for p in spec.placed if isinstance(p.element, SubtitlesElement)]
    if all(font.family is None for font in fonts):
        return {}
    conf = work_dir / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
        f"  <dir>{DEFAULT_FONT.parent}</dir>\n  <cachedir>{work_dir / 'fontcache'}</cachedir>\n"
        "</fontconfig>\n",
        encoding="utf-8",
    )
    return {"FONTCONFIG_FILE": str(conf)}


def _outcome(
    spec: VideoSpec, out_path: Path, infos: Mapping[int, MediaInfo], stream_copy: bool
) -> RenderOutcome:
    if not out_path.is_file() or out_path.stat().st_size == 0:
        raise JobError(ErrorCode.FFMPEG_ERROR, "FFmpeg finished without writing the output file")
    info = probe(out_path)
    return RenderOutcome(
        path=out_path,
        size_bytes=out_path.stat().st_size,
        duration_seconds=info.duration or 0.0,
        width=info.width or spec.out_width,
        height=info.height or spec.out_height,
        output_format=spec.output_format,
        output=info,
        inputs=infos,
        stream_copy=stream_copy,
        thumbnail=None,
    )
