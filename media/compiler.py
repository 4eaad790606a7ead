"""Timeline -> one FFmpeg command: inputs, a filter graph, and encoder options.

Pure: from the spec, the probed media and local paths it returns the argv and the text files
the graph reads; nothing runs here. The graph is built bottom-up:

  base canvas (background color, or the bottom element itself when it covers everything)
    -> one overlay per visual element in z-order (track, then start time, then spec order);
       consecutive clips on a track joined by transitions are first merged with xfade into one layer
    -> output formatting (palette for GIF, one frame for stills)
  audible elements -> placed, mixed, ducked, normalized (media.audio)

Each element's stream is sized to its box, faded, made translucent or rotated, then shifted to
its start time; overlay's eof_action=pass makes it vanish when it ends. Stills (images, text,
color) are decoded/drawn and scaled once, then repeated with the loop filter.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from fontTools.ttLib import TTLibError

from media.audio import AudioSource, audio_graph, is_audible
from media.layout import Box, Fit, element_box, fit_media, rotated_size
from media.output import INPUT_GUARD, STILL_FORMATS, encoder_args, finish_chains, stream_copy_args
from media.probe import MediaInfo
from media.text import choose_font, drawtext_filter, ffmpeg_color, wrap_text
from media.timeline import Clip, Timeline, invalid, resolve_timeline
from schemas.spec import VideoSpec, resolve_font_size

XFADE_NAMES = {"crossfade": "fade"}
LIBVPX = {"vp8": "libvpx", "vp9": "libvpx-vp9"}
MAX_LOOP_BYTES = 1 << 30
MAX_BOX_SIDE = 32_768  # beyond FFmpeg's frame size limits


@dataclass(frozen=True)
class CompiledRender:
    argv: list[str]  # everything after the ffmpeg binary
    duration: float  # seconds of output the encoder produces (the progress denominator)
    text_files: dict[Path, str] = field(default_factory=dict)  # written before running
    stream_copy: bool = False


@dataclass
class _Graph:
    """Accumulates inputs and filter chains while the compiler walks the timeline."""

    spec: VideoSpec
    sources: Mapping[int, Path]
    threads: int
    work_dir: Path
    inputs: list[str] = field(default_factory=list)
    chains: list[str] = field(default_factory=list)
    text_files: dict[Path, str] = field(default_factory=dict)
    opened: dict[int, int] = field(default_factory=dict)  # element index -> input number

    @property
    def fps(self) -> float:
        return self.spec.fps

    def chain(self, source: str, filters: list[str], label: str) -> str:
        self.chains.append(f"{source}{','.join(filters) or 'null'}[{label}]")
        return label

    def media_stream(self, clip: Clip, kind: str) -> str:
        """Opens the clip's source once (its video and audio share the input); names a stream."""
        if clip.index not in self.opened:
            options: list[str] = []
            if (
                clip.element.duration_mode == "loop"
                and clip.media_length is not None
                and not clip.loops_segment
            ):
                options += ["-stream_loop", "-1"]
            if clip.source_start > 0 and clip.media_length is not None:
                options += ["-ss", f"{clip.source_start:.6f}"]  # input seeking: nothing decoded twice
            if clip.media_length is not None:
                options += ["-t", f"{clip.decoded_length:.6f}"]
            info = clip.info
            if info is not None and info.video_codec in LIBVPX and info.has_alpha:
                options += ["-c:v", LIBVPX[info.video_codec]]  # native VP8/VP9 decoders drop alpha
            path = self.sources[clip.index]
            self.inputs += [*options, "-threads", str(self.threads), *INPUT_GUARD, "-i", f"file:{path}"]
            self.opened[clip.index] = len(self.opened)
        return f"[{self.opened[clip.index]}:{kind}:0]"


@dataclass(frozen=True)
class _Layer:
    """A prepared visual stream and where its top-left corner goes on the canvas."""

    label: str
    x: int
    y: int


def compile_render(
    spec: VideoSpec,
    infos: Mapping[int, MediaInfo],
    sources: Mapping[int, Path],
    out_path: Path,
    *,
    work_dir: Path,
    threads: int,
    max_duration: float,
) -> CompiledRender:
    timeline = resolve_timeline(spec, infos, max_duration=max_duration)
    copy = stream_copy_args(spec, timeline, sources, out_path)
    if copy is not None:
        return CompiledRender(argv=copy, duration=timeline.duration, stream_copy=True)
    graph = _Graph(spec=spec, sources=sources, threads=threads, work_dir=work_dir)
    visual = [clip for clip in timeline.clips if clip.is_visual]
    video, groups = _canvas(graph, _transition_groups(visual), timeline.duration)
    for group in groups:
        layer = _group_layer(graph, group)
        overlay = f"overlay=x={layer.x}:y={layer.y}:eof_action=pass"
        video = graph.chain(f"[{video}][{layer.label}]", [overlay], f"ov{group[0].index}")
    has_audio = _audio(graph, timeline)
    graph.chains += finish_chains(spec, video, timeline.duration)

    argv = ["-hide_banner", "-nostdin", "-y", *graph.inputs, "-filter_complex", ";".join(graph.chains)]
    argv += ["-filter_complex_threads", str(threads), "-map", "[vout]"]
    if has_audio:
        argv += ["-map", "[aout]"]
    argv += [
        *encoder_args(spec, timeline.duration, threads),
        "-progress",
        "pipe:1",
        "-nostats",
        f"file:{out_path}",
    ]
    duration = 1.0 / spec.fps if spec.output_format in STILL_FORMATS else timeline.duration
    return CompiledRender(argv=argv, duration=duration, text_files=graph.text_files)


# --- the base canvas -------------------------------------------------------------------------


def _canvas(graph: _Graph, groups: list[list[Clip]], duration: float) -> tuple[str, list[list[Clip]]]:
    """The stream everything is overlaid on, and the layer groups still to overlay.

    When the bottom layer (one clip or a transition chain) is opaque, fills the frame and lasts
    the whole output, it is the canvas itself: no background color and no full-frame overlay
    per frame (the common "background video" and "montage" cases).
    """
    spec = graph.spec
    if groups and _is_backdrop(graph, groups[0], duration):
        return _group_layer(graph, groups[0]).label, groups[1:]
    size = f"{spec.out_width}x{spec.out_height}"
    color = f"color=c={ffmpeg_color(spec.background_color)[:8]}:s={size}:r={spec.fps:g}:d={duration:.6f}"
    return graph.chain("", [color, "format=yuv420p"], "base"), groups


def _is_backdrop(graph: _Graph, group: list[Clip], duration: float) -> bool:
    """Opaque, full-frame and on screen from the first frame to the last."""
    last = group[-1]
    lasts = last.played_length >= last.length or last.element.duration_mode == "freeze"
    opaque = all(
        _full_frame(graph, clip) and not _has_alpha(graph, clip, _box(graph, clip)) for clip in group
    )
    return opaque and lasts and group[0].start == 0 and last.end >= duration


def _full_frame(graph: _Graph, clip: Clip) -> bool:
    return _box(graph, clip) == Box(0, 0, graph.spec.out_width, graph.spec.out_height)


# --- one visual element ----------------------------------------------------------------------


def _box(graph: _Graph, clip: Clip) -> Box:
    """The element's box in output pixels; absurd sizes fail as INVALID_INPUT, not in FFmpeg."""
    info = clip.info
    media = (info.width, info.height) if info and info.width and info.height else None
    box = element_box(clip.element, graph.spec.out_width, graph.spec.out_height, media)
    if max(box.w, box.h) > MAX_BOX_SIDE:
        raise invalid(graph.spec, clip.index, f"its box {box.w}x{box.h} is too large")
    return box


def _needs_alpha(clip: Clip, fit_pads: bool) -> bool:
    element = clip.element
    return (
        element.type == "text"
        or (element.type == "color" and len(element.color or "") == 9)
        or (clip.info is not None and clip.info.has_alpha)
        or fit_pads
        or element.opacity < 1
        or element.fade_in > 0
        or element.fade_out > 0
        or element.rotation % 360 != 0
    )


def _fit_filters(fit: Fit, box_w: int, box_h: int, *, alpha: bool) -> list[str]:
    filters = [f"scale={fit.scale_w}:{fit.scale_h}:flags=bicubic", "setsar=1"]
    if fit.crop is not None:
        filters.append(f"crop={box_w}:{box_h}:{fit.crop[0]}:{fit.crop[1]}")
    if fit.pad is not None:
        filters += ["format=yuva420p", f"pad={box_w}:{box_h}:{fit.pad[0]}:{fit.pad[1]}:color=black@0"]
    else:
        filters.append(f"format={'yuva420p' if alpha else 'yuv420p'}")
    return filters


def _source_filters(graph: _Graph, clip: Clip, box: Box, alpha: bool) -> tuple[str, list[str]]:
    """The clip's pixels at box size, as (graph source, filters), before timing is applied."""
    element, fps = clip.element, graph.fps
    hold = ["loop=loop=-1:size=1:start=0", f"setpts=N/({fps:g}*TB)"]  # a still, drawn once
    if element.type == "color":
        color = f"color=c={ffmpeg_color(element.color or '#000000')}:s={box.w}x{box.h}:r={fps:g}:d=1"
        return "", [color, "trim=end_frame=1", f"format={'yuva420p' if alpha else 'yuv420p'}", *hold]
    if element.type == "text":
        return "", _text_filters(graph, clip, box, hold)
    info = clip.info
    assert info is not None and info.width and info.height
    fit = fit_media(
        element.fit_mode,
        info.width,
        info.height,
        box,
        fills_output=(box.w, box.h) == (graph.spec.out_width, graph.spec.out_height),
    )
    sizing = _fit_filters(fit, box.w, box.h, alpha=alpha)
    if info.kind == "image":
        return graph.media_stream(clip, "v"), ["trim=end_frame=1", *sizing, *hold]
    if clip.loops_segment:
        sizing += _segment_loop(graph, clip, box, alpha)
    return graph.media_stream(clip, "v"), [f"fps={fps:g}", *sizing]


def _segment_loop(graph: _Graph, clip: Clip, box: Box, alpha: bool) -> list[str]:
    """Repeats a trimmed segment by holding its (box-sized) frames in memory."""
    assert clip.media_length is not None
    frames = max(1, round(clip.media_length * graph.fps))
    held = frames * box.w * box.h * (2.5 if alpha else 1.5)
    if held > MAX_LOOP_BYTES:
        raise invalid(
            graph.spec,
            clip.index,
            f"looping a {clip.media_length:.1f} s trimmed segment at {box.w}x{box.h} needs too much memory; "
            "loop a shorter segment or the whole file",
        )
    return [f"loop=loop=-1:size={frames}:start=0", f"setpts=N/({graph.fps:g}*TB)"]


def _text_filters(graph: _Graph, clip: Clip, box: Box, hold: list[str]) -> list[str]:
    """A transparent box-sized canvas with the wrapped text drawn once, then held."""
    spec, element = graph.spec, clip.element
    size = resolve_font_size(element.font_size, spec.out_width, spec.out_height)
    font = choose_font(element, graph.sources.get(clip.index))
    stroke = element.stroke.width if element.stroke else 0.0
    room = box.w - 2 * element.background_padding - 2 * stroke
    try:
        text = wrap_text(element.text or "", font.metrics, size, max(room, size))
    except (TTLibError, OSError, KeyError) as exc:
        raise invalid(spec, clip.index, f"its font is not a readable TrueType/OpenType file ({exc})") from exc
    canvas = [f"color=c=black@0:s={box.w}x{box.h}:r={graph.fps:g}:d=1", "trim=end_frame=1", "format=yuva420p"]
    if not text.strip():
        return [*canvas, *hold]
    text_file = graph.work_dir / f"text_{clip.index}.txt"
    graph.text_files[text_file] = text
    return [*canvas, drawtext_filter(element, font, text_file, size, box), *hold]


def _timed_filters(clip: Clip, alpha: bool, *, length: float, freeze: bool) -> list[str]:
    """Length, fades and opacity of a box-sized stream whose time starts at 0."""
    element = clip.element
    filters: list[str] = []
    if freeze:
        filters.append(f"tpad=stop_mode=clone:stop_duration={length:.6f}")
    filters += [f"trim=duration={length:.6f}"]
    if element.fade_in > 0:
        filters.append(f"fade=t=in:st=0:d={min(element.fade_in, length):.6f}:alpha={int(alpha)}")
    if element.fade_out > 0:
        fade = min(element.fade_out, length)
        filters.append(f"fade=t=out:st={length - fade:.6f}:d={fade:.6f}:alpha={int(alpha)}")
    if element.opacity < 1:
        filters.append(f"lut=a=val*{element.opacity:.4f}")
    return filters


def _has_alpha(graph: _Graph, clip: Clip, box: Box) -> bool:
    """Whether the clip's stream must carry transparency (costs an alpha plane per frame)."""
    info, element = clip.info, clip.element
    pads = False
    if info is not None and info.width and info.height:
        fills = (box.w, box.h) == (graph.spec.out_width, graph.spec.out_height)
        pads = fit_media(element.fit_mode, info.width, info.height, box, fills_output=fills).pad is not None
    return _needs_alpha(clip, pads)


def _prepare(
    graph: _Graph, clip: Clip, *, length: float, freeze: bool, alpha: bool | None = None
) -> tuple[str, Box, list[str]]:
    """Source, box and the filters making a clip's stream (time from 0, rotated if asked)."""
    box = _box(graph, clip)
    alpha = _has_alpha(graph, clip, box) if alpha is None else alpha
    source, filters = _source_filters(graph, clip, box, alpha)
    filters += _timed_filters(clip, alpha, length=length, freeze=freeze)
    rotation = clip.element.rotation % 360
    if rotation:
        rw, rh = rotated_size(box.w, box.h, rotation)
        filters.append(f"rotate=a={rotation:g}*PI/180:ow={rw}:oh={rh}:c=none")
        box = Box(box.x + (box.w - rw) // 2, box.y + (box.h - rh) // 2, rw, rh)
    return source, box, filters


# --- layers: single clips and transition chains -----------------------------------------------


def _transition_groups(clips: list[Clip]) -> list[list[Clip]]:
    """Clips in z-order, with each clip that has a transition joined to its track predecessor."""
    groups: list[list[Clip]] = []
    last_on_track: dict[int, list[Clip]] = {}
    for clip in clips:
        previous = last_on_track.get(clip.element.track)
        if clip.element.transition is not None and previous is not None and previous[-1].start < clip.start:
            previous.append(clip)
            continue
        group = [clip]
        groups.append(group)
        last_on_track[clip.element.track] = group
    return groups


def _group_layer(graph: _Graph, group: list[Clip]) -> _Layer:
    if len(group) == 1:
        clip = group[0]
        freeze = clip.element.duration_mode == "freeze" and (clip.media_length or clip.length) < clip.length
        source, box, filters = _prepare(graph, clip, length=clip.length, freeze=freeze)
        filters.append(f"setpts=PTS-STARTPTS+{clip.start:.6f}/TB")
        return _Layer(graph.chain(source, filters, f"v{clip.index}"), box.x, box.y)
    return _xfade_layer(graph, group)


def _xfade_layer(graph: _Graph, group: list[Clip]) -> _Layer:
    """Clips merged with xfade into one output-sized layer (xfade needs equal sizes and formats).

    The layer carries alpha only when a clip has transparency or does not fill the frame.
    """
    start = group[0].start
    alpha = any(not _full_frame(graph, c) or _has_alpha(graph, c, _box(graph, c)) for c in group)
    labels: list[str] = []
    for n, clip in enumerate(group):
        following = group[n + 1] if n + 1 < len(group) else None
        # a clip lasts until the next one's transition is over, holding its last frame if needed
        end = following.start + _transition(following)[1] if following else clip.end
        source, box, filters = _prepare(graph, clip, length=end - clip.start, freeze=True, alpha=alpha)
        filters.append("setpts=PTS-STARTPTS")
        label = graph.chain(source, filters, f"x{clip.index}")
        labels.append(_on_canvas(graph, label, box, end - clip.start) if alpha else label)
    merged = labels[0]
    for clip, label in zip(group[1:], labels[1:], strict=True):
        name, seconds = _transition(clip)
        xfade = f"xfade=transition={name}:duration={seconds:.6f}:offset={clip.start - start:.6f}"
        merged = graph.chain(f"[{merged}][{label}]", [xfade], f"xf{clip.index}")
    shifted = graph.chain(f"[{merged}]", [f"setpts=PTS-STARTPTS+{start:.6f}/TB"], f"v{group[0].index}")
    return _Layer(shifted, 0, 0)


def _transition(clip: Clip) -> tuple[str, float]:
    transition = clip.element.transition
    assert transition is not None
    return XFADE_NAMES.get(transition.type, transition.type), min(transition.duration, clip.length)


def _on_canvas(graph: _Graph, label: str, box: Box, length: float) -> str:
    """The stream placed on a transparent output-sized canvas, unless it already fills it."""
    spec = graph.spec
    if box == Box(0, 0, spec.out_width, spec.out_height):
        return label
    canvas = f"color=c=black@0:s={spec.out_width}x{spec.out_height}:r={graph.fps:g}:d={length:.6f}"
    graph.chain("", [canvas, "format=yuva420p"], f"{label}bg")
    overlay = f"overlay=x={box.x}:y={box.y}:eof_action=pass:format=yuv420"
    return graph.chain(f"[{label}bg][{label}]", [overlay, "format=yuva420p"], f"{label}c")


# --- audio, output ---------------------------------------------------------------------------


def _audio(graph: _Graph, timeline: Timeline) -> bool:
    """Adds the audio graph when the output carries sound; True when [aout] exists."""
    if graph.spec.output_format in ("gif", *STILL_FORMATS):
        return False
    audible = [
        AudioSource.of(clip, graph.media_stream(clip, "a")[1:-1])
        for clip in timeline.clips
        if is_audible(clip)
    ]
    audible = _crossfade_sound(audible, _transition_groups([c for c in timeline.clips if c.is_visual]))
    chains = audio_graph(audible, timeline.duration, loudnorm=graph.spec.loudness_normalization)
    graph.chains += chains
    return bool(chains)


def _crossfade_sound(sources: list[AudioSource], groups: list[list[Clip]]) -> list[AudioSource]:
    """Where clips are joined by a transition, their sound crossfades over it too."""
    envelope = {source.clip.index: source for source in sources}
    for group in groups:
        for outgoing, incoming in itertools.pairwise(group):
            seconds = _transition(incoming)[1]
            if outgoing.index in envelope:
                old = envelope[outgoing.index]
                length = min(old.length, incoming.start + seconds - outgoing.start)
                envelope[outgoing.index] = replace(old, length=length, fade_out=max(old.fade_out, seconds))
            if incoming.index in envelope:
                old = envelope[incoming.index]
                envelope[incoming.index] = replace(old, fade_in=max(old.fade_in, seconds))
    return [envelope[source.clip.index] for source in sources]
