"""The engine's entry point: probe the sources, compile one FFmpeg command, run it, check the file."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from media.compiler import CompiledRender, compile_render
from media.ffmpeg_bin import ffmpeg_bin
from media.probe import MediaInfo, probe
from media.runner import run_ffmpeg
from media.text import DEFAULT_FONT, choose_font
from schemas.errors import ErrorCode, JobError
from schemas.settings import Settings
from schemas.spec import VideoSpec


@dataclass(frozen=True)
class RenderOutcome:
    path: Path
    size_bytes: int
    duration_seconds: float
    width: int
    height: int
    output_format: str


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
        # Text layout and file writes off the event loop, which also carries the worker's heartbeats.
        compiled = await asyncio.to_thread(_compile, spec, infos, sources, out_path, work_dir, settings)
        env = await asyncio.to_thread(_font_env, spec, sources, work_dir)
        await run_ffmpeg(
            ffmpeg_bin(settings), compiled.argv,
            duration=compiled.duration, timeout_seconds=settings.processing_timeout_minutes * 60,
            on_progress=on_progress, cancel=cancel, env=env,
        )  # fmt: skip
    except BaseException:
        out_path.unlink(missing_ok=True)  # a cancelled or failed render leaves no half-written file
        raise
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)  # a few text files
    return await asyncio.to_thread(_outcome, spec, out_path)


def _compile(
    spec: VideoSpec,
    infos: dict[int, MediaInfo],
    sources: Mapping[int, Path],
    out_path: Path,
    work_dir: Path,
    settings: Settings,
) -> CompiledRender:
    compiled = compile_render(
        spec, infos, sources, out_path,
        work_dir=work_dir, threads=settings.effective_ffmpeg_threads,
        max_duration=settings.max_output_duration_sec,
    )  # fmt: skip
    for path, text in compiled.text_files.items():
        path.write_text(text, encoding="utf-8")
    return compiled


def _probe_sources(spec: VideoSpec, sources: Mapping[int, Path]) -> dict[int, MediaInfo]:
    """Probe every media file once (elements may share one); errors name the element.

    A text element's source is its font, checked when the text is laid out.
    """
    infos: dict[int, MediaInfo] = {}
    by_path: dict[Path, MediaInfo] = {}
    for index, element in enumerate(spec.elements):
        if element.type not in ("video", "image", "audio"):
            continue
        path = sources.get(index)
        if path is None:
            raise _invalid(spec, index, "its source file was not provided to the renderer")
        try:
            infos[index] = by_path[path] if path in by_path else probe(path)
            by_path[path] = infos[index]
        except JobError as exc:
            raise _invalid(spec, index, exc.message) from exc
    return infos


def _invalid(spec: VideoSpec, index: int, reason: str) -> JobError:
    label = spec.element_label(index)
    return JobError(
        ErrorCode.INVALID_INPUT, f"element {label}: {reason}", {"element": label, "reason": reason}
    )


def _font_env(spec: VideoSpec, sources: Mapping[int, Path], work_dir: Path) -> dict[str, str]:
    """A fontconfig setup that always knows the bundled font, for family names drawtext resolves.

    Only needed when a text element names a family that is not bundled; the system's own
    configuration is included when the machine has one.
    """
    names = [
        index for index, element in enumerate(spec.elements)
        if element.type == "text" and choose_font(element, sources.get(index)).family is not None
    ]  # fmt: skip
    if not names:
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


def _outcome(spec: VideoSpec, out_path: Path) -> RenderOutcome:
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
    )
