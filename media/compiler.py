"""Timeline -> one FFmpeg command: inputs, a filter graph, and encoder options.

Pure: from the spec, the probed media and local paths it returns the argv and the text files
the graph reads; nothing runs here. The graph is ffmpeg-python's node graph (media.graph):

  the output's timeline composed into one stream (media.compose; each visual element drawn by
  its type's builder in media.builders, timed, moved and placed by media.layers)
    -> output formatting (colour preset, palette for GIF, one frame for stills; media.output)
  audible elements, nested ones included -> placed, sped, mixed, ducked, normalized (media.audio)
  poster and thumbnail -> branches of the finished stream, each an output of its own (media.stills)

An audio-only output (mp3, wav, m4a) is the sound alone: no video graph at all (media.audio_output).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from media.audio import AudioSource, audio_graph, is_audible
from media.audio_output import nothing_heard
from media.compose import compose, transition, transition_groups, transition_start
from media.context import RenderContext
from media.graph import Stream, chain, command, f
from media.output import STILL_FORMATS, encoder_options, finish, output_fps, stream_copy_args
from media.placement import Frame
from media.probe import MediaInfo
from media.stills import Output, StillKind, stills, tap
from media.timeline import Clip, Timeline, resolve_children, resolve_timeline, window
from schemas.errors import ErrorCode, JobError
from schemas.spec import VideoSpec

Tracks = Literal["all", "video", "audio"]
SOUND_OPTIONS = ("t", "threads", "c:a", "b:a")
LONGEST_GRAPH_ARGUMENT = 32_768  # characters; Linux refuses any one argument over 128 KiB


class Silent(JobError):
    """The sound alone was asked for, and nothing in the spec makes any."""


@dataclass(frozen=True)
class CompiledRender:
    argv: list[str]  # everything after the ffmpeg binary
    duration: float  # seconds of output the encoder produces (the progress denominator)
    text_files: dict[Path, str] = field(default_factory=dict)  # written before running
    stream_copy: bool = False
    stills: dict[StillKind, Path] = field(default_factory=dict)  # poster, thumbnail written by the same run


def compile_render(
    spec: VideoSpec,
    infos: Mapping[int, MediaInfo],
    sources: Mapping[int, Path],
    out_path: Path,
    *,
    work_dir: Path,
    threads: int,
    max_duration: float,
    tracks: Tracks = "all",
    size: tuple[int, int] | None = None,
) -> CompiledRender:
    """The command rendering `spec`; `tracks` picks the picture or the sound alone (the parts
    of a chunked render: chunks of picture, the sound once for the whole timeline); `size` scales
    a still output last (media.output.finish)."""
    timeline = resolve_timeline(spec, infos, max_duration=max_duration)
    early = 0.0  # seconds rendered before the range to begin inside a transition, then dropped
    if spec.range is not None:
        timeline, early = _ranged(timeline, spec.range.start, spec.range.duration)
    copy = stream_copy_args(spec, timeline, sources, out_path) if tracks == "all" else None
    if copy is not None:
        return CompiledRender(argv=copy, duration=timeline.duration, stream_copy=True)
    ctx = RenderContext(spec=spec, infos=infos, sources=sources, threads=threads, work_dir=work_dir)
    length = timeline.duration - early
    streams: list[Stream] = []
    images: list[Output] = []
    written: dict[StillKind, Path] = {}
    if tracks != "audio" and not spec.audio_only:
        frame = Frame(spec.out_width, spec.out_height)
        video = compose(ctx, timeline, frame, background=spec.background_color, transparent=False)
        if early:
            video = chain(video, [f("trim", start=f"{early:.6f}"), f("setpts", "PTS-STARTPTS")])
        finished = finish(spec, video, length, size)
        if tracks == "all":  # the stills of a chunked render are cut from the joined file
            finished, images, written = tap(stills(spec), finished, length, output_fps(spec), out_path)
        streams.append(finished)
    sound = _audio(ctx, timeline) if tracks != "video" else None
    if sound is not None:
        if early:
            sound = chain(sound, [f("atrim", start=f"{early:.6f}"), f("asetpts", "PTS-STARTPTS")])
        streams.append(sound)
    elif spec.audio_only:
        raise nothing_heard(spec, infos)
    if not streams:
        raise Silent(ErrorCode.INVALID_INPUT, "nothing in the spec can be heard")
    encoder = encoder_options(spec, length, threads)
    if tracks == "audio":
        encoder = {key: value for key, value in encoder.items() if key in SOUND_OPTIONS} | {"f": "ipod"}
    options = {**encoder, "progress": "pipe:1", "nostats": None}
    global_args = ["-hide_banner", "-nostdin", "-y", "-filter_complex_threads", str(threads)]
    argv = _long_graph_from_file(ctx, command([(streams, f"file:{out_path}", options), *images], global_args))
    duration = 1.0 / spec.fps if spec.output_format in STILL_FORMATS else length
    return CompiledRender(argv=argv, duration=duration, text_files=ctx.text_files, stills=written)


def _long_graph_from_file(ctx: RenderContext, argv: list[str]) -> list[str]:
    """A long filter graph (a thousand keyframes, a paragraph split word by word) read by FFmpeg
    from a file (`-/filter_complex`, FFmpeg 7 on) rather than from the command line; a short one
    stays in argv, where logs and tests read it."""
    if "-filter_complex" not in argv:
        return argv
    at = argv.index("-filter_complex")
    if len(argv[at + 1]) <= LONGEST_GRAPH_ARGUMENT:
        return argv
    path = ctx.work_dir / "graph.txt"
    ctx.text_files[path] = argv[at + 1]
    return [*argv[:at], "-/filter_complex", str(path), *argv[at + 2 :]]


def _ranged(timeline: Timeline, start: float, duration: float) -> tuple[Timeline, float]:
    """The range's timeline (begun early when the range starts inside a transition) and how early."""
    if start >= timeline.duration:
        raise JobError(
            ErrorCode.INVALID_INPUT,
            f"range.start {start:g} s is past the end of the video ({timeline.duration:.2f} s)",
            {"field": "range.start"},
        )
    begin = transition_start(timeline, start)
    return window(timeline, begin, duration + start - begin), start - begin


def _audio(ctx: RenderContext, timeline: Timeline) -> Stream | None:
    """The output's sound when its format carries any."""
    if ctx.spec.output_format in ("gif", *STILL_FORMATS):
        return None
    sources = _audible(ctx, timeline, offset=0.0)
    return audio_graph(sources, timeline.duration, loudnorm=ctx.spec.loudness_normalization)


def _audible(ctx: RenderContext, timeline: Timeline, *, offset: float) -> list[AudioSource]:
    """Every audible clip of a timeline and of the compositions in it, on the output's clock."""
    sources = [
        AudioSource.of(
            replace(clip, start=clip.start + offset, end=clip.end + offset), ctx.media(clip)["a:0"]
        )
        for clip in timeline.clips
        if is_audible(clip)
    ]
    sources = _crossfade_sound(sources, transition_groups([c for c in timeline.clips if c.is_visual]))
    for clip in timeline.clips:
        if clip.element.type == "composition":
            sources += _audible(ctx, resolve_children(ctx.spec, clip, ctx.infos), offset=offset + clip.start)
    return sources


def _crossfade_sound(sources: list[AudioSource], groups: list[list[Clip]]) -> list[AudioSource]:
    """Where clips are joined by a transition, their sound crossfades over it too."""
    envelope = {source.clip.index: source for source in sources}
    for group in groups:
        for outgoing, incoming in itertools.pairwise(group):
            seconds = transition(incoming)[1]
            if outgoing.index in envelope:
                old = envelope[outgoing.index]
                length = min(old.length, incoming.start + seconds - outgoing.start)
                envelope[outgoing.index] = replace(old, length=length, fade_out=max(old.fade_out, seconds))
            if incoming.index in envelope:
                old = envelope[incoming.index]
                envelope[incoming.index] = replace(old, fade_in=max(old.fade_in, seconds))
    return [envelope[source.clip.index] for source in sources]
