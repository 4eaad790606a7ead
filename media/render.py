"""The engine's entry point: probe the sources, compile one FFmpeg command, run it, check the file
and the poster and thumbnail the spec asks for (cut from the finished file when the run could not
write them: a stream copy, a chunked render)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from media.builders.kinds import kind_of
from media.builders.speech import lower_voices
from media.chunks import join_args
from media.compiler import CompiledRender, Tracks, compile_render
from media.cores import RENDERS
from media.ffmpeg_bin import ffmpeg_bin
from media.fonts import font_key
from media.probe import MediaInfo, probe
from media.runner import run_ffmpeg
from media.stills import STILL_KINDS, StillKind, second_pass_argv, still_path, stills
from media.text import DEFAULT_FONT
from media.timeline import invalid, resolve_timeline
from media.transcripts import discard_captions, write_captions
from schemas.errors import ErrorCode, JobError
from schemas.settings import Settings
from schemas.spec import VideoSpec

STILL_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class RenderOutcome:
    path: Path
    size_bytes: int
    duration_seconds: float
    width: int | None  # None for an audio-only output
    height: int | None
    output_format: str
    output: MediaInfo
    inputs: Mapping[int, MediaInfo]
    stream_copy: bool
    thumbnail: Path | None = None
    poster: Path | None = None
    captions: Path | None = None  # SRT; its WebVTT and words JSON beside it (media.transcripts)
    chunks_reused: int = 0  # a chunked render's chunks copied from the chunk cache (media.chunkcache)
    chunks_rendered: int = 0  # and rendered; both 0 for a render in one pass
    reused_seconds: float = 0.0  # output seconds of the chunks copied


async def render_video(
    spec: VideoSpec,
    sources: Mapping[int, Path],
    out_path: Path,
    *,
    settings: Settings,
    on_progress: Callable[[float], Awaitable[None]] | None = None,
    cancel: asyncio.Event | None = None,
) -> RenderOutcome:
    asked = spec
    spec = await asyncio.to_thread(lower_voices, spec, sources)
    infos = await asyncio.to_thread(probe_sources, spec, sources)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix=".render-", dir=out_path.parent))
    try:
        compiled = await _run(spec, infos, sources, out_path, work_dir, settings, "all", on_progress, cancel)
        outcome = await asyncio.to_thread(_outcome, spec, out_path, infos, compiled.stream_copy)
        outcome = await _with_stills(spec, outcome, compiled.stills, settings, cancel)
        outcome = replace(outcome, captions=await asyncio.to_thread(write_captions, asked, sources, out_path))
    except BaseException:
        _discard(out_path)  # a cancelled or failed render leaves no half-written file
        raise
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)  # a few text files
    return outcome


async def _run(
    spec: VideoSpec,
    infos: dict[int, MediaInfo],
    sources: Mapping[int, Path],
    out_path: Path,
    work_dir: Path,
    settings: Settings,
    tracks: Tracks,
    on_progress: Callable[[float], Awaitable[None]] | None,
    cancel: asyncio.Event | None,
    *,
    peers: int | None = None,
    size: tuple[int, int] | None = None,
) -> CompiledRender:
    """Compile and run one FFmpeg render with this process's share of the cores (`peers`: how many
    renders it runs at once, MAX_CONCURRENT_JOBS on a worker)."""
    peers = settings.max_concurrent_jobs if peers is None else peers
    with RENDERS.claim(peers, settings.ffmpeg_threads) as threads:
        # Text layout and file writes off the event loop, which also carries the worker's heartbeats.
        compiled = await asyncio.to_thread(
            _compile, spec, infos, sources, out_path, work_dir, settings, threads, tracks, size
        )
        env = await asyncio.to_thread(_font_env, spec, sources, work_dir)
        await run_ffmpeg(
            ffmpeg_bin(settings), compiled.argv,
            duration=compiled.duration, timeout_seconds=settings.processing_timeout_minutes * 60,
            on_progress=on_progress, cancel=cancel, env=env,
        )  # fmt: skip
    return compiled


async def _with_stills(
    spec: VideoSpec,
    outcome: RenderOutcome,
    written: Collection[StillKind],
    settings: Settings,
    cancel: asyncio.Event | None,
) -> RenderOutcome:
    """The outcome with the poster and thumbnail the spec asks for: those the render's run did not
    write (`written`) are cut from the finished file."""
    made: dict[StillKind, Path] = {}
    for still in stills(spec):
        if still.kind not in written:
            fps = outcome.output.fps or spec.fps
            argv = second_pass_argv(still, outcome.path, outcome.duration_seconds, fps, threads=1)
            await run_ffmpeg(
                ffmpeg_bin(settings), argv,
                duration=0.0, timeout_seconds=STILL_TIMEOUT_SECONDS, cancel=cancel,
            )  # fmt: skip
        made[still.kind] = await asyncio.to_thread(_checked, outcome.path, still.kind)
    return replace(outcome, poster=made.get("poster"), thumbnail=made.get("thumbnail"))


def _discard(out_path: Path) -> None:
    out_path.unlink(missing_ok=True)
    discard_captions(out_path)
    for kind in STILL_KINDS:
        still_path(out_path, kind).unlink(missing_ok=True)


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
    spec = await asyncio.to_thread(lower_voices, spec, sources)
    infos = await asyncio.to_thread(probe_sources, spec, sources)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    return await _one_file(
        out_path,
        "chunk",
        lambda work_dir: _run(
            spec, infos, sources, out_path, work_dir, settings, tracks, on_progress, cancel
        ),
    )


async def render_still(
    spec: VideoSpec,
    infos: dict[int, MediaInfo],
    sources: Mapping[int, Path],
    out_path: Path,
    *,
    settings: Settings,
    size: tuple[int, int],
    peers: int,
) -> Path:
    """A jpg or png spec's frame scaled to `size` last: the studio's preview frames (media.preview),
    whose caller lowers the voices and probes the sources once for many frames. `peers`: how many
    such renders run at once."""
    return await _one_file(
        out_path,
        "frame",
        lambda work_dir: _run(
            spec, infos, sources, out_path, work_dir, settings, "video", None, None, peers=peers, size=size
        ),
    )


async def _one_file(out_path: Path, what: str, run: Callable[[Path], Awaitable[object]]) -> Path:
    """`run` in a work directory of its own beside `out_path`, which it must write: on any failure
    (a cancel too) nothing half-written is left."""
    work_dir = Path(tempfile.mkdtemp(prefix=f".{what}-", dir=out_path.parent))
    try:
        await run(work_dir)
        if not out_path.is_file() or out_path.stat().st_size == 0:
            raise JobError(ErrorCode.FFMPEG_ERROR, f"FFmpeg finished without writing the {what}")
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
    (its inputs probed from `sources`, as a one-pass render reports them; its poster and thumbnail
    cut from the joined file)."""
    listing = out_path.with_name(f"{out_path.stem}.chunks.txt")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        argv = join_args(chunks, sound, listing, out_path, spec.output_format)
        await run_ffmpeg(
            ffmpeg_bin(settings), argv, duration=0.0,
            timeout_seconds=settings.processing_timeout_minutes * 60, cancel=cancel,
        )  # fmt: skip
        lowered = await asyncio.to_thread(lower_voices, spec, sources)
        infos = await asyncio.to_thread(probe_sources, lowered, sources)
        outcome = await asyncio.to_thread(_outcome, lowered, out_path, infos, False)
        outcome = await _with_stills(lowered, outcome, (), settings, cancel)
        return replace(outcome, captions=await asyncio.to_thread(write_captions, spec, sources, out_path))
    except BaseException:
        _discard(out_path)
        raise
    finally:
        listing.unlink(missing_ok=True)


def planned_duration(spec: VideoSpec, sources: Mapping[int, Path], settings: Settings) -> float:
    """The output's length, its sources probed (what decides whether to chunk a render)."""
    spec = lower_voices(spec, sources)
    infos = probe_sources(spec, sources)
    return resolve_timeline(spec, infos, max_duration=settings.max_output_duration_sec).duration


def _checked(video: Path, kind: StillKind) -> Path:
    path = still_path(video, kind)
    if not path.is_file() or path.stat().st_size == 0:
        raise JobError(ErrorCode.FFMPEG_ERROR, f"FFmpeg finished without writing the {kind}")
    return path


def _compile(
    spec: VideoSpec,
    infos: dict[int, MediaInfo],
    sources: Mapping[int, Path],
    out_path: Path,
    work_dir: Path,
    settings: Settings,
    threads: int,
    tracks: Tracks = "all",
    size: tuple[int, int] | None = None,
) -> CompiledRender:
    compiled = compile_render(
        spec, infos, sources, out_path,
        work_dir=work_dir, threads=threads,
        max_duration=settings.max_output_duration_sec, tracks=tracks, size=size,
    )  # fmt: skip
    for path, text in compiled.text_files.items():
        path.write_text(text, encoding="utf-8")
    return compiled


def probe_sources(
    spec: VideoSpec, sources: Mapping[int, Path], read: Callable[[Path], MediaInfo] = probe
) -> dict[int, MediaInfo]:
    """Probe every media file once (elements may share one) with `read`; errors name the element.

    A text element's source is its font, checked when the text is laid out; a subtitles
    element's is read by its builder.
    """
    infos: dict[int, MediaInfo] = {}
    by_path: dict[Path, MediaInfo] = {}
    for placed in spec.placed:
        index = placed.index
        if not kind_of(placed.element).has_media:
            continue
        path = sources.get(index)
        if path is None:
            raise invalid(spec, index, "its source file was not provided to the renderer")
        try:
            infos[index] = by_path[path] if path in by_path else read(path)
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
        font
        for p in spec.placed
        for font in kind_of(p.element).fonts(p.element, sources.get(font_key(p.index)))
    ]
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
    if spec.audio_only and info.has_video:
        raise JobError(ErrorCode.FFMPEG_ERROR, f"the {spec.output_format} output has a video stream")
    return RenderOutcome(
        path=out_path,
        size_bytes=out_path.stat().st_size,
        duration_seconds=info.duration or 0.0,
        width=None if spec.audio_only else info.width or spec.out_width,
        height=None if spec.audio_only else info.height or spec.out_height,
        output_format=spec.output_format,
        output=info,
        inputs=infos,
        stream_copy=stream_copy,
    )
